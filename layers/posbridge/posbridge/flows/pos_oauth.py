"""A restaurant connects its POS account itself (OAuth code flow), and the connection's lifecycle. The provider's
side is an OAuthConnector (ports/oauth.py) the registry hands out by name (Square's: pos/square/oauth.py); this flow
knows no provider.

1. `start`: the restaurant's page (authenticated by its signed Wix instance) asks for the authorize link of a
   provider. A random `state` (256 bits) bound to that site and provider is stored hashed with a 10-minute expiry; it
   is the only thing that ties the provider's callback to a site.
2. `complete`: the provider redirects the owner to its callback with `code` and `state`. The state is taken (single
   use: a replayed or unknown state, or one issued for another provider, is refused), must not be expired; the code is
   exchanged; the tokens are staged in Secrets Manager (AWSPENDING, nothing reads them yet) and the connection is
   recorded as awaiting its location. No token is logged, answered or passed to Step Functions.
3. `locations` / `choose_location`: the owner picks one of the merchant's ACTIVE locations; the tenant is then stored
   (a location connected to another site is refused) and the staged credentials become current: orders flow.
4. `refresh_due` (scheduled daily): each connected token as old as its provider's TokenPolicy says is refreshed
   (Square: 6 days; at most every 7, alarm past 8); a failure is recorded and reported (metric + alarm) and retried on
   the next run.
5. `authorization_revoked` (the provider's access-revoked notice: Square's `oauth.authorization.revoked` webhook) and
   `disconnect` (the owner): the connection ends with its reason and the tenant is paused with it (its events park
   with `tenant_paused`); a new connection through OAuth resumes it.
Personal access tokens (`PUT /admin/tenants/{id}`) are untouched by all this: a tenant connected so has no OAuth
record; one that an operator re-registers with a personal token stops being refreshed ("replaced").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from posbridge.domain.pos_oauth import STATE_TTL, OAuthConnection, OAuthCredentials, PosLocation
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.errors import PermanentError, TransientError
from posbridge.ports.oauth import OAuthConnectionStore, OAuthConnectors, OAuthStateStore, OAuthVault
from posbridge.ports.stores import TenantRepository

LIVE_STAGES = ("awaiting_location", "connected")


@dataclass(frozen=True)
class OAuthPorts:
    states: OAuthStateStore
    connections: OAuthConnectionStore
    connectors: OAuthConnectors
    vault: OAuthVault
    tenants: TenantRepository


class AuthorizationRefused(Exception):
    """The callback cannot complete: unknown, reused or expired state, or the owner declined. `reason` is a code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotAllowed(Exception):
    """The request does not fit the connection's state (no grant to pick a location for, an unknown location)."""


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def start(instance_id: str, provider: str, ports: OAuthPorts, now: datetime) -> str:
    """The provider's authorize link for this site: a fresh single-use state, stored hashed, expiring after
    STATE_TTL."""
    connector = ports.connectors.connector(provider)  # an application not configured: nothing is stored
    state = secrets.token_urlsafe(32)
    ports.states.save(state, instance_id, provider, now + STATE_TTL)
    return connector.authorize_url(state)


def complete(
    provider: str, state: str | None, code: str | None, error: str | None, ports: OAuthPorts, now: datetime
) -> str:
    """The provider's callback; answers the site (instance id) now awaiting its location choice."""
    connector = ports.connectors.connector(provider)  # an application not configured: the state stays unspent
    if not state:
        raise AuthorizationRefused("missing_state", "the callback carries no state")
    taken = ports.states.take(state)  # taken first, whatever follows: a state never serves twice
    if taken is None or taken[1] != provider:
        raise AuthorizationRefused("unknown_state", "this authorization link is unknown or was already used")
    instance_id, _, expires_at = taken
    if now > expires_at:
        raise AuthorizationRefused("expired_state", "this authorization link has expired: start again")
    if error or not code:  # the owner declined (Square sends `error` and `error_description` instead of a code)
        raise AuthorizationRefused("declined", "the POS did not authorize the connection")
    grant = connector.obtain_token(code)
    credentials = OAuthCredentials(
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        webhook_signature_key=connector.webhook_signature_key,
    )
    version = ports.vault.stage_pos_credentials(instance_id, credentials)
    ports.connections.put(
        OAuthConnection(
            instance_id=instance_id,
            provider=provider,
            merchant_id=grant.merchant_id,
            stage="awaiting_location",
            connected_at=now,
            token_issued_at=now,
            token_expires_at=grant.expires_at,
            pending_version=version,
        )
    )
    return instance_id


