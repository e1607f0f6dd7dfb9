"""Flows 2 and 3's data access against the mappings table deployed from template.yaml into moto: tenant <-> POS links,
the forward-only sync record, the catalog mapping contract, and the reconciliation cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from devstack.app import Devstack
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.domain.order_catalog import WixSoldAs
from posbridge.domain.order_sync import Cursors, PosOrderSync, SiteIds
from posbridge.domain.pos_order import PosPosition
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.domain.tenant_records import PosLink
from posbridge.store.catalog_lookup import CatalogLookup
from posbridge.store.catalog_mappings import CatalogMappings
from posbridge.store.order_sync import OrderSyncStore
from posbridge.store.pos_links import PosLinks, PosLocationTaken
from posbridge.store.reconcile_state import ReconcileState
from posbridge.store.tenants import TenantStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def table_name(devstack: Devstack) -> str:
    assert devstack.stack is not None
    return devstack.stack.output("MappingsTableName")


@pytest.fixture
def tenant_id() -> str:
    return f"inst-{uuid.uuid4().hex[:12]}"


def _tenant(instance_id: str, merchant: str, location: str) -> Tenant:
    return Tenant(
        instance_id=instance_id,
        pos=PosConnection(provider="square", merchant_id=merchant, location_id=location),
        settings=TenantSettings(),
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )


# ---- tenant <-> POS links --------------------------------------------------------------------------------------------


def test_registering_a_tenant_links_its_pos_location_and_lists_it(table_name: str, tenant_id: str) -> None:
    # Given a tenant connected to a Square location
    merchant = f"M-{uuid.uuid4().hex[:8]}"
    # When it is stored
    TenantStore(table_name).put(_tenant(tenant_id, merchant, "L-1"))
    # Then its merchant leads to it, and the directory lists it
    links = PosLinks(table_name)
    assert links.tenants_for("square", merchant) == [PosLink("L-1", tenant_id)]
    assert tenant_id in links.all_tenants()


def test_a_pos_location_belongs_to_one_tenant(table_name: str, tenant_id: str) -> None:
    merchant, store = f"M-{uuid.uuid4().hex[:8]}", TenantStore(table_name)
    store.put(_tenant(tenant_id, merchant, "L-1"))
    store.put(_tenant(tenant_id, merchant, "L-1"))  # re-registering is fine
    with pytest.raises(PosLocationTaken):
        store.put(_tenant(f"{tenant_id}-other", merchant, "L-1"))
    assert store.get(f"{tenant_id}-other") is None  # nothing of the refused registration was written


def test_moving_a_tenant_to_another_location_frees_the_old_one(table_name: str, tenant_id: str) -> None:
    merchant, store, links = f"M-{uuid.uuid4().hex[:8]}", TenantStore(table_name), PosLinks(table_name)
    store.put(_tenant(tenant_id, merchant, "L-1"))
    store.put(_tenant(tenant_id, merchant, "L-2"))
    assert links.tenants_for("square", merchant) == [PosLink("L-2", tenant_id)]
    store.put(_tenant(f"{tenant_id}-next", merchant, "L-1"))  # the freed location can be connected elsewhere
    assert len(links.tenants_for("square", merchant)) == 2


# ---- the sync record -------------------------------------------------------------------------------------------------


def _sync(order_id: str, version: int | None, at: datetime, status: str) -> PosOrderSync:
    return PosOrderSync(
        pos_order_id=order_id,
        wix_order_id="wix-1",
        position=PosPosition(version=version, updated_at=at),
        wix_fulfillment_id="ful-1",
        wix_status=status,
    )


@pytest.mark.parametrize("versioned", [True, False], ids=["api-order", "pos-app-order"])
def test_the_sync_record_is_written_forward_only(table_name: str, tenant_id: str, versioned: bool) -> None:
    store = OrderSyncStore(table_name)
    v = (lambda n: n) if versioned else (lambda n: None)
    # Given Ready (position 3) recorded
    assert store.record(tenant_id, _sync("POS-1", v(3), T0 + timedelta(seconds=3), "Ready"))
    # When Accepted (position 2) tries to overwrite it, and the same position is replayed
    older = store.record(tenant_id, _sync("POS-1", v(2), T0 + timedelta(seconds=2), "Accepted"))
    replay = store.record(tenant_id, _sync("POS-1", v(3), T0 + timedelta(seconds=3), "Ready"))
    # Then the older one is refused, the replay accepted, and Ready stays
    assert (older, replay) == (False, True)
    stored = store.get(tenant_id, "POS-1")
    assert stored is not None and stored.wix_status == "Ready" and stored.position.version == v(3)


def test_stale_updates_are_counted_and_the_counter_survives_later_records(table_name: str, tenant_id: str) -> None:
    store = OrderSyncStore(table_name)
    store.record(tenant_id, _sync("POS-2", 2, T0, "Accepted"))
    store.count_stale(tenant_id, "POS-2")
    store.count_stale(tenant_id, "POS-2")
    store.record(tenant_id, _sync("POS-2", 3, T0, "Ready"))
    stored = store.get(tenant_id, "POS-2")
    assert stored is not None and stored.stale_dropped == 2 and stored.wix_status == "Ready"


def test_known_reads_records_and_skips_in_batches(table_name: str, tenant_id: str) -> None:
    store = OrderSyncStore(table_name)
    store.record(tenant_id, _sync("POS-A", 1, T0, "Pending"))
    store.record_skip(tenant_id, "POS-B", "canceled on the POS before it was imported")
    known = store.known(tenant_id, ["POS-A", "POS-B", "POS-C", *(f"POS-X{i}" for i in range(150))])
    assert set(known) == {"POS-A", "POS-B"}
    assert known["POS-A"].position is not None and known["POS-B"].skipped
    assert store.skip_reason(tenant_id, "POS-B") == "canceled on the POS before it was imported"


def test_a_tenants_records_are_invisible_to_another(table_name: str, tenant_id: str) -> None:
    store = OrderSyncStore(table_name)
    store.record(tenant_id, _sync("POS-ISO", 1, T0, "Pending"))
    assert store.get(f"{tenant_id}-b", "POS-ISO") is None
    assert store.known(f"{tenant_id}-b", ["POS-ISO"]) == {}


# ---- the catalog mapping contract (written by the catalog publish) ---------------------------------------------------


def test_the_catalog_lookup_reads_the_agreed_item_shape(table_name: str, tenant_id: str) -> None:
    # Given catalog mapping items as the catalog publish writes them
    table: Any = boto3.resource("dynamodb").Table(table_name)
    for variation, variant in (("VAR-1", None), ("VAR-2", "wix-variant-2")):
        item = {
            "PK": f"TENANT#{tenant_id}",
            "SK": f"CATALOG#POS#VARIANT#{variation}",
            "wix_id": variant or "wix-item-1",
            "wix_item_id": "wix-item-1",
            "wix_menu_id": "wix-menu-1",
            "wix_section_id": "wix-section-1",
            "revision": "3",
            "content_hash": "abc",
        }
        table.put_item(Item=item | ({"wix_variant_id": variant} if variant else {}))
    # When variations are looked up, one of them unmapped
    found = CatalogLookup(table_name).variations(tenant_id, ["VAR-1", "VAR-2", "VAR-NONE"])
    # Then the mapped ones come back with item, menu, section (and variant)
    assert set(found) == {"VAR-1", "VAR-2"}
    assert (found["VAR-1"].wix_item_id, found["VAR-1"].wix_menu_id, found["VAR-1"].wix_section_id) == (
        "wix-item-1",
        "wix-menu-1",
        "wix-section-1",
    )
    assert found["VAR-2"].wix_variant_id == "wix-variant-2"
    assert CatalogLookup(table_name).variations(f"{tenant_id}-b", ["VAR-1"]) == {}


def _variation(pos_id: str, item: str, variant: str | None) -> CatalogMapping:
    return CatalogMapping(
        pos_kind="VARIANT",
        pos_id=pos_id,
        wix_id=variant or item,
        wix_kind="variant" if variant else "item",
        content_hash="h",
        wix_entities=(f"variant/{variant}",) if variant else (),
        wix_item_id=item,
        wix_menu_id="wix-menu-1",
        wix_section_id="wix-section-1",
        wix_variant_id=variant,
    )


def test_flow_1_reads_the_pos_ids_of_a_wix_order_from_what_the_publish_writes(table_name: str, tenant_id: str) -> None:
    # Given a published catalog mapping: a one-size item, a two-size item and a modifier
    mappings = CatalogMappings(table_name)
    modifier = CatalogMapping(
        pos_kind="MODIFIER", pos_id="MOD-1", wix_id="wix-mod-1", wix_kind="modifier", content_hash="h",
        wix_entities=("modifier/wix-mod-1",),
    )  # fmt: skip
    mappings.replace(
        tenant_id,
        [_variation("VAR-SOUP", "wix-soup", None), _variation("VAR-L", "wix-pizza", "wix-l"), modifier],
    )
    sold = [WixSoldAs("wix-soup"), WixSoldAs("wix-pizza", "wix-l"), WixSoldAs("wix-pizza"), WixSoldAs("wix-x")]
    # When Flow 1 asks for an order's items, sizes and modifiers (one of each unknown)
    found = CatalogLookup(table_name).pos_catalog_ids(tenant_id, sold, ["wix-mod-1", "wix-mod-x"])
    # Then the mapped ones come back by what the Wix line names, the pizza only with its size
    assert found.variations == {WixSoldAs("wix-soup"): "VAR-SOUP", WixSoldAs("wix-pizza", "wix-l"): "VAR-L"}
    assert found.modifiers == {"wix-mod-1": "MOD-1"}
    # And another tenant sees none of it
    other = CatalogLookup(table_name).pos_catalog_ids(f"{tenant_id}-b", sold, ["wix-mod-1"])
    assert (other.variations, other.modifiers) == ({}, {})
    # When the sync removes the large size, Then an order for it no longer finds it
    mappings.remove(tenant_id, [_variation("VAR-L", "wix-pizza", "wix-l")])
    assert CatalogLookup(table_name).pos_catalog_ids(tenant_id, sold, []).variations == {
        WixSoldAs("wix-soup"): "VAR-SOUP"
    }


# ---- reconciliation state --------------------------------------------------------------------------------------------


def test_cursors_only_move_forward(table_name: str, tenant_id: str) -> None:
    state = ReconcileState(table_name)
    assert state.cursors(tenant_id) == Cursors()
    assert state.advance(tenant_id, Cursors("2026-03-01T12:00:00.000Z", "2026-03-01T12:00:00.000Z"))
    assert not state.advance(tenant_id, Cursors("2026-03-01T11:00:00.000Z", "2026-03-01T13:00:00.000Z"))
    stored = state.cursors(tenant_id)
    assert (stored.wix_since, stored.pos_since) == ("2026-03-01T12:00:00.000Z", "2026-03-01T12:00:00.000Z")


def test_site_ids_are_cached_until_they_expire(table_name: str, tenant_id: str) -> None:
    state = ReconcileState(table_name)
    state.remember_site_ids(tenant_id, SiteIds("loc", "op"), expires_at=1000)
    assert state.site_ids(tenant_id, now=999) == SiteIds("loc", "op")
    assert state.site_ids(tenant_id, now=1000) is None
