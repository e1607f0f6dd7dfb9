"""POS OAuth's rules over in-memory fakes (posbridge/flows/pos_oauth.py; a fake connector with Square's token rules)
and the signed Wix instance (posbridge/wix/instance.py): state single use / expiry / site and provider binding,
location choice, the refresh schedule, revoke."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from posbridge.domain.pos_oauth import OAuthConnection, OAuthCredentials, PosLocation, TokenGrant, TokenPolicy
from posbridge.domain.tenant import PosConnection, PosCredentials, Tenant, TenantSettings
from posbridge.errors import PermanentError, TransientError
from posbridge.flows import pos_oauth as oauth
from posbridge.pos.registry import PosOAuth
from posbridge.pos.square.oauth import TOKEN_POLICY
from posbridge.store.pos_links import PosLocationTaken
from posbridge.wix.instance import InstanceRejected, instance_from_header, sign_instance, verify_instance

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SITE_A, SITE_B = "site-a", "site-b"


class FakeStates:
    def __init__(self) -> None:
        self.items: dict[str, tuple[str, str, datetime]] = {}

    def save(self, state: str, instance_id: str, provider: str, expires_at: datetime) -> None:
        self.items[state] = (instance_id, provider, expires_at)

    def take(self, state: str) -> tuple[str, str, datetime] | None:
        return self.items.pop(state, None)


class FakeConnections:
    def __init__(self) -> None:
        self.items: dict[str, OAuthConnection] = {}

    def get(self, instance_id: str) -> OAuthConnection | None:
        return self.items.get(instance_id)

    def put(self, connection: OAuthConnection) -> None:
        self.items[connection.instance_id] = connection

    def all(self) -> list[OAuthConnection]:
        return list(self.items.values())


@dataclass
class FakeSquare:
    """A connector (ports/oauth.py OAuthConnector) with its locations."""

    merchant_id: str = "MERCHANT1"
    issued: int = 0
    refresh_failure: Exception | None = None
    revoked: list[str] = field(default_factory=list)
    refreshed_with: list[str] = field(default_factory=list)
    seen_tokens: list[str] = field(default_factory=list)
    provider: str = "square"
    webhook_signature_key: SecretStr = field(default_factory=lambda: SecretStr("app-signature-key"))

    def authorize_url(self, state: str) -> str:
        return f"https://connect.squareup.com/oauth2/authorize?state={state}"

    def _grant(self) -> TokenGrant:
        self.issued += 1
        return TokenGrant(
            SecretStr(f"access-{self.issued}"), SecretStr("refresh-1"), NOW + timedelta(days=30), self.merchant_id
        )

    def obtain_token(self, code: str) -> TokenGrant:
        assert code == "the-code"
        return self._grant()

    def refresh(self, refresh_token: str) -> TokenGrant:
        self.refreshed_with.append(refresh_token)
        if self.refresh_failure is not None:
            raise self.refresh_failure
        return self._grant()

    def revoke(self, merchant_id: str) -> bool:
        self.revoked.append(merchant_id)
        return True

    def locations(self, access_token: str) -> list[PosLocation]:
        self.seen_tokens.append(access_token)
        return [PosLocation("LOC1", "Main", "ACTIVE"), PosLocation("LOC2", "Closed", "INACTIVE")]


class FakeConnectors:
    """Square's fake connector with Square's own token rules; any other provider is not connected through OAuth."""

    def __init__(self) -> None:
        self.square = FakeSquare()

    def connector(self, provider: str) -> FakeSquare:
        if provider != "square":
            raise PermanentError("pos_oauth_not_supported", provider)
        return self.square

    def policy(self, provider: str) -> TokenPolicy:
        return TOKEN_POLICY


class FakeVault:
    def __init__(self) -> None:
        self.versions: dict[str, dict[str, PosCredentials]] = {}
        self.current: dict[str, str] = {}
        self._n = 0

    def stage_pos_credentials(self, instance_id: str, credentials: PosCredentials) -> str:
        self._n += 1
        version = f"v{self._n}"
        self.versions.setdefault(instance_id, {})[version] = credentials
        return version

    def promote_pos_credentials(self, instance_id: str, version: str) -> None:
        self.current[instance_id] = version

    def staged_pos_credentials(self, instance_id: str, version: str) -> PosCredentials:
        return self.versions[instance_id][version]

    def pos_credentials(self, instance_id: str) -> PosCredentials:
        if instance_id not in self.current:
            raise PermanentError("missing_pos_credentials", "none")
        return self.versions[instance_id][self.current[instance_id]]


class FakeTenants:
    def __init__(self) -> None:
        self.items: dict[str, Tenant] = {}

    def get(self, instance_id: str) -> Tenant | None:
        return self.items.get(instance_id)

    def put(self, tenant: Tenant) -> None:
        taken = [
            t
            for t in self.items.values()
            if t.pos.location_id == tenant.pos.location_id
            and t.instance_id != tenant.instance_id
            and t.status != "removed"
        ]
        if taken:
            raise PosLocationTaken("taken")
        self.items[tenant.instance_id] = tenant


@pytest.fixture
def ports() -> oauth.OAuthPorts:
    return oauth.OAuthPorts(FakeStates(), FakeConnections(), FakeConnectors(), FakeVault(), FakeTenants())


def _square(ports: oauth.OAuthPorts) -> FakeSquare:
    connectors = ports.connectors
    assert isinstance(connectors, FakeConnectors)
    return connectors.square


def _state_of(url: str) -> str:
    return url.split("state=")[1]


def _connect(ports: oauth.OAuthPorts, site: str = SITE_A, at: datetime = NOW) -> None:
    state = _state_of(oauth.start(site, "square", ports, at))
    oauth.complete("square", state, "the-code", None, ports, at)
    oauth.choose_location(site, "LOC1", ports, at)


# ---- the state ------------------------------------------------------------------------------------------------------


def test_a_state_completes_once_for_the_site_it_was_issued_to(ports: oauth.OAuthPorts) -> None:
    # Given an authorize link issued to site A
    state = _state_of(oauth.start(SITE_A, "square", ports, NOW))
    # When Square's callback brings its state and a code
    site = oauth.complete("square", state, "the-code", None, ports, NOW + timedelta(minutes=2))
    # Then the grant belongs to site A only, staged (not current) and awaiting a location; site B has nothing
    assert site == SITE_A
    connection = ports.connections.get(SITE_A)
    assert connection is not None and connection.stage == "awaiting_location"
    assert ports.connections.get(SITE_B) is None
    assert SITE_A not in ports.vault.current  # type: ignore[attr-defined]
    staged = ports.vault.staged_pos_credentials(SITE_A, connection.pending_version or "")
    assert isinstance(staged, OAuthCredentials)
    assert staged.webhook_signature_key.get_secret_value() == "app-signature-key"
    # And the same state never serves again (a replayed callback)
    with pytest.raises(oauth.AuthorizationRefused) as replay:
        oauth.complete("square", state, "the-code", None, ports, NOW + timedelta(minutes=3))
    assert replay.value.reason == "unknown_state"


def test_a_state_is_random_and_stored_for_the_site(ports: oauth.OAuthPorts) -> None:
    # When site A asks twice
    first, second = (
        _state_of(oauth.start(SITE_A, "square", ports, NOW)),
        _state_of(oauth.start(SITE_A, "square", ports, NOW)),
    )
    # Then the states differ, are long, and each names site A with a 10-minute expiry
    assert first != second and len(first) >= 40
    assert ports.states.items[first] == (SITE_A, "square", NOW + timedelta(minutes=10))  # type: ignore[attr-defined]


def test_an_expired_state_is_refused_and_consumed(ports: oauth.OAuthPorts) -> None:
    # Given a link issued 11 minutes ago
    state = _state_of(oauth.start(SITE_A, "square", ports, NOW))
    # When its callback arrives
    with pytest.raises(oauth.AuthorizationRefused) as refused:
        oauth.complete("square", state, "the-code", None, ports, NOW + timedelta(minutes=11))
    # Then it is refused as expired, no token was asked for, and nothing is recorded
    assert refused.value.reason == "expired_state"
    assert _square(ports).issued == 0
    assert ports.connections.get(SITE_A) is None


@pytest.mark.parametrize("state", [None, "", "forged-state"])
def test_an_unknown_or_missing_state_is_refused(ports: oauth.OAuthPorts, state: str | None) -> None:
    with pytest.raises(oauth.AuthorizationRefused):
        oauth.complete("square", state, "the-code", None, ports, NOW)
    assert _square(ports).issued == 0


def test_a_declined_authorization_records_nothing(ports: oauth.OAuthPorts) -> None:
    state = _state_of(oauth.start(SITE_A, "square", ports, NOW))
    with pytest.raises(oauth.AuthorizationRefused) as refused:
        oauth.complete("square", state, None, "access_denied", ports, NOW)
    assert refused.value.reason == "declined" and ports.connections.get(SITE_A) is None


# ---- the location -------------------------------------------------------------------------------------------------


def test_picking_a_location_connects_the_tenant_with_the_oauth_token(ports: oauth.OAuthPorts) -> None:
    # Given site A's grant awaiting its location
    state = _state_of(oauth.start(SITE_A, "square", ports, NOW))
    oauth.complete("square", state, "the-code", None, ports, NOW)
    # When the owner lists the locations (with the staged token) and picks the active one
    assert [loc.id for loc in oauth.locations(SITE_A, ports)] == ["LOC1", "LOC2"]
    tenant = oauth.choose_location(SITE_A, "LOC1", ports, NOW)
    # Then the tenant is active at that location, the staged credentials are current, the connection connected
    assert (tenant.status, tenant.pos.merchant_id, tenant.pos.location_id) == ("active", "MERCHANT1", "LOC1")
    assert ports.vault.pos_credentials(SITE_A).access_token.get_secret_value() == "access-1"
    assert _square(ports).seen_tokens == ["access-1", "access-1"]
    assert (
        oauth.connection_view(SITE_A, ports.connections, ports.tenants, ports.connectors, NOW)["status"] == "connected"
    )


def test_an_inactive_or_unknown_location_and_another_sites_grant_are_refused(ports: oauth.OAuthPorts) -> None:
    state = _state_of(oauth.start(SITE_A, "square", ports, NOW))
    oauth.complete("square", state, "the-code", None, ports, NOW)
    for location in ("LOC2", "NOPE"):
        with pytest.raises(oauth.NotAllowed):
            oauth.choose_location(SITE_A, location, ports, NOW)
    # Site B has no grant: it cannot pick a location with site A's
    with pytest.raises(oauth.NotAllowed):
        oauth.choose_location(SITE_B, "LOC1", ports, NOW)
    assert ports.tenants.get(SITE_A) is None and ports.tenants.get(SITE_B) is None


def test_a_location_connected_to_another_site_is_refused_and_the_old_credentials_stay(
    ports: oauth.OAuthPorts,
) -> None:
    # Given site A connected at LOC1
    _connect(ports, SITE_A)
    # When site B authorizes the same merchant and picks LOC1
    state = _state_of(oauth.start(SITE_B, "square", ports, NOW))
    oauth.complete("square", state, "the-code", None, ports, NOW)
    with pytest.raises(PosLocationTaken):
        oauth.choose_location(SITE_B, "LOC1", ports, NOW)
    # Then B is not connected and nothing of B's is current
    assert ports.tenants.get(SITE_B) is None and SITE_B not in ports.vault.current  # type: ignore[attr-defined]


# ---- refresh -------------------------------------------------------------------------------------------------------


def test_the_schedule_refreshes_tokens_six_days_old_and_leaves_younger_ones(ports: oauth.OAuthPorts) -> None:
    # Given site A connected 6 days ago and site B 2 days ago (another merchant location)
    _connect(ports, SITE_A, NOW - timedelta(days=6))
    _square(ports).locations = lambda access_token: [PosLocation("LOCB", "B", "ACTIVE")]  # type: ignore[method-assign]
    state = _state_of(oauth.start(SITE_B, "square", ports, NOW - timedelta(days=2)))
    oauth.complete("square", state, "the-code", None, ports, NOW - timedelta(days=2))
    oauth.choose_location(SITE_B, "LOCB", ports, NOW - timedelta(days=2))
    # When the daily run comes
    report = oauth.refresh_due(ports, NOW)
    # Then only A is refreshed, with its refresh token; its new access token is current and its webhook key kept
    assert report.refreshed == [SITE_A] and report.failed == {}
    assert _square(ports).refreshed_with == ["refresh-1"]
    current = ports.vault.pos_credentials(SITE_A)
    assert current.access_token.get_secret_value() == "access-3"
    assert current.webhook_signature_key.get_secret_value() == "app-signature-key"
    connection = ports.connections.get(SITE_A)
    assert connection is not None and connection.token_issued_at == NOW
    # And the oldest token left is B's, 2 days old
    assert report.oldest_token_age_days == pytest.approx(2.0)


def test_with_a_daily_schedule_no_token_gets_older_than_seven_days(ports: oauth.OAuthPorts) -> None:
    # Given a site connected now, and the schedule running every day for 60 days
    _connect(ports, SITE_A, NOW)
    ages = []
    for day in range(1, 61):
        ages.append(oauth.refresh_due(ports, NOW + timedelta(days=day)).oldest_token_age_days)
    # Then the token is refreshed every 6 days and never reaches 7
    assert max(ages) < 7 and _square(ports).issued == 1 + 10


@pytest.mark.parametrize(
    "failure, reason",
    [(PermanentError("square_unauthorized", "refused"), "square_unauthorized"), (TransientError("down"), "transient")],
)
def test_a_failed_refresh_is_reported_kept_due_and_the_token_left_current(
    ports: oauth.OAuthPorts, failure: Exception, reason: str
) -> None:
    # Given a token 9 days old whose refresh fails
    _connect(ports, SITE_A, NOW - timedelta(days=9))
    _square(ports).refresh_failure = failure
    # When the run comes
    report = oauth.refresh_due(ports, NOW)
    # Then the failure is reported with its reason, the old token stays current, and the age crosses Square's 8 days
    assert report.failed == {SITE_A: reason} and report.refreshed == []
    assert ports.vault.pos_credentials(SITE_A).access_token.get_secret_value() == "access-1"
    assert report.oldest_token_age_days > 8
    view = oauth.connection_view(SITE_A, ports.connections, ports.tenants, ports.connectors, NOW)
    assert (view["status"], view["lastRefreshError"]) == ("expiring", reason)
    # And the next run tries again
    _square(ports).refresh_failure = None
    assert oauth.refresh_due(ports, NOW + timedelta(hours=1)).refreshed == [SITE_A]


def test_a_tenant_an_operator_put_a_personal_token_on_is_not_refreshed(ports: oauth.OAuthPorts) -> None:
    # Given an OAuth tenant whose credentials an operator replaced with a personal token (admin PUT)
    _connect(ports, SITE_A, NOW - timedelta(days=7))
    personal = PosCredentials(access_token=SecretStr("EAAApersonal"), webhook_signature_key=SecretStr("k"))
    ports.vault.promote_pos_credentials(SITE_A, ports.vault.stage_pos_credentials(SITE_A, personal))
    # When the run comes
    report = oauth.refresh_due(ports, NOW)
    # Then the personal token stays, nothing is refreshed, and the OAuth record says it was replaced
    assert report.replaced == [SITE_A] and _square(ports).refreshed_with == []
    assert ports.vault.pos_credentials(SITE_A).access_token.get_secret_value() == "EAAApersonal"


# ---- revoke and disconnect ------------------------------------------------------------------------------------------


def test_square_revoking_pauses_every_site_of_the_merchant_with_the_reason(ports: oauth.OAuthPorts) -> None:
    # Given site A connected through merchant MERCHANT1, and a personal-token site of another merchant
    _connect(ports, SITE_A)
    other = Tenant(
        instance_id="site-c",
        pos=PosConnection(provider="square", merchant_id="M2", location_id="L9"),
        settings=TenantSettings(),
        created_at="x",
        updated_at="x",
    )
    ports.tenants.put(other)
    # When Square says the merchant revoked the application (twice: webhooks repeat)
    paused = oauth.authorization_revoked("square", "MERCHANT1", "MERCHANT", ports.connections, ports.tenants, NOW)
    again = oauth.authorization_revoked("square", "MERCHANT1", "MERCHANT", ports.connections, ports.tenants, NOW)
    # Then site A is paused with the reason, shown as revoked; the other site is untouched; the repeat is a no-op
    assert paused == [SITE_A] and again == []
    tenant = ports.tenants.get(SITE_A)
    assert tenant is not None and (tenant.status, tenant.paused_reason) == ("paused", "square_revoked_by_merchant")
    view = oauth.connection_view(SITE_A, ports.connections, ports.tenants, ports.connectors, NOW)
    assert (view["status"], view["reason"]) == ("revoked", "square_revoked_by_merchant")
    assert ports.tenants.get("site-c") == other


def test_reconnecting_after_a_revoke_resumes_the_tenant(ports: oauth.OAuthPorts) -> None:
    _connect(ports, SITE_A)
    oauth.authorization_revoked("square", "MERCHANT1", "MERCHANT", ports.connections, ports.tenants, NOW)
    _connect(ports, SITE_A, NOW + timedelta(hours=1))
    tenant = ports.tenants.get(SITE_A)
    assert tenant is not None and tenant.status == "active"


def test_an_operators_pause_survives_a_reconnect(ports: oauth.OAuthPorts) -> None:
    _connect(ports, SITE_A)
    tenant = ports.tenants.get(SITE_A)
    assert tenant is not None
    ports.tenants.put(tenant.model_copy(update={"status": "paused"}))
    _connect(ports, SITE_A, NOW + timedelta(hours=1))
    assert (ports.tenants.get(SITE_A) or tenant).status == "paused"


def test_disconnecting_revokes_at_square_and_pauses(ports: oauth.OAuthPorts) -> None:
    _connect(ports, SITE_A)
    ended = oauth.disconnect(SITE_A, ports, NOW)
    assert _square(ports).revoked == ["MERCHANT1"]
    assert (ended.stage, ended.reason) == ("disconnected", "disconnected_by_owner")
    assert (ports.tenants.get(SITE_A) or ended).status == "paused"
    with pytest.raises(oauth.NotAllowed):
        oauth.disconnect(SITE_A, ports, NOW)


def test_a_personal_token_tenant_reads_as_connected_without_oauth(ports: oauth.OAuthPorts) -> None:
    ports.tenants.put(
        Tenant(
            instance_id=SITE_A,
            pos=PosConnection(provider="square", merchant_id="M", location_id="L"),
            settings=TenantSettings(),
            created_at="x",
            updated_at="x",
        )
    )
    view = oauth.connection_view(SITE_A, ports.connections, ports.tenants, ports.connectors, NOW)
    assert (view["status"], view["method"]) == ("connected", "personal_token")
    assert (
        oauth.connection_view(SITE_B, ports.connections, ports.tenants, ports.connectors, NOW)["status"]
        == "not_connected"
    )


# ---- the provider ---------------------------------------------------------------------------------------------------


def test_a_state_issued_for_one_provider_does_not_complete_at_anothers_callback(ports: oauth.OAuthPorts) -> None:
    # Given a Square authorize link, and a connector set where "acme" connects through the same fake
    state = _state_of(oauth.start(SITE_A, "square", ports, NOW))
    ports.connectors.connector = lambda provider: _square(ports)  # type: ignore[method-assign]
    # When its state comes back to acme's callback
    with pytest.raises(oauth.AuthorizationRefused) as refused:
        oauth.complete("acme", state, "the-code", None, ports, NOW)
    # Then it is refused as unknown, spent, and no code was exchanged
    assert refused.value.reason == "unknown_state" and _square(ports).issued == 0
    with pytest.raises(oauth.AuthorizationRefused):
        oauth.complete("square", state, "the-code", None, ports, NOW)


def test_a_connection_and_its_tenant_name_the_provider_they_were_made_with(ports: oauth.OAuthPorts) -> None:
    # When site A connects through Square
    _connect(ports, SITE_A)
    # Then the connection and the tenant both say Square
    connection, tenant = ports.connections.get(SITE_A), ports.tenants.get(SITE_A)
    assert connection is not None and tenant is not None
    assert (connection.provider, tenant.pos.provider) == ("square", "square")


def test_another_providers_revoke_leaves_a_connection_of_the_same_merchant_id_alone(ports: oauth.OAuthPorts) -> None:
    # Given site A connected through Square merchant MERCHANT1
    _connect(ports, SITE_A)
    # When another provider revokes its own merchant MERCHANT1
    paused = oauth.authorization_revoked("acme", "MERCHANT1", "MERCHANT", ports.connections, ports.tenants, NOW)
    # Then nothing is paused
    assert paused == [] and (ports.tenants.get(SITE_A) or pytest.fail("no tenant")).status == "active"


def test_the_registry_hands_out_squares_token_rules_and_no_oauth_for_a_provider_without_it() -> None:
    # Given the registry's OAuth side with no application configured
    registry = PosOAuth({"square": "https://connect.squareup.com"}, {})
    # Then Square's rules come without its secret, Clover (registered by an operator) has none, and a Square connector
    # without its application's secret is refused as not configured
    assert registry.policy("square") == TOKEN_POLICY
    assert TOKEN_POLICY.refresh_after == timedelta(days=6) and TOKEN_POLICY.age_alarm == timedelta(days=8)
    with pytest.raises(PermanentError) as clover:
        registry.policy("clover")
    assert clover.value.reason == "pos_oauth_not_supported"
    with pytest.raises(PermanentError) as unconfigured:
        registry.connector("square")
    assert unconfigured.value.reason == "pos_provider_not_configured"


# ---- the signed Wix instance ----------------------------------------------------------------------------------------

SECRET = "wix-app-secret"


def _instance(**data: object) -> str:
    return sign_instance(
        {"instanceId": SITE_A, "uid": "owner", "permissions": "OWNER", "signDate": "2026-12-06T11:00:00.000Z", **data},
        SECRET,
    )


def test_a_signed_instance_names_its_site() -> None:
    signed = verify_instance(instance_from_header(f"Instance {_instance()}"), SECRET, NOW)
    assert (signed.instance_id, signed.user_id, signed.permissions) == (SITE_A, "owner", "OWNER")


def test_an_instance_with_its_data_swapped_for_another_site_is_refused() -> None:
    # Given a genuine instance of site A, and the data part of one naming site B
    signature = _instance().split(".")[0]
    other_data = _instance(instanceId=SITE_B).split(".")[1]
    # Then A's signature over B's data is refused, and so is a signature with another secret
    with pytest.raises(InstanceRejected, match="not signed"):
        verify_instance(f"{signature}.{other_data}", SECRET, NOW)
    with pytest.raises(InstanceRejected, match="not signed"):
        verify_instance(_instance(), "another-secret", NOW)


@pytest.mark.parametrize(
    "instance",
    [None, "", "no-dot", "a.b.c", "!!!.???", "x" * 5000],
)
def test_a_malformed_instance_is_refused(instance: str | None) -> None:
    with pytest.raises(InstanceRejected):
        verify_instance(instance, SECRET, NOW)


def test_an_old_a_future_or_an_anonymous_instance_is_refused() -> None:
    with pytest.raises(InstanceRejected, match="expired"):
        verify_instance(_instance(signDate="2026-12-05T23:00:00Z"), SECRET, NOW)
    with pytest.raises(InstanceRejected, match="expired"):
        verify_instance(_instance(signDate="2026-12-06T12:30:00Z"), SECRET, NOW)
    with pytest.raises(InstanceRejected, match="anonymous"):
        verify_instance(_instance(aid="visitor"), SECRET, NOW)
    assert instance_from_header(f"Bearer {_instance()}") is None


def test_a_route_of_another_provider_cannot_act_on_the_sites_connection(ports: oauth.OAuthPorts) -> None:
    # Given site A connected through Square
    _connect(ports, SITE_A)
    # When the owner's page calls another provider's routes (/restaurant/acme/...) for it
    for act in (
        lambda: oauth.locations(SITE_A, ports, "acme"),
        lambda: oauth.choose_location(SITE_A, "LOC1", ports, NOW, "acme"),
        lambda: oauth.disconnect(SITE_A, ports, NOW, "acme"),
    ):
        with pytest.raises(oauth.NotAllowed, match="connected through square, not acme"):
            act()
    # Then nothing was revoked and the site stays connected; Square's own routes still act on it
    assert _square(ports).revoked == []
    assert [x.id for x in oauth.locations(SITE_A, ports, "square")] == ["LOC1", "LOC2"]
    assert oauth.disconnect(SITE_A, ports, NOW, "square").reason == "disconnected_by_owner"


def test_the_page_reads_which_provider_the_site_is_connected_through(ports: oauth.OAuthPorts) -> None:
    # Given site A connected through Square, site B with nothing
    _connect(ports, SITE_A)

    # Then A's view names Square, B's names no provider (the restaurant API offers its configured one)
    def view(site: str) -> dict[str, object]:
        return oauth.connection_view(site, ports.connections, ports.tenants, ports.connectors, NOW)

    assert (view(SITE_A)["provider"], view(SITE_B)["provider"]) == ("square", None)