def _live(instance_id: str, ports: OAuthPorts, provider: str | None) -> OAuthConnection:
    """The site's live connection; with a provider named (the route's), only a connection through that provider."""
    connection = ports.connections.get(instance_id)
    if connection is None or connection.stage not in LIVE_STAGES:
        raise NotAllowed("no POS account is connected to this site: connect it first")
    if provider is not None and connection.provider != provider:
        raise NotAllowed(f"this site is connected through {connection.provider}, not {provider}")
    return connection


def locations(instance_id: str, ports: OAuthPorts, provider: str | None = None) -> list[PosLocation]:
    """The merchant's locations, with the token awaiting a choice (or the current one, to change location)."""
    connection = _live(instance_id, ports, provider)
    return ports.connectors.connector(connection.provider).locations(_access_token(connection, ports))


def choose_location(
    instance_id: str, location_id: str, ports: OAuthPorts, now: datetime, provider: str | None = None
) -> Tenant:
    """Connect the site to one ACTIVE location of its merchant: the tenant is stored (PosLocationTaken if the location
    is another site's), then the staged credentials become current and the connection is `connected`."""
    connection = _live(instance_id, ports, provider)
    connector = ports.connectors.connector(connection.provider)
    found = {loc.id: loc for loc in connector.locations(_access_token(connection, ports))}
    chosen = found.get(location_id)
    if chosen is None or chosen.status != "ACTIVE":
        raise NotAllowed(f"location {location_id} is not an active location of this POS account")
    existing = ports.tenants.get(instance_id)
    ended_by_oauth = existing is not None and existing.status == "paused" and existing.paused_reason is not None
    tenant = Tenant(
        instance_id=instance_id,
        # a pause the connection caused ends with the new connection; an operator's pause stays
        status="active" if existing is None or existing.status == "removed" or ended_by_oauth else existing.status,
        pos=PosConnection(provider=connection.provider, merchant_id=connection.merchant_id, location_id=location_id),
        settings=existing.settings if existing else TenantSettings(),
        created_at=existing.created_at if existing else _stamp(now),
        updated_at=_stamp(now),
    )
    ports.tenants.put(tenant)
    if connection.pending_version is not None:
        ports.vault.promote_pos_credentials(instance_id, connection.pending_version)
    ports.connections.put(connection.model_copy(update={"stage": "connected", "pending_version": None}))
    return tenant


def _access_token(connection: OAuthConnection, ports: OAuthPorts) -> str:
    if connection.pending_version is not None:
        credentials = ports.vault.staged_pos_credentials(connection.instance_id, connection.pending_version)
    else:
        credentials = ports.vault.pos_credentials(connection.instance_id)
    return credentials.access_token.get_secret_value()


@dataclass
class RefreshReport:
    refreshed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # instance id -> reason code
    replaced: list[str] = field(default_factory=list)
    oldest_token_age_days: float = 0.0  # of the connected tenants, after this run


def refresh_due(ports: OAuthPorts, now: datetime) -> RefreshReport:
    """Refresh every connected token as old as its provider's TokenPolicy.refresh_after or older. A failure is kept on
    the connection and reported; the token stays due, so the next run tries again (the adapter already retried
    429/5xx/timeouts). An application not configured fails the run (PermanentError), as nothing can be refreshed."""
    report = RefreshReport()
    for connection in ports.connections.all():
        if not connection.refresh_due(now, ports.connectors.policy(connection.provider)):
            continue
        connector = ports.connectors.connector(connection.provider)
        try:
            current = ports.vault.pos_credentials(connection.instance_id)
            if not isinstance(current, OAuthCredentials):  # an operator put a personal token since: not ours
                ports.connections.put(
                    connection.model_copy(
                        update={"stage": "replaced", "ended_at": now, "reason": "replaced_by_personal_token"}
                    )
                )
                report.replaced.append(connection.instance_id)
                continue
            grant = connector.refresh(current.refresh_token.get_secret_value())
            renewed = OAuthCredentials(
                access_token=grant.access_token,
                refresh_token=grant.refresh_token,
                webhook_signature_key=current.webhook_signature_key,
            )
            version = ports.vault.stage_pos_credentials(connection.instance_id, renewed)
            ports.vault.promote_pos_credentials(connection.instance_id, version)
        except (PermanentError, TransientError) as exc:
            reason = exc.reason if isinstance(exc, PermanentError) else "transient"
            ports.connections.put(connection.model_copy(update={"last_refresh_error": reason}))
            report.failed[connection.instance_id] = reason
            continue
        ports.connections.put(
            connection.model_copy(
                update={"token_issued_at": now, "token_expires_at": grant.expires_at, "last_refresh_error": None}
            )
        )
        report.refreshed.append(connection.instance_id)
    ages = [c.token_age(now).total_seconds() / 86400 for c in ports.connections.all() if c.stage == "connected"]
    report.oldest_token_age_days = round(max(ages, default=0.0), 3)
    return report


