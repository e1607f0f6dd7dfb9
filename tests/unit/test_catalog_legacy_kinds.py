"""Upgrading a deployed stack to the neutral POS kinds (VARIANT, MODIFIER_GROUP): a mappings table the previous release
wrote (keys CATALOG#POS#ITEM_VARIATION#... and CATALOG#POS#MODIFIER_LIST#..., `pos_kind` ITEM_VARIATION or
MODIFIER_LIST) is read as it is by Flow 1 and 2's lookups and by the catalog sync, and what the sync and the next
import write leaves no legacy key behind and nothing doubled (store/catalog_mappings.py, "Legacy keys"). Over moto,
with the catalog flows over the in-memory fakes of tests/unit/catalog_fakes.py."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from posbridge.domain.catalog import (
    Catalog,
    CatalogChanges,
    Item,
    LayoutOptions,
    Menu,
    Modifier,
    ModifierGroup,
    PosKind,
    Section,
    Variation,
)
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.domain.order_catalog import WixSoldAs
from posbridge.flows.catalog_plan import build_plan
from posbridge.flows.catalog_sync import sync_catalog
from posbridge.store.catalog_lookup import CatalogLookup
from posbridge.store.catalog_mappings import CatalogMappings
from posbridge.store.table import TableStore
from tests.moto_tables import mappings_table
from tests.unit.catalog_fakes import STEPS, FakeSource, Shop, run_step
from tests.unit.pos_fakes import TENANT_ID, tenant
from tests.unit.test_catalog_publish_flow import _usd

TABLE = "posbridge-legacy-kinds"
PK = f"TENANT#{TENANT_ID}"
LATER = "2026-01-01T11:00:00.000Z"
# The previous release's names of the two kinds renamed (written out here, not taken from the code under test)
PREVIOUS_NAMES = {"VARIANT": "ITEM_VARIATION", "MODIFIER_GROUP": "MODIFIER_LIST"}
NEUTRAL_NAMES = {previous: neutral for neutral, previous in PREVIOUS_NAMES.items()}


@pytest.fixture
def table() -> Iterator[Any]:
    with mappings_table(TABLE):
        yield boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE)


def _items(table: Any) -> list[dict[str, Any]]:
    return list(table.query(KeyConditionExpression=Key("PK").eq(PK) & Key("SK").begins_with("CATALOG#"))["Items"])


def _legacy_items(table: Any) -> list[str]:
    """The keys of items in the previous release's format: a legacy kind in the key or in `pos_kind`."""
    return sorted(
        str(i["SK"])
        for i in _items(table)
        if any(f"#{old}#" in str(i["SK"]) for old in NEUTRAL_NAMES) or i.get("pos_kind") in NEUTRAL_NAMES
    )


def _entities(table: Any) -> list[tuple[str, str]]:
    """(neutral kind, POS id) of every POS-side item, as many times as it is stored."""
    found = []
    for item in _items(table):
        if str(item["SK"]).startswith("CATALOG#POS#"):
            kind, _, pos_id = str(item["SK"]).removeprefix("CATALOG#POS#").partition("#")
            found.append((NEUTRAL_NAMES.get(kind, kind), pos_id))
    return found


# ---- what the previous release wrote, item by item ---------------------------------------------------------------


