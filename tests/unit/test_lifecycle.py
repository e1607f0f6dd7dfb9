"""Tenant lifecycle rules (posbridge/flows/lifecycle.py) over in-memory ports: install, remove, pause, purge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.domain.tenant_records import Installation
from posbridge.errors import EventIgnored, PermanentError
from posbridge.flows.lifecycle import (
    LifecyclePorts,
    NotAllowed,
    app_installed,
    app_removed,
    purge_removed,
    require_active,
    set_paused,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
A, B = "inst-a", "inst-b"


@dataclass
class World:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    installs: dict[str, Installation] = field(default_factory=dict)
    directory: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    links: dict[str, str] = field(default_factory=dict)  # location -> instance
    mappings: dict[str, int] = field(default_factory=dict)  # instance -> items under its key

    # Tenants
    def get(self, instance_id: str) -> Tenant | None:
        return self.tenants.get(instance_id)

    def put(self, tenant: Tenant) -> None:
        self.tenants[tenant.instance_id] = tenant
        self.links[tenant.pos.location_id] = tenant.instance_id
        self.directory.add(tenant.instance_id)

    # Lifecycle
    def installation(self, instance_id: str) -> Installation | None:
        return self.installs.get(instance_id)

    def save_installation(self, installation: Installation) -> None:
        self.installs[installation.instance_id] = installation
        self.directory.add(installation.instance_id)

    def remove_tenant(self, tenant: Tenant) -> None:
        self.tenants[tenant.instance_id] = tenant
        if self.links.get(tenant.pos.location_id) == tenant.instance_id:
            del self.links[tenant.pos.location_id]

    def list_directory(self) -> list[str]:
        return sorted(self.directory)

    def purge(self, instance_id: str) -> int:
        self.directory.discard(instance_id)
        return self.mappings.pop(instance_id, 0)

    # Vault
    def delete_pos_credentials(self, instance_id: str) -> bool:
        present = instance_id in self.secrets
        self.secrets.discard(instance_id)
        return present

    def ports(self) -> LifecyclePorts:
        world = self

        class _Lifecycle:
            installation = world.installation
            save_installation = world.save_installation
            remove_tenant = world.remove_tenant
            directory = world.list_directory
            purge = world.purge

        return LifecyclePorts(tenants=self, lifecycle=_Lifecycle(), vault=self)


def _connected(world: World, instance_id: str, status: str = "active") -> Tenant:
    tenant = Tenant.model_validate(
        {
            "instance_id": instance_id,
            "status": status,
            "pos": PosConnection(provider="square", merchant_id=f"M-{instance_id}", location_id=f"L-{instance_id}"),
            "settings": TenantSettings(),
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
    )
    world.put(tenant)
    world.secrets.add(instance_id)
    world.mappings[instance_id] = 7
    return tenant


def test_an_install_creates_a_restaurant_awaiting_its_pos_and_a_repeat_is_a_no_op() -> None:
    # Given a site that has just installed the app
    world = World()
    # When AppInstalled arrives twice
    first, second = app_installed(A, world.ports(), NOW), app_installed(A, world.ports(), NOW + timedelta(hours=1))
    # Then one installation is recorded (listed in the directory, no tenant yet), the second is a no-op
    assert (first, second) == ("installed", "already_installed")
    assert world.installs[A].status == "installed" and world.installs[A].installed_at == "2026-05-01T12:00:00Z"
    assert A in world.directory and A not in world.tenants


def test_an_install_for_an_already_connected_tenant_is_a_no_op() -> None:
    world = World()
    _connected(world, A)
    assert app_installed(A, world.ports(), NOW) == "already_installed"
    assert world.tenants[A].status == "active" and A not in world.installs


def test_a_removal_disables_the_tenant_deletes_secrets_releases_its_location_and_keeps_mappings() -> None:
    # Given two connected tenants
    world = World()
    _connected(world, A)
    b = _connected(world, B)
    # When A removes the app
    assert app_removed(A, world.ports(), NOW) == "removed"
    # Then A is removed, its secret deleted, its POS location free, its mappings still there
    assert world.tenants[A].status == "removed" and world.tenants[A].removed_at == "2026-05-01T12:00:00Z"
    assert A not in world.secrets and "L-inst-a" not in world.links and world.mappings[A] == 7
    # And B is untouched
    assert world.tenants[B] == b and B in world.secrets and world.links["L-inst-b"] == B


def test_a_removed_tenants_events_are_ignored_and_a_paused_ones_parked() -> None:
    world = World()
    _connected(world, A, status="paused")
    with pytest.raises(PermanentError) as paused:
        require_active(world.tenants[A])
    assert paused.value.reason == "tenant_paused"
    app_removed(A, world.ports(), NOW)
    with pytest.raises(EventIgnored) as ignored:
        require_active(world.tenants[A])
    assert ignored.value.reason == "tenant_removed"


def test_pause_and_resume_are_idempotent_and_refused_for_a_removed_tenant() -> None:
    world = World()
    _connected(world, A)
    assert set_paused(A, True, world, NOW) is not None and world.tenants[A].status == "paused"
    assert set_paused(A, True, world, NOW) == world.tenants[A]
    set_paused(A, False, world, NOW)
    assert world.tenants[A].status == "active"
    assert set_paused(B, True, world, NOW) is None  # not registered
    app_removed(A, world.ports(), NOW)
    with pytest.raises(NotAllowed):
        set_paused(A, False, world, NOW)


def test_the_purge_waits_for_the_retention_and_keeps_other_tenants() -> None:
    # Given A removed at NOW, B active, both with mappings
    world = World()
    _connected(world, A)
    _connected(world, B)
    app_removed(A, world.ports(), NOW)
    retention = timedelta(days=30)
    # When the purge runs before the retention is over, nothing goes
    assert purge_removed(world.ports(), NOW + timedelta(days=29), retention) == []
    # When it runs after, A's mappings go (once), B's stay
    [purged] = purge_removed(world.ports(), NOW + timedelta(days=30), retention)
    assert (purged.instance_id, purged.items_deleted) == (A, 7)
    assert purge_removed(world.ports(), NOW + timedelta(days=31), retention) == []
    assert world.mappings == {B: 7} and world.tenants[A].status == "removed"  # the tombstone stays


def test_a_reinstall_cancels_the_purge_and_registration_makes_it_active_again() -> None:
    from posbridge.domain.tenant import TenantRegistration
    from posbridge.flows.tenants import register_tenant

    world = World()
    _connected(world, A)
    app_removed(A, world.ports(), NOW)
    assert app_installed(A, world.ports(), NOW + timedelta(days=1)) == "installed"
    assert purge_removed(world.ports(), NOW + timedelta(days=60), timedelta(days=30)) == []

    class Vault:
        def stage_pos_credentials(self, instance_id: str, credentials: object) -> str:
            return "v2"

        def promote_pos_credentials(self, instance_id: str, version: str) -> None:
            world.secrets.add(instance_id)

    registration = TenantRegistration.model_validate(
        {
            "pos": {
                "provider": "square",
                "merchantId": "M",
                "locationId": "L",
                "accessToken": "t",
                "webhookSignatureKey": "k",
            }
        }
    )
    tenant, _ = register_tenant(A, registration, world, Vault())
    assert tenant.status == "active"


EVENTS = ["installed", "removed"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(EVENTS), min_size=1, max_size=6))
def test_duplicated_lifecycle_events_converge(sequence: list[str]) -> None:
    # Given a connected tenant and any sequence of (duplicated) lifecycle events, ending with the last one repeated
    world = World()
    _connected(world, A)
    _connected(world, B)
    for i, event in enumerate([*sequence, sequence[-1]]):
        step = app_installed if event == "installed" else app_removed
        step(A, world.ports(), NOW + timedelta(minutes=i))
    # Then the state is that of the last event; secrets once removed stay deleted; B never changes
    last = sequence[-1]
    assert world.installs.get(A) is None or world.installs[A].status == last
    if "removed" in sequence:
        assert A not in world.secrets and world.tenants[A].status == "removed"
        assert "L-inst-a" not in world.links
    assert world.tenants[B].status == "active" and B in world.secrets and world.links["L-inst-b"] == B


# -- Ordering: legacy lifecycle events carry no id and no time but the JWT's iat, which ingest passes on -----------


def _at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def _reconnect(world: World, instance_id: str) -> None:
    """What PUT /admin/tenants/{id} does after a reinstall: the tenant active again, with fresh credentials."""
    tenant = world.tenants[instance_id].model_copy(update={"status": "active", "removed_at": None})
    world.put(tenant)
    world.secrets.add(instance_id)


def test_a_late_retry_of_an_old_removal_after_a_reinstall_is_ignored() -> None:
    # Given a connected restaurant that removed the app at minute 0, reinstalled it at minute 10 and reconnected its POS
    world = World()
    _connected(world, A)
    assert app_removed(A, world.ports(), _at(0), occurred_at=_at(0)) == "removed"
    assert app_installed(A, world.ports(), _at(10), occurred_at=_at(10)) == "installed"
    _reconnect(world, A)
    # When Wix retries the old removal (signed at minute 0) an hour later
    outcome = app_removed(A, world.ports(), _at(70), occurred_at=_at(0))
    # Then it is recognised as stale and nothing is touched: the tenant stays active with its credentials and location
    assert outcome == "stale"
    assert world.tenants[A].status == "active" and A in world.secrets and world.links["L-inst-a"] == A
    assert world.installs[A].status == "installed" and world.installs[A].changed_at == "2026-05-01T12:10:00.000Z"


def test_a_late_install_does_not_bring_back_a_tenant_removed_after_it() -> None:
    # Given an app installed at minute 0 and removed at minute 5
    world = World()
    app_installed(A, world.ports(), _at(0), occurred_at=_at(0))
    app_removed(A, world.ports(), _at(5), occurred_at=_at(5))
    # When the install is delivered again afterwards
    # Then it is stale and the installation stays removed (so the purge still comes)
    assert app_installed(A, world.ports(), _at(30), occurred_at=_at(0)) == "stale"
    assert world.installs[A].status == "removed"


def test_a_removal_older_than_a_later_install_is_stale_even_if_that_install_changed_nothing() -> None:
    # Given installs at minutes 0 and 20 (the removal in between delayed), the second a no-op
    world = World()
    app_installed(A, world.ports(), _at(0), occurred_at=_at(0))
    assert app_installed(A, world.ports(), _at(20), occurred_at=_at(20)) == "already_installed"
    # When the removal of minute 10 finally arrives
    # Then it is older than the install the site is in now: ignored
    assert app_removed(A, world.ports(), _at(25), occurred_at=_at(10)) == "stale"
    assert world.installs[A].status == "installed"


def test_duplicated_timed_events_are_no_ops() -> None:
    # Given a connected tenant
    world = World()
    _connected(world, A)
    # When its removal and then its reinstall are each delivered twice
    removed = [app_removed(A, world.ports(), _at(i), occurred_at=_at(0)) for i in (0, 1)]
    installed = [app_installed(A, world.ports(), _at(i), occurred_at=_at(10)) for i in (10, 11)]
    # Then the repeats change nothing: one removal (its first time kept), one installation
    assert removed == ["removed", "already_removed"] and installed == ["installed", "already_installed"]
    assert world.tenants[A].removed_at == "2026-05-01T12:00:00Z"
    assert world.installs[A].installed_at == "2026-05-01T12:10:00Z"
    assert world.installs[A].changed_at == "2026-05-01T12:10:00.000Z"


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=6).flatmap(lambda n: st.permutations([*range(n), *range(n)])))
def test_lifecycle_events_delivered_in_any_order_and_twice_end_in_the_latest_events_state(order: list[int]) -> None:
    # Given a site's alternating history (install at minute 0, remove at 1, install at 2, ...), each event delivered
    # twice, in any order
    world = World()
    _connected(world, A)
    for event in order:
        step = app_installed if event % 2 == 0 else app_removed
        step(A, world.ports(), _at(100 + len(order)), occurred_at=_at(event))
    # Then the installation is in the state of the latest event, timed by it
    latest = max(order)
    assert world.installs[A].status == ("installed" if latest % 2 == 0 else "removed")
    assert world.installs[A].changed_at == f"2026-05-01T12:{latest:02d}:00.000Z"


def test_ingest_passes_a_lifecycle_events_signing_time_to_the_worker() -> None:
    import json

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from posbridge.domain.work_message import WorkMessage
    from posbridge.flows.lifecycle import occurred_at
    from posbridge.flows.wix_ingest import ingest_wix_webhook
    from posbridge.wix.webhooks import WixWebhookVerifier

    # Given a legacy AppRemoved webhook signed at a known second
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signed = int(datetime.now(UTC).timestamp()) - 120
    envelope = {"eventType": "AppRemoved", "instanceId": A, "data": json.dumps({"appId": "app-1"})}
    body = jwt.encode({"data": json.dumps(envelope), "iat": signed, "exp": signed + 3600}, key, algorithm="RS256")
    sent: list[WorkMessage] = []

    class Queue:
        def send(self, message: WorkMessage) -> str:
            sent.append(message)
            return "m"

    # When it is ingested
    public = serialization.load_pem_public_key(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert isinstance(public, rsa.RSAPublicKey)
    ingest_wix_webhook(body, WixWebhookVerifier(public, "app-1"), Queue())
    # Then the queued message carries Wix's data and that time, which the worker reads back
    [message] = sent
    assert message.payload["appId"] == "app-1"
    assert occurred_at(message.payload) == datetime.fromtimestamp(signed, UTC)