def authorization_revoked(
    provider: str,
    merchant_id: str,
    revoker: str,
    connections: OAuthConnectionStore,
    tenants: TenantRepository,
    now: datetime,
) -> list[str]:
    """The provider's access-revoked notice for a merchant (Square's `oauth.authorization.revoked`): every site
    connected through it is paused with the reason (`<provider>_revoked_by_<revoker>`: `square_revoked_by_merchant`,
    `..._by_application`, `..._by_square`). Idempotent; answers the sites."""
    reason = f"{provider}_revoked_by_{(revoker or 'unknown').lower()}"
    ended = []
    for connection in connections.all():
        if connection.provider != provider or connection.merchant_id != merchant_id:
            continue
        if connection.stage not in LIVE_STAGES:
            continue
        _end(connection, "revoked", reason, connections, tenants, now)
        ended.append(connection.instance_id)
    return ended


def disconnect(instance_id: str, ports: OAuthPorts, now: datetime, provider: str | None = None) -> OAuthConnection:
    """The owner disconnects: the provider revokes the application's tokens for the merchant; the tenant is paused."""
    connection = ports.connections.get(instance_id)
    if connection is None or connection.stage not in LIVE_STAGES:
        raise NotAllowed("no POS account is connected to this site through OAuth")
    if provider is not None and connection.provider != provider:
        raise NotAllowed(f"this site is connected through {connection.provider}, not {provider}")
    ports.connectors.connector(connection.provider).revoke(connection.merchant_id)
    return _end(connection, "disconnected", "disconnected_by_owner", ports.connections, ports.tenants, now)


def _end(
    connection: OAuthConnection,
    stage: str,
    reason: str,
    connections: OAuthConnectionStore,
    tenants: TenantRepository,
    now: datetime,
) -> OAuthConnection:
    # The tenant is paused first: whoever sees the connection ended (the page) also sees the orders stopped, and a
    # retry after a crash between the two writes finds the connection still live and ends it.
    tenant = tenants.get(connection.instance_id)
    if tenant is not None and tenant.status == "active":
        tenants.put(tenant.model_copy(update={"status": "paused", "paused_reason": reason, "updated_at": _stamp(now)}))
    ended = connection.model_copy(update={"stage": stage, "ended_at": now, "reason": reason, "pending_version": None})
    connections.put(ended)
    return ended


def connection_view(
    instance_id: str,
    connections: OAuthConnectionStore,
    tenants: TenantRepository,
    connectors: OAuthConnectors,
    now: datetime,
) -> dict[str, object]:
    """What the restaurant's page shows: status, the provider (None: nothing connected), the method, the merchant and
    location, the token's age."""
    connection = connections.get(instance_id)
    tenant = tenants.get(instance_id)
    if connection is None:
        connected = tenant is not None and tenant.status != "removed"
        return {
            "status": "connected" if connected else "not_connected",
            "provider": tenant.pos.provider if tenant and connected else None,
            "method": "personal_token" if connected else None,
            "merchantId": tenant.pos.merchant_id if tenant and connected else None,
            "locationId": tenant.pos.location_id if tenant and connected else None,
            "tenantStatus": tenant.status if tenant else None,
        }
    return {
        "status": connection.status(now, connectors.policy(connection.provider)),
        "provider": connection.provider,
        "method": "oauth",
        "stage": connection.stage,
        "merchantId": connection.merchant_id,
        "locationId": tenant.pos.location_id if tenant and connection.stage == "connected" else None,
        "tenantStatus": tenant.status if tenant else None,
        "pausedReason": tenant.paused_reason if tenant else None,
        "tokenAgeDays": round(connection.token_age(now).total_seconds() / 86400, 2),
        "tokenExpiresAt": connection.token_expires_at.isoformat(),
        "connectedAt": connection.connected_at.isoformat(),
        "endedAt": connection.ended_at.isoformat() if connection.ended_at else None,
        "reason": connection.reason,
        "lastRefreshError": connection.last_refresh_error,
    }