def _previous_release_pizza(table: Any) -> None:
    """The items the previous release's Publish (CatalogMappings.replace) wrote for a pizza in two sizes and a modifier
    group with one modifier: {PK, SK, **CatalogMapping.model_dump(exclude_none=True)} and the reverse keys
    {PK, SK, pos_id, pos_kind}, the kind in Square's names."""
    placed = {"wix_item_id": "wix-pizza", "wix_menu_id": "wix-menu", "wix_section_id": "wix-section"}
    for pos_id, wix_variant in (("VAR-S", "wix-s"), ("VAR-L", "wix-l")):
        table.put_item(Item={
            "PK": PK, "SK": f"CATALOG#POS#ITEM_VARIATION#{pos_id}", "pos_kind": "ITEM_VARIATION", "pos_id": pos_id,
            "wix_id": wix_variant, "wix_kind": "variant", "revision": "2", "content_hash": f"h-{pos_id}",
            "wix_entities": [f"variant/{wix_variant}"], **placed, "wix_variant_id": wix_variant,
            "variant_hash": f"vh-{pos_id}", "price_hash": f"ph-{pos_id}",
        })  # fmt: skip
        table.put_item(Item={"PK": PK, "SK": f"CATALOG#WIX#VARIANT#{wix_variant}", "pos_id": pos_id,
                             "pos_kind": "ITEM_VARIATION"})  # fmt: skip
        table.put_item(Item={"PK": PK, "SK": f"CATALOG#WIX#SOLD_AS#wix-pizza#{wix_variant}", "pos_id": pos_id,
                             "pos_kind": "ITEM_VARIATION"})  # fmt: skip
    for pos_id, wix_group in (("G-EXTRAS", "wix-extras"), ("G-EXTRAS~d1", "wix-extras-2")):
        table.put_item(Item={
            "PK": PK, "SK": f"CATALOG#POS#MODIFIER_LIST#{pos_id}", "pos_kind": "MODIFIER_LIST", "pos_id": pos_id,
            "wix_id": wix_group, "wix_kind": "modifierGroup", "revision": "1", "content_hash": f"h-{pos_id}",
            "wix_entities": [f"modifierGroup/{wix_group}"],
        })  # fmt: skip
        table.put_item(Item={"PK": PK, "SK": f"CATALOG#WIX#MODIFIER_GROUP#{wix_group}", "pos_id": pos_id,
                             "pos_kind": "MODIFIER_LIST"})  # fmt: skip
    table.put_item(Item={
        "PK": PK, "SK": "CATALOG#POS#MODIFIER#MOD-OLIVE", "pos_kind": "MODIFIER", "pos_id": "MOD-OLIVE",
        "wix_id": "wix-olive", "wix_kind": "modifier", "revision": "1", "content_hash": "h-olive",
        "wix_entities": ["modifier/wix-olive"],
    })  # fmt: skip
    table.put_item(Item={"PK": PK, "SK": "CATALOG#WIX#MODIFIER#wix-olive", "pos_id": "MOD-OLIVE",
                         "pos_kind": "MODIFIER"})  # fmt: skip


def test_flow_1_and_flow_2_read_the_mapping_the_previous_release_wrote(table: Any) -> None:
    # Given the mapping of a pizza in two sizes as the previous release wrote it (legacy keys and kinds)
    _previous_release_pizza(table)
    lookup = CatalogLookup(TABLE)
    # When Flow 1 resolves a Wix order line sold as the large pizza with olives
    found = lookup.pos_catalog_ids(TENANT_ID, [WixSoldAs("wix-pizza", "wix-l")], ["wix-olive"])
    # Then the line goes to the POS as the large size's variation, with its modifier
    assert found.variations == {WixSoldAs("wix-pizza", "wix-l"): "VAR-L"}
    assert found.modifiers == {"wix-olive": "MOD-OLIVE"}
    # And Flow 2 finds where that variation lives on Wix
    placement = lookup.variations(TENANT_ID, ["VAR-L", "VAR-NONE"])
    assert set(placement) == {"VAR-L"}
    assert (placement["VAR-L"].wix_item_id, placement["VAR-L"].wix_variant_id) == ("wix-pizza", "wix-l")


