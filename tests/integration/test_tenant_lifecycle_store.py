"""The lifecycle's data access against the mappings table deployed from template.yaml into moto: removal releases the
POS location, the purge deletes a removed tenant's items (and only its), keeping the tombstone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from devstack.app import Devstack
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.errors import StaleWrite
from posbridge.flows.lifecycle import LifecyclePorts, NotAllowed, app_removed, purge_removed, set_paused
from posbridge.store.lifecycle import LifecycleStore
from posbridge.store.pos_links import PosLinks
from posbridge.store.tenants import TenantStore

NOW = datetime.now(UTC)


class NoVault:
    def delete_pos_credentials(self, instance_id: str) -> bool:
        return False


@pytest.fixture(scope="module")
def table_name(devstack: Devstack) -> str:
    assert devstack.stack is not None
    return devstack.stack.output("MappingsTableName")


def _tenant(table_name: str, suffix: str) -> Tenant:
    tenant = Tenant(
        instance_id=f"inst-{suffix}",
        pos=PosConnection(provider="square", merchant_id=f"M{suffix}", location_id=f"L{suffix}"),
        settings=TenantSettings(),
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )
    TenantStore(table_name).put(tenant)
    table = boto3.resource("dynamodb").Table(table_name)
    for sk in ("ORDER#WIX#o1", "ORDER#POS#p1", "CATALOG#WIX#item-1"):
        table.put_item(Item={"PK": f"TENANT#{tenant.instance_id}", "SK": sk, "x": "1"})
    return tenant


def _keys(table_name: str, instance_id: str) -> set[str]:
    table = boto3.resource("dynamodb").Table(table_name)
    items = table.query(KeyConditionExpression=Key("PK").eq(f"TENANT#{instance_id}"))["Items"]
    return {str(i["SK"]) for i in items}


def test_a_removed_tenant_is_purged_after_the_retention_and_others_are_untouched(table_name: str) -> None:
    # Given tenants A and B with mappings, A removed 31 days ago
    a, b = _tenant(table_name, uuid.uuid4().hex[:8]), _tenant(table_name, uuid.uuid4().hex[:8])
    ports = LifecyclePorts(TenantStore(table_name), LifecycleStore(table_name), NoVault())
    assert app_removed(a.instance_id, ports, NOW - timedelta(days=31)) == "removed"
    links = PosLinks(table_name)
    # Then A's POS location is released at once, B's kept
    assert links.tenants_for("square", a.pos.merchant_id) == []
    assert [link.instance_id for link in links.tenants_for("square", b.pos.merchant_id)] == [b.instance_id]
    # When the purge runs with a 30-day retention (twice)
    purged: list[Any] = purge_removed(ports, NOW, timedelta(days=30))
    again = purge_removed(ports, NOW, timedelta(days=30))
    # Then A's mappings are gone, its tombstone stays, it left the directory; B is whole; the second run is a no-op
    assert [(p.instance_id, p.items_deleted) for p in purged] == [(a.instance_id, 3)]
    assert all(p.instance_id != a.instance_id for p in again)
    assert _keys(table_name, a.instance_id) == {"TENANT", "INSTALLATION"}
    assert a.instance_id not in links.all_tenants() and b.instance_id in links.all_tenants()
    assert _keys(table_name, b.instance_id) == {"TENANT", "ORDER#WIX#o1", "ORDER#POS#p1", "CATALOG#WIX#item-1"}


def test_the_scheduled_purge_keeps_a_recently_removed_tenant(devstack: Devstack, table_name: str) -> None:
    # Given a tenant removed just now
    a = _tenant(table_name, uuid.uuid4().hex[:8])
    ports = LifecyclePorts(TenantStore(table_name), LifecycleStore(table_name), NoVault())
    app_removed(a.instance_id, ports, NOW)
    # When the reconciler's purge runs on demand (the devstack has no schedules)
    assert devstack.stack is not None
    answer, error = devstack.stack.invoke("ReconcilerFunction", {"purge": True})
    # Then it succeeds and A's mappings are still there (the default retention is 30 days)
    assert error is None and answer["ok"] is True
    assert all(p["instance_id"] != a.instance_id for p in answer["purged"])
    assert "ORDER#WIX#o1" in _keys(table_name, a.instance_id)


class _UninstallAfterRead:
    """The tenants a pause reads, with the Wix uninstall landing between the pause's read and its write (the race)."""

    def __init__(self, table_name: str, ports: LifecyclePorts) -> None:
        self._store = TenantStore(table_name)
        self._ports = ports
        self.uninstalled = False

    def get(self, instance_id: str) -> Tenant | None:
        tenant = self._store.get(instance_id)
        if not self.uninstalled:
            self.uninstalled = True
            assert app_removed(instance_id, self._ports, NOW) == "removed"
        return tenant

    def put(self, tenant: Tenant) -> None:
        self._store.put(tenant)


def test_a_pause_racing_an_uninstall_never_resurrects_the_tenant(table_name: str) -> None:
    # Given an active tenant
    a = _tenant(table_name, uuid.uuid4().hex[:8])
    ports = LifecyclePorts(TenantStore(table_name), LifecycleStore(table_name), NoVault())
    racing = _UninstallAfterRead(table_name, ports)

    # When an operator pauses it and the app is uninstalled after the pause read the tenant (still active)
    with pytest.raises(NotAllowed):
        set_paused(a.instance_id, True, racing, NOW)

    # Then the pause's write is refused and, re-reading, it sees the removal: the tenant stays removed, its POS
    # location released (the pause did not link it again)
    assert racing.uninstalled
    stored = TenantStore(table_name).get(a.instance_id)
    assert stored is not None and stored.status == "removed"
    assert PosLinks(table_name).tenants_for("square", a.pos.merchant_id) == []


def test_a_write_of_a_tenant_read_before_another_write_is_refused(table_name: str) -> None:
    # Given a tenant read twice at the same revision
    a = _tenant(table_name, uuid.uuid4().hex[:8])
    store = TenantStore(table_name)
    first, second = store.get(a.instance_id), store.get(a.instance_id)
    assert first is not None and second is not None and first.version == second.version
    # When the first reader writes, then the second
    store.put(first.model_copy(update={"status": "paused"}))
    # Then the second is refused (StaleWrite: re-read and decide again), and the first's write stands
    with pytest.raises(StaleWrite):
        store.put(second.model_copy(update={"updated_at": "2026-02-02T00:00:00Z"}))
    stored = store.get(a.instance_id)
    assert stored is not None and stored.status == "paused" and stored.version == (first.version or 0) + 1
