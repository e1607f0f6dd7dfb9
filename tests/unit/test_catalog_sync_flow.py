"""Flow 5, the incremental catalog sync (posbridge/flows/catalog_sync.py), over in-memory fakes after an import over
the same fakes: a POS change written in place, Wix's per-entity 409 re-read and the tenant's conflict policy
(catalog_system_of_record), and a lost reply to a create swept on the next run."""

from __future__ import annotations

import pytest

from posbridge.domain.catalog import CatalogChanges, Item, Section, Variation
from posbridge.domain.tenant import TenantSettings
from posbridge.errors import TransientError
from posbridge.flows.catalog_sync import sync_catalog
from tests.unit.catalog_fakes import STEPS, Fault, Shop, run_step
from tests.unit.pos_fakes import TENANT_ID, tenant
from tests.unit.test_catalog_publish_flow import DISHES, _catalog, _usd

LATER = "2026-01-01T11:00:00.000Z"


def _imported(system_of_record: str = "pos") -> Shop:
    shop = Shop(tenant(), _catalog())
    settings = TenantSettings(catalog_system_of_record=system_of_record)  # type: ignore[arg-type]
    shop.tenant = shop.tenant.model_copy(update={"settings": settings})
    deps = shop.deps()
    for name in STEPS:
        run_step(deps, name, "job-seed", TENANT_ID)
    return shop


def _pos_renames(shop: Shop, dish: str, name: str, cents: int = 900) -> None:
    """The POS catalog changes one dish (its name and price); the POS reports a change it cannot scope (whole)."""
    assert shop.source is not None
    catalog = shop.source.catalog
    item = catalog.items[dish]
    variation = Variation(pos_id=f"{dish}-v", name="Regular", price=_usd(cents))
    items = {**catalog.items, dish: item.model_copy(update={"name": name, "variations": (variation,)})}
    shop.source.catalog = catalog.model_copy(update={"items": items})
    shop.source.changes = CatalogChanges(count=1, latest=LATER, items=frozenset({dish}), whole=True)


def _wix_item(shop: Shop, pos_id: str) -> dict[str, object]:
    [mapping] = [m for m in shop.mappings.load(TENANT_ID) if (m.pos_kind, m.pos_id) == ("ITEM", pos_id)]
    return shop.wix.entities["item"][mapping.wix_id]


def test_a_pos_change_is_written_in_place_and_the_cursor_advances() -> None:
    # Given an imported catalog, and the POS renaming one dish
    shop = _imported()
    _pos_renames(shop, "Funghi", "Funghi porcini")
    # When the sync runs
    result = sync_catalog(shop.sync_ports(), TENANT_ID)
    # Then that dish is updated on Wix (same entity, no create), and the cursor moves to the change
    assert result.outcome == "synced" and result.changes.get("update:item") == 1
    assert not any(key.startswith("create:") for key in result.changes)
    assert _wix_item(shop, "Funghi")["name"] == "Funghi porcini"
    assert sorted(shop.wix.named("item")) == sorted(["Margherita", "Diavola", "Funghi porcini"])
    assert shop.cursors.cursors[TENANT_ID] == LATER


@pytest.mark.parametrize(("policy", "kept_name"), [("pos", "Funghi porcini"), ("wix", "Funghi (edited on Wix)")])
def test_an_entity_edited_on_wix_too_is_re_read_on_its_409_and_the_tenants_policy_decides(
    policy: str, kept_name: str
) -> None:
    # Given an imported catalog whose Funghi was renamed in the Wix dashboard (its revision moved), and on the POS
    shop = _imported(policy)
    edited = _wix_item(shop, "Funghi")
    edited["name"], edited["revision"] = "Funghi (edited on Wix)", str(int(str(edited["revision"])) + 1)
    _pos_renames(shop, "Funghi", "Funghi porcini")
    # When the sync writes the POS change with the revision it mapped (Wix: 409 for that item)
    result = sync_catalog(shop.sync_ports(), TENANT_ID)
    # Then the edit is reported, and the tenant's system of record wins: the POS overwrites, or the Wix edit stays
    assert [(e.kind, e.pos_id, e.kept) for e in result.wix_edits] == [("item", "Funghi", policy)]
    assert "name" in result.wix_edits[0].fields
    assert _wix_item(shop, "Funghi")["name"] == kept_name
    assert result.outcome == "synced" and shop.cursors.cursors[TENANT_ID] == LATER
    # And the mapping holds Wix's current revision, so the next sync writes without another 409
    [mapping] = [m for m in shop.mappings.load(TENANT_ID) if (m.pos_kind, m.pos_id) == ("ITEM", "Funghi")]
    assert mapping.revision == _wix_item(shop, "Funghi")["revision"]


def test_a_lost_reply_to_a_create_is_swept_on_the_next_run_and_the_dish_exists_once() -> None:
    # Given an imported catalog, and the POS adding a dish to the existing section
    shop = _imported()
    assert shop.source is not None
    catalog = shop.source.catalog
    calzone = Item(pos_id="Calzone", name="Calzone", variations=(Variation(pos_id="Calzone-v", name="Regular",
                   price=_usd(1100)),), modifier_group_ids=("g-size",))  # fmt: skip
    menu = catalog.menus[0]
    section = Section(pos_id="pizzas", name="Pizzas", item_ids=(*DISHES, "Calzone"))
    shop.source.catalog = catalog.model_copy(update={
        "items": {**catalog.items, "Calzone": calzone},
        "menus": (menu.model_copy(update={"sections": (section,)}),),
    })  # fmt: skip
    shop.source.changes = CatalogChanges(count=1, latest=LATER, items=frozenset({"Calzone"}), whole=True)
    # And Wix applying the item create but its answer lost
    shop.wix.faults.append(Fault("bulk_create", "item", lost=True))
    # When the sync fails on it, and runs again (the message comes back)
    with pytest.raises(TransientError):
        sync_catalog(shop.sync_ports(), TENANT_ID)
    assert shop.cursors.inflight.get(TENANT_ID) is not None and shop.cursors.cursors[TENANT_ID] != LATER
    result = sync_catalog(shop.sync_ports(), TENANT_ID)
    # Then the orphan of the lost create was swept first: the new dish exists once on Wix, and is mapped
    assert result.outcome == "synced", result
    assert shop.wix.named("item").count("Calzone") == 1
    assert _wix_item(shop, "Calzone")["name"] == "Calzone"
    assert shop.cursors.inflight.get(TENANT_ID) is None and shop.cursors.cursors[TENANT_ID] == LATER