def test_the_sync_reads_legacy_entries_and_its_writes_leave_each_under_its_neutral_key_once(table: Any) -> None:
    # Given the mapping the previous release wrote
    _previous_release_pizza(table)
    mappings = CatalogMappings(TABLE)
    # When the sync reads the entries of what changed, and the groups derived from a changed group
    got = mappings.get(TENANT_ID, [("VARIANT", "VAR-L"), ("MODIFIER_GROUP", "G-EXTRAS"), ("VARIANT", "VAR-X")])
    derived = mappings.derived_groups(TENANT_ID, "G-EXTRAS")
    # Then it gets them with their neutral kinds, as the whole mapping does
    assert sorted((m.pos_kind, m.pos_id) for m in got) == [("MODIFIER_GROUP", "G-EXTRAS"), ("VARIANT", "VAR-L")]
    assert [(m.pos_kind, m.pos_id) for m in derived] == [("MODIFIER_GROUP", "G-EXTRAS~d1")]
    assert sorted((m.pos_kind, m.pos_id) for m in mappings.load(TENANT_ID)) == [
        ("MODIFIER", "MOD-OLIVE"),
        ("MODIFIER_GROUP", "G-EXTRAS"),
        ("MODIFIER_GROUP", "G-EXTRAS~d1"),
        ("VARIANT", "VAR-L"),
        ("VARIANT", "VAR-S"),
    ]
    # When the sync writes a new price for the large size, and removes the derived group
    large = next(m for m in got if m.pos_id == "VAR-L").model_copy(update={"price_hash": "ph-new", "revision": "3"})
    mappings.put(TENANT_ID, [large])
    mappings.remove(TENANT_ID, derived)
    # Then the large size is stored once, under its neutral key, and read back as written
    assert _entities(table).count(("VARIANT", "VAR-L")) == 1
    assert mappings.get(TENANT_ID, [("VARIANT", "VAR-L")]) == [large]
    assert not [sk for sk in _legacy_items(table) if "VAR-L" in sk or "wix-l" in sk]
    # And the derived group is gone under both keys; what was not written stays readable as it was
    assert ("MODIFIER_GROUP", "G-EXTRAS~d1") not in _entities(table)
    assert CatalogLookup(TABLE).pos_catalog_ids(TENANT_ID, [WixSoldAs("wix-pizza", "wix-s")], []).variations == {
        WixSoldAs("wix-pizza", "wix-s"): "VAR-S"
    }


@pytest.mark.parametrize("answer_order", ["as asked", "reversed"])
def test_an_entry_under_both_keys_is_read_from_its_neutral_key(
    table: Any, monkeypatch: pytest.MonkeyPatch, answer_order: str
) -> None:
    # Given a size and a group the sync wrote under their neutral keys, their legacy keys not yet deleted (put's second
    # batch); a legacy key sorts before its neutral one for one (ITEM_VARIATION < VARIANT), after it for the other,
    # and BatchGetItem answers in any order
    if answer_order == "reversed":
        asked = TableStore._batch_get_sks
        monkeypatch.setattr(TableStore, "_batch_get_sks", lambda self, pk, sks: asked(self, pk, sks)[::-1])
    _previous_release_pizza(table)
    mappings = CatalogMappings(TABLE)
    both: list[tuple[PosKind, str]] = [("VARIANT", "VAR-L"), ("MODIFIER_GROUP", "G-EXTRAS")]
    for old in mappings.get(TENANT_ID, both):
        section = {"wix_section_id": "wix-section-9"} if old.pos_kind == "VARIANT" else {}
        moved = old.model_copy(update={"revision": "9", **section})
        table.put_item(Item={"PK": PK, "SK": f"CATALOG#POS#{old.pos_kind}#{old.pos_id}", **moved.model_dump()})
    # When the sync and Flow 2 read them
    # Then each finds each once, as the neutral key holds it
    assert sorted((m.pos_id, m.revision) for m in mappings.get(TENANT_ID, both)) == [("G-EXTRAS", "9"), ("VAR-L", "9")]
    loaded = [(m.pos_id, m.revision) for m in mappings.load(TENANT_ID) if m.pos_id in ("VAR-L", "G-EXTRAS")]
    assert sorted(loaded) == [("G-EXTRAS", "9"), ("VAR-L", "9")]
    assert CatalogLookup(TABLE).variations(TENANT_ID, ["VAR-L"])["VAR-L"].wix_section_id == "wix-section-9"


# ---- the catalog flows over a table the previous release wrote ---------------------------------------------------


def _menu() -> Catalog:
    extras = ModifierGroup(pos_id="g-extras", name="Extras", modifiers=(Modifier(pos_id="m-olive", name="Olives"),))
    sizes = (
        Variation(pos_id="pizza-s", name="Small", price=_usd(900)),
        Variation(pos_id="pizza-l", name="Large", price=_usd(1400)),
    )
    items = {
        "pizza": Item(pos_id="pizza", name="Pizza", variations=sizes, modifier_group_ids=("g-extras",)),
        "soup": Item(pos_id="soup", name="Soup", variations=(Variation(pos_id="soup-v", name="Bowl", price=_usd(6)),)),
    }
    section = Section(pos_id="mains", name="Mains", item_ids=("pizza", "soup"))
    return Catalog(
        menus=(Menu(pos_id="dinner", name="Dinner", sections=(section,)),),
        items=items,
        modifier_groups={"g-extras": extras},
        currency="USD",
        as_of="2026-01-01T10:00:00.000Z",
    )


@dataclass
class _ChangesSource(FakeSource):
    """The POS answers a scoped change with just those items and the groups they use (Square: load_items)."""

    def load_items(self, item_ids: Iterable[str], group_ids: Iterable[str], options: LayoutOptions) -> Catalog:
        items = {k: v for k, v in self.catalog.items.items() if k in set(item_ids)}
        used = {g for item in items.values() for g in item.modifier_group_ids} | set(group_ids)
        groups = {k: v for k, v in self.catalog.modifier_groups.items() if k in used}
        return self.catalog.model_copy(update={"menus": (), "items": items, "modifier_groups": groups})


def _imported(table: Any) -> Shop:
    shop = Shop(tenant(), _menu(), mappings=CatalogMappings(TABLE))  # type: ignore[arg-type]
    shop.source = _ChangesSource(shop.catalog)
    deps = shop.deps()
    for name in STEPS:
        run_step(deps, name, "job-1", TENANT_ID)
    return shop


def _as_the_previous_release_wrote_it(table: Any) -> None:
    """Rewrite the tenant's mapping in the previous release's format: the same items, a VARIANT or MODIFIER_GROUP
    entry under its legacy key with its legacy `pos_kind`, and the legacy `pos_kind` on the reverse entries."""
    for item in _items(table):
        sk = str(item["SK"])
        kind, _, pos_id = sk.removeprefix("CATALOG#POS#").partition("#")
        if sk.startswith("CATALOG#POS#") and kind in PREVIOUS_NAMES:
            table.delete_item(Key={"PK": PK, "SK": sk})
            legacy = PREVIOUS_NAMES[kind]
            table.put_item(Item={**item, "SK": f"CATALOG#POS#{legacy}#{pos_id}", "pos_kind": legacy})
        elif sk.startswith("CATALOG#WIX#") and item.get("pos_kind") in PREVIOUS_NAMES:
            table.put_item(Item={**item, "pos_kind": PREVIOUS_NAMES[str(item["pos_kind"])]})


def test_the_sync_and_the_next_import_take_over_a_table_the_previous_release_wrote(table: Any) -> None:
    # Given a restaurant imported by the previous release: its mapping under the legacy keys and kinds
    shop = _imported(table)
    mapped = sorted(_entities(table))
    pizza = {m.pos_id: m for m in CatalogMappings(TABLE).load(TENANT_ID) if m.pos_kind == "VARIANT"}
    _as_the_previous_release_wrote_it(table)
    # (3 variations, 1 group, and 6 reverse keys: the sizes' 2 variants and 3 sold-as keys, the group's own)
    assert len(_legacy_items(table)) == 10
    # Then Flow 1 sends a Wix line sold as the large pizza to the POS as its large variation
    sold = WixSoldAs(str(pizza["pizza-l"].wix_item_id), pizza["pizza-l"].wix_variant_id)
    assert CatalogLookup(TABLE).pos_catalog_ids(TENANT_ID, [sold], []).variations == {sold: "pizza-l"}

    # When the POS changes the large pizza's price, and the sync reads just that change (the mapping's `get`)
    assert shop.source is not None
    large = Variation(pos_id="pizza-l", name="Large", price=_usd(1500))
    pizza_item = shop.catalog.items["pizza"]
    repriced = pizza_item.model_copy(update={"variations": (pizza_item.variations[0], large)})
    items = {**shop.catalog.items, "pizza": repriced}
    shop.source.catalog = shop.catalog.model_copy(update={"items": items})
    shop.source.changes = CatalogChanges(
        count=1, latest=LATER, items=frozenset({"pizza"}), variations=frozenset({"pizza-l"})
    )
    result = sync_catalog(shop.sync_ports(), TENANT_ID)
    # Then the sync knows every entity from the legacy entries: only the pizza is rewritten on Wix, nothing created
    assert (result.outcome, result.read, result.changes) == ("synced", "changes", {"update:item": 1})
    # And the large size's entry (its new price hash) is under its neutral key only; nothing is stored twice
    assert "CATALOG#POS#VARIANT#pizza-l" in {str(i["SK"]) for i in _items(table)}
    assert not [sk for sk in _legacy_items(table) if sk.endswith("#pizza-l")]
    assert sorted(_entities(table)) == mapped

    # When a later sync reads the whole catalog (the mapping's `load`), nothing having changed since
    shop.source.changes = CatalogChanges(count=1, latest=LATER, whole=True)
    again = sync_catalog(shop.sync_ports(), TENANT_ID)
    # Then it finds nothing to write
    assert (again.outcome, again.changes) == ("synced", {})

    # When the restaurant imports its catalog again
    shop.catalog = shop.source.catalog
    deps = shop.deps()
    for name in STEPS:
        run_step(deps, name, "job-2", TENANT_ID)
    # Then no legacy key or kind is left, each entity is mapped once, and Flow 1 still resolves the large pizza
    assert _legacy_items(table) == []
    assert sorted(_entities(table)) == mapped
    pizza = {m.pos_id: m for m in CatalogMappings(TABLE).load(TENANT_ID) if m.pos_kind == "VARIANT"}
    sold = WixSoldAs(str(pizza["pizza-l"].wix_item_id), pizza["pizza-l"].wix_variant_id)
    assert CatalogLookup(TABLE).pos_catalog_ids(TENANT_ID, [sold], []).variations == {sold: "pizza-l"}


# ---- a catalog job in flight across the upgrade ------------------------------------------------------------------


def _as_the_previous_release_dumped_it(document: Any) -> Any:
    """A plan.json, issues.json or previous-mapping.json document with the previous release's kinds and hash keys."""
    if isinstance(document, list):
        return [_as_the_previous_release_dumped_it(d) for d in document]
    if not isinstance(document, dict):
        return document
    renamed: dict[str, Any] = {}
    for key, value in document.items():
        if key == "hashes":
            value = {_previous_hash_key(k): h for k, h in value.items()}
        elif key in ("pos_kind", "kind") and value in PREVIOUS_NAMES:
            value = PREVIOUS_NAMES[value]
        renamed[key] = _as_the_previous_release_dumped_it(value)
    return renamed


def _previous_hash_key(key: str) -> str:
    kind, _, pos_id = key.partition("#")
    previous = {"VARIANT_NAME": "VARIANT", **PREVIOUS_NAMES}.get(kind, kind)
    return f"{previous}#{pos_id}"


def test_a_plan_and_a_previous_mapping_the_previous_release_saved_read_as_todays() -> None:
    # Given a plan (issues included) and a mapping saved by a job the previous release started
    catalog = _menu()
    oversized = catalog.modifier_groups["g-extras"].model_copy(update={"name": "x" * 200})
    plan = build_plan(catalog.model_copy(update={"modifier_groups": {"g-extras": oversized}}))
    assert any(i.kind == "MODIFIER_GROUP" for i in plan.issues)  # the long name is reported on its group
    mapping = CatalogMapping(pos_kind="VARIANT", pos_id="pizza-l", wix_id="w", wix_kind="variant", content_hash="h",
                             wix_entities=("variant/w",), variant_hash="vh", price_hash="ph")  # fmt: skip
    saved_plan = _as_the_previous_release_dumped_it(plan.model_dump(mode="json"))
    saved_mapping = _as_the_previous_release_dumped_it([mapping.model_dump(mode="json")])
    assert "ITEM_VARIATION#pizza-l" in saved_plan["hashes"] and "VARIANT#pizza-l" in saved_plan["hashes"]
    # When the upgraded release's Publish and Rollback read them
    read_plan = type(plan).model_validate(saved_plan)
    read_mapping = [CatalogMapping.model_validate(m) for m in saved_mapping]
    # Then they are today's: every hash under today's key (the variant's name part apart from its whole hash)
    assert read_plan == plan
    assert read_mapping == [mapping]
