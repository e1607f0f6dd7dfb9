"""Square catalog objects -> the canonical catalog (posbridge/pos/square/catalog_reader.py, catalog_mapper.py,
catalog_layout.py), rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from posbridge.domain.catalog import DEFAULT_MENU_ID, LayoutOptions, content_hashes
from posbridge.errors import PermanentError
from posbridge.flows.catalog_plan import build_plan
from posbridge.pos.square.catalog_layout import UNCATEGORIZED_ID
from posbridge.pos.square.catalog_mapper import to_catalog
from posbridge.pos.square.catalog_reader import INVENTORY_COUNTS_PATH, SquareCatalogSource

LOCATION = "L1"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def category(cid: str, name: str, kind: str = "REGULAR_CATEGORY", parent: str | None = None, ordinal: int = 0) -> Any:
    data: dict[str, Any] = {"name": name, "category_type": kind}
    if parent:
        data["parent_category"] = {"id": parent, "ordinal": ordinal}
    return {"type": "CATEGORY", "id": cid, "category_data": data}


def variation(vid: str, name: str, cents: int | None, currency: str = "USD", **extra: Any) -> Any:
    data: dict[str, Any] = {"name": name, "pricing_type": "FIXED_PRICING" if cents is not None else "VARIABLE_PRICING"}
    if cents is not None:
        data["price_money"] = {"amount": cents, "currency": currency}
    return {"type": "ITEM_VARIATION", "id": vid, "item_variation_data": {**data, **extra}}


def item(iid: str, name: str, categories: list[tuple[str, int]], variations: list[Any], **extra: Any) -> Any:
    data = {"name": name, "categories": [{"id": c, "ordinal": o} for c, o in categories], "variations": variations}
    return {"type": "ITEM", "id": iid, "item_data": {**data, **extra}}


def modifier_list(lid: str, name: str, modifiers: list[tuple[str, str, int]], **data: Any) -> Any:
    """A MODIFIER_LIST; `data` adds CatalogModifierList fields (min/max_selected_modifiers, selection_type...)."""
    return {
        "type": "MODIFIER_LIST",
        "id": lid,
        "modifier_list_data": {
            "name": name,
            "modifiers": [
                {
                    "type": "MODIFIER",
                    "id": mid,
                    "modifier_data": {"name": n, "price_money": {"amount": c, "currency": "USD"}, "ordinal": k},
                }
                for k, (mid, n, c) in enumerate(modifiers)
            ],
            **data,
        },
    }


def test_top_level_menu_categories_become_menus_and_their_children_sections() -> None:
    # Given a Dashboard-built menu (MENU_CATEGORY) with two sections out of order, and a regular reporting category
    objects = [
        category("dinner", "Dinner", "MENU_CATEGORY"),
        category("mains", "Mains", "MENU_CATEGORY", "dinner", 1),
        category("starters", "Starters", "MENU_CATEGORY", "dinner", 0),
        category("kitchen", "Kitchen"),
        item("soup", "Soup", [("starters", 0), ("kitchen", 0)], [variation("soup-v", "Bowl", 800)]),
        item("steak", "Steak", [("mains", 1), ("kitchen", 0)], [variation("steak-v", "Regular", 2500)]),
        item("fish", "Fish", [("mains", 0)], [variation("fish-v", "Regular", 2100)]),
        item("staff", "Staff meal", [("kitchen", 0)], [variation("staff-v", "Regular", 0)]),
    ]
    # When it is mapped
    catalog = to_catalog(objects, LOCATION, now=NOW)
    # Then one menu with its sections in the seller's order, items by their ordinal; regular categories are ignored
    [menu] = catalog.menus
    assert (menu.pos_id, menu.name) == ("dinner", "Dinner")
    assert [(s.name, s.item_ids) for s in menu.sections] == [("Starters", ("soup",)), ("Mains", ("fish", "steak"))]
    # And an item in no menu category is reported and left out
    assert "staff" not in catalog.items
    assert [(i.pos_id, i.skipped) for i in catalog.issues] == [("staff", True)]


def test_without_menu_categories_one_configured_menu_has_the_categories_as_sections() -> None:
    objects = [
        category("pizzas", "Pizzas"),
        item("margherita", "Margherita", [("pizzas", 0)], [variation("m-v", "Regular", 1200)]),
        item("water", "Water", [], [variation("w-v", "Bottle", 200)]),
    ]
    catalog = to_catalog(objects, LOCATION, LayoutOptions(menu_name="Online", uncategorized_name="More"), now=NOW)
    [menu] = catalog.menus
    assert (menu.pos_id, menu.name) == (DEFAULT_MENU_ID, "Online")
    assert [(s.pos_id, s.name, s.item_ids) for s in menu.sections] == [
        ("pizzas", "Pizzas", ("margherita",)),
        (UNCATEGORIZED_ID, "More", ("water",)),
    ]


def test_money_is_exact_and_a_location_override_wins() -> None:
    objects = [
        category("c", "Drinks"),
        item(
            "tea",
            "Tea",
            [("c", 0)],
            [
                variation("tea-s", "Small", 199),
                variation(
                    "tea-l",
                    "Large",
                    300,
                    location_overrides=[{"location_id": LOCATION, "price_money": {"amount": 333, "currency": "USD"}}],
                ),
            ],
        ),
        item("sake", "Sake", [("c", 1)], [variation("sake-v", "Glass", 900, currency="JPY")]),
    ]
    catalog = to_catalog(objects, LOCATION, now=NOW)
    tea = catalog.items["tea"]
    assert [v.price.amount for v in tea.variations] == [Decimal("1.99"), Decimal("3.33")]
    assert [v.price.decimal_string() for v in tea.variations] == ["1.99", "3.33"]
    assert catalog.items["sake"].variations[0].price.decimal_string() == "900"  # yen have no minor unit


def test_sold_out_at_the_location_is_out_of_stock_until_it_expires() -> None:
    sold_out = [{"location_id": LOCATION, "sold_out": True}]
    expired = [{"location_id": LOCATION, "sold_out": True, "sold_out_valid_until": "2025-12-31T00:00:00Z"}]
    elsewhere = [{"location_id": "OTHER", "sold_out": True}]
    objects = [
        category("c", "Desserts"),
        item("tiramisu", "Tiramisu", [("c", 0)], [variation("t-v", "Slice", 750, location_overrides=sold_out)]),
        item("cake", "Cake", [("c", 1)], [variation("k-v", "Slice", 700, location_overrides=expired)]),
        item("pie", "Pie", [("c", 2)], [variation("p-v", "Slice", 650, location_overrides=elsewhere)]),
    ]
    catalog = to_catalog(objects, LOCATION, now=NOW)
    assert {k: i.in_stock for k, i in catalog.items.items()} == {"tiramisu": False, "cake": True, "pie": True}


def test_a_list_with_a_maximum_of_one_allows_one_choice_and_free_modifiers_have_no_charge() -> None:
    objects = [
        category("c", "Pizzas"),
        modifier_list("crust", "Crust", [("thin", "Thin", 0), ("stuffed", "Stuffed", 250)], max_selected_modifiers=1),
        modifier_list("top", "Toppings", [("olives", "Olives", 100)]),
        item(
            "pizza",
            "Pizza",
            [("c", 0)],
            [variation("pz", "Regular", 1200)],
            modifier_list_info=[{"modifier_list_id": "crust"}, {"modifier_list_id": "top", "enabled": False}],
        ),
    ]
    catalog = to_catalog(objects, LOCATION, now=NOW)
    assert catalog.items["pizza"].modifier_group_ids == ("crust",)
    crust = catalog.modifier_groups["crust"]
    assert (crust.max_selections, crust.min_selections, crust.required) == (1, 0, False)
    assert [m.price.decimal_string() if m.price else None for m in crust.modifiers] == [None, "2.50"]
    assert set(catalog.modifier_groups) == {"crust"}  # only groups some imported item uses


def test_variable_prices_deleted_and_absent_objects_are_not_imported() -> None:
    objects = [
        category("c", "Specials"),
        item("market", "Market fish", [("c", 0)], [variation("mf", "Market price", None)]),
        {**item("gone", "Gone", [("c", 1)], [variation("g-v", "Regular", 100)]), "is_deleted": True},
        {
            **item("there", "Elsewhere", [("c", 2)], [variation("e-v", "Regular", 100)]),
            "present_at_all_locations": False,
            "present_at_location_ids": ["OTHER"],
        },
    ]
    catalog = to_catalog(objects, LOCATION, now=NOW)
    assert catalog.items == {} and catalog.menus == ()
    assert {(i.kind, i.pos_id) for i in catalog.issues} == {("VARIANT", "mf"), ("ITEM", "market")}


def test_content_hashes_change_only_with_what_is_sent() -> None:
    base = [category("c", "Mains"), item("s", "Steak", [("c", 0)], [variation("s-v", "Regular", 2500)])]
    repriced = [category("c", "Mains"), item("s", "Steak", [("c", 0)], [variation("s-v", "Regular", 2600)])]
    before, after = (content_hashes(to_catalog(o, LOCATION, now=NOW)) for o in (base, repriced))
    assert before[("VARIANT", "s-v")] != after[("VARIANT", "s-v")]
    assert before[("ITEM", "s")] == after[("ITEM", "s")]
    assert before[("CATEGORY", "c")] == after[("CATEGORY", "c")]


def test_an_items_place_in_its_section_does_not_depend_on_the_order_square_lists_items_in() -> None:
    # Given three dishes in one section, two of them at the same ordinal
    objects = [
        category("dinner", "Dinner", "MENU_CATEGORY"),
        category("mains", "Mains", "MENU_CATEGORY", "dinner", 0),
        item("c", "Cod", [("mains", 0)], [variation("c1", "Regular", 1000)]),
        item("a", "Ale pie", [("mains", 0)], [variation("a1", "Regular", 1000)]),
        item("b", "Bass", [("mains", -1)], [variation("b1", "Regular", 1000)]),
    ]
    # When Square lists them in another order (an edited object comes last in a search)
    first = to_catalog(objects, LOCATION, now=NOW)
    again = to_catalog([*objects[:2], *reversed(objects[2:])], LOCATION, now=NOW)
    # Then the section is the same: by ordinal, then by id
    assert first.menus[0].sections[0].item_ids == again.menus[0].sections[0].item_ids == ("b", "a", "c")


def test_an_items_placement_fingerprint_moves_with_its_categories_only() -> None:
    # Given a dish in Mains
    objects = [
        category("dinner", "Dinner", "MENU_CATEGORY"),
        category("mains", "Mains", "MENU_CATEGORY", "dinner", 0),
        category("sides", "Sides", "MENU_CATEGORY", "dinner", 1),
    ]
    dish = item("d", "Dish", [("mains", 0)], [variation("d1", "Regular", 1000)])
    placement = to_catalog([*objects, dish], LOCATION, now=NOW).items["d"].placement
    # When it is renamed, repriced, moved down its section or moved to another section
    renamed = item("d", "Renamed", [("mains", 0)], [variation("d1", "Regular", 1500)])
    down = item("d", "Dish", [("mains", 3)], [variation("d1", "Regular", 1000)])
    moved = item("d", "Dish", [("sides", 0)], [variation("d1", "Regular", 1000)])
    # Then only the moves change its fingerprint (and the fingerprint is not part of its content hash)
    assert to_catalog([*objects, renamed], LOCATION, now=NOW).items["d"].placement == placement
    assert to_catalog([*objects, down], LOCATION, now=NOW).items["d"].placement != placement
    assert to_catalog([*objects, moved], LOCATION, now=NOW).items["d"].placement != placement
    plain = to_catalog([*objects, dish], LOCATION, now=NOW)
    unplaced = plain.model_copy(update={"items": {"d": plain.items["d"].model_copy(update={"placement": ""})}})
    assert content_hashes(plain)[("ITEM", "d")] == content_hashes(unplaced)[("ITEM", "d")]


class _Search:
    """A Square client answering Search Catalog with fixed pages (and no inventory count)."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.bodies: list[dict[str, Any]] = []

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == INVENTORY_COUNTS_PATH:
            return {}
        assert path == "/v2/catalog/search"
        self.bodies.append(dict(body))
        return self.pages[len(self.bodies) - 1]


def test_changes_since_traces_variations_and_modifiers_to_their_item_and_list() -> None:
    # Given Square's answer to a search since the cursor: a repriced variation, a deleted modifier, a renamed item
    changed = [
        {"type": "ITEM_VARIATION", "id": "v1", "updated_at": "2026-01-01T10:00:02Z",
         "item_variation_data": {"item_id": "i1"}},
        {"type": "MODIFIER", "id": "m1", "is_deleted": True, "updated_at": "2026-01-01T10:00:05Z",
         "modifier_data": {"modifier_list_id": "l1"}},
        {"type": "ITEM", "id": "i2", "updated_at": "2026-01-01T10:00:01Z", "item_data": {"name": "x"}},
    ]  # fmt: skip
    client = _Search([{"objects": changed[:2], "cursor": "next"}, {"objects": changed[2:]}])
    # When the adapter asks what changed since the cursor
    changes = SquareCatalogSource(client, LOCATION).changes_since("2026-01-01T10:00:00Z")  # type: ignore[arg-type]
    # Then deleted objects were asked for, and each change is traced to what it belongs to
    assert client.bodies[0]["begin_time"] == "2026-01-01T10:00:00Z" and client.bodies[0]["include_deleted_objects"]
    assert (changes.items, changes.variations) == (frozenset({"i1", "i2"}), frozenset({"v1"}))
    assert (changes.modifier_groups, changes.modifiers) == (frozenset({"l1"}), frozenset({"m1"}))
    assert changes.latest == "2026-01-01T10:00:05Z" and changes.count == 3 and not changes.whole
    # And a change whose parent Square does not name can only be read against the whole catalog
    orphan = {"type": "ITEM_VARIATION", "id": "v9", "is_deleted": True, "updated_at": "2026-01-01T10:00:09Z"}
    assert SquareCatalogSource(_Search([{"objects": [orphan]}]), LOCATION).changes_since(None).whole  # type: ignore[arg-type]


def test_a_loaded_catalog_is_complete_as_of_the_first_pages_latest_time() -> None:
    # Given a catalog read in two pages, edited on Square between them (the second page's latest_time is later)
    dinner = category("dinner", "Dinner", "MENU_CATEGORY")
    mains = category("mains", "Mains", "MENU_CATEGORY", "dinner")
    dish = item("i1", "Soup", [("mains", 0)], [variation("v1", "Bowl", 500)])
    client = _Search([
        {"objects": [dinner, mains], "cursor": "next", "latest_time": "2026-01-01T10:00:00.000Z"},
        {"objects": [dish], "latest_time": "2026-01-01T10:00:07.000Z"},
    ])  # fmt: skip
    # When the adapter loads the catalog
    catalog = SquareCatalogSource(client, LOCATION).load_catalog(LayoutOptions())  # type: ignore[arg-type]
    # Then the snapshot is complete as of the first page's time (an edit made while paging is after it, so a sync
    # from there finds it), not the last page's
    assert list(catalog.items) == ["i1"] and len(client.bodies) == 2
    assert catalog.as_of == "2026-01-01T10:00:00.000Z"
    # And a POS that names no time leaves none (the first sync then reads everything)
    unnamed = SquareCatalogSource(_Search([{"objects": [dinner, mains, dish]}]), LOCATION)  # type: ignore[arg-type]
    assert unnamed.load_catalog(LayoutOptions()).as_of is None


# --- modifier rules, archived items, hidden modifiers (squareup 46.0.0.20260916 square/types) -------------------------

PIZZA_MODIFIERS = [("thin", "Thin", 0), ("stuffed", "Stuffed", 250), ("gf", "Gluten free", 300)]


def pizza(iid: str, ordinal: int, *infos: dict[str, Any]) -> Any:
    return item(iid, iid.title(), [("c", ordinal)], [variation(f"{iid}-v", "Regular", 1200)],
                modifier_list_info=list(infos))  # fmt: skip


def test_the_rule_is_min_and_max_selected_modifiers_not_the_deprecated_selection_type() -> None:
    # Given a list still marked SINGLE but whose min/max say "pick 1 to 2" (CatalogModifierList: selection_type is
    # deprecated), and a MULTIPLE list whose -1s mean "not set": no minimum, no maximum
    objects = [
        category("c", "Pizzas"),
        modifier_list("crust", "Crust", PIZZA_MODIFIERS, selection_type="SINGLE",
                      min_selected_modifiers=1, max_selected_modifiers=2),
        modifier_list("top", "Toppings", [("olives", "Olives", 100)], selection_type="MULTIPLE",
                      min_selected_modifiers=-1, max_selected_modifiers=-1),
        pizza("margherita", 0, {"modifier_list_id": "crust"}, {"modifier_list_id": "top"}),
    ]  # fmt: skip
    # When it is mapped
    groups = to_catalog(objects, LOCATION, now=NOW).modifier_groups
    # Then the Wix rule is the list's min and max
    crust, top = groups["crust"], groups["top"]
    assert (crust.required, crust.min_selections, crust.max_selections) == (True, 1, 2)
    assert (top.required, top.min_selections, top.max_selections) == (False, 0, None)


def test_an_items_override_of_the_rule_gets_a_group_of_its_own_shared_by_items_that_override_alike() -> None:
    # Given one crust list (at most 1) used by three pizzas: one as it is, two that require exactly one crust, and one
    # whose -1s keep the list's values
    objects = [
        category("c", "Pizzas"),
        modifier_list("crust", "Crust", PIZZA_MODIFIERS, max_selected_modifiers=1),
        pizza("margherita", 0, {"modifier_list_id": "crust"}),
        pizza("calzone", 1, {"modifier_list_id": "crust", "min_selected_modifiers": 1, "max_selected_modifiers": 1}),
        pizza("diavola", 2, {"modifier_list_id": "crust", "min_selected_modifiers": 1, "max_selected_modifiers": -1}),
        pizza("marinara", 3, {"modifier_list_id": "crust", "min_selected_modifiers": -1,
                              "max_selected_modifiers": -1}),
    ]  # fmt: skip
    # When it is mapped
    catalog = to_catalog(objects, LOCATION, now=NOW)
    # Then the pizzas that change nothing share the list's own group
    items = catalog.items
    assert items["margherita"].modifier_group_ids == items["marinara"].modifier_group_ids == ("crust",)
    # And the two that require one crust share one derived group (min 1 of the item, max 1 of the list)
    [derived] = set(items["calzone"].modifier_group_ids) | set(items["diavola"].modifier_group_ids)
    assert derived.startswith("crust~") and set(catalog.modifier_groups) == {"crust", derived}
    group = catalog.modifier_groups[derived]
    assert (group.name, group.required, group.min_selections, group.max_selections) == ("Crust", True, 1, 1)
    assert (catalog.modifier_groups["crust"].required, catalog.modifier_groups["crust"].max_selections) == (False, 1)
    # And the plan makes one Wix modifier per Square modifier, both groups pointing at them
    plan = build_plan(catalog)
    assert sorted(n.pos_id for n in plan.nodes["modifier"]) == ["gf", "stuffed", "thin"]
    assert [[r.key for r in g.refs] for g in plan.nodes["modifierGroup"]] == [
        ["modifier:thin", "modifier:stuffed", "modifier:gf"]
    ] * 2
    # And an item-level 0 lifts the list's maximum (CatalogItemModifierListInfo: 0 means no maximum)
    bianca_dish = pizza("bianca", 0, {"modifier_list_id": "crust", "max_selected_modifiers": 0})
    unlimited = to_catalog([*objects[:2], bianca_dish], LOCATION, now=NOW)
    [bianca] = unlimited.items["bianca"].modifier_group_ids
    assert unlimited.modifier_groups[bianca].max_selections is None


def test_hidden_online_modifiers_never_reach_wix_unless_the_item_shows_them_and_overrides_pre_select() -> None:
    # Given a list whose gluten-free crust is hidden online, one pizza that shows it and pre-selects thin, one that
    # hides stuffed, and one that takes the list as it is
    crust = modifier_list("crust", "Crust", PIZZA_MODIFIERS)
    crust["modifier_list_data"]["modifiers"][2]["modifier_data"]["hidden_online"] = True
    objects = [
        category("c", "Pizzas"),
        crust,
        pizza("margherita", 0, {"modifier_list_id": "crust"}),
        pizza("calzone", 1, {"modifier_list_id": "crust", "modifier_overrides": [
            {"modifier_id": "gf", "hidden_online_override": "NO"},
            {"modifier_id": "thin", "on_by_default_override": "YES"},
        ]}),
        pizza("diavola", 2, {"modifier_list_id": "crust", "modifier_overrides": [
            {"modifier_id": "stuffed", "hidden_online_override": "YES"},
            {"modifier_id": "thin", "on_by_default_override": "NOT_SET"},
        ]}),
    ]  # fmt: skip
    # When it is mapped
    catalog = to_catalog(objects, LOCATION, now=NOW)

    def offered(iid: str) -> list[tuple[str, bool]]:
        [group_id] = catalog.items[iid].modifier_group_ids
        return [(m.pos_id, m.pre_selected) for m in catalog.modifier_groups[group_id].modifiers]

    # Then each pizza offers what its overrides say
    assert offered("margherita") == [("thin", False), ("stuffed", False)]
    assert offered("calzone") == [("thin", True), ("stuffed", False), ("gf", False)]
    assert offered("diavola") == [("thin", False)]
    assert len(catalog.modifier_groups) == 3


def test_archived_items_never_reach_wix() -> None:
    # Given an archived dish next to a live one (CatalogItem.is_archived)
    objects = [
        category("c", "Mains"),
        item("old", "Old special", [("c", 0)], [variation("old-v", "Regular", 900)], is_archived=True),
        item("new", "New special", [("c", 1)], [variation("new-v", "Regular", 900)], is_archived=False),
    ]
    # When it is mapped
    catalog = to_catalog(objects, LOCATION, now=NOW)
    # Then only the live one is on the menu, and the archived one is reported as skipped
    assert list(catalog.items) == ["new"] and catalog.menus[0].sections[0].item_ids == ("new",)
    assert [(i.pos_id, i.skipped, i.problem) for i in catalog.issues] == [
        ("old", True, "archived on the POS: not sold online")
    ]


# --- stock from inventory counts --------------------------------------------------------------------------------------


def test_a_tracked_variation_counted_at_zero_is_out_of_stock_even_before_square_marks_it_sold_out() -> None:
    # Given four dishes: tracked with 0 left, tracked with 3 left, untracked with a stale 0, and tracked everywhere but
    # not at this location (the location's override wins)
    here_untracked = [{"location_id": LOCATION, "track_inventory": False}]
    objects = [
        category("c", "Desserts"),
        item("pie", "Pie", [("c", 0)], [variation("pie-v", "Slice", 500, track_inventory=True)]),
        item("cake", "Cake", [("c", 1)], [variation("cake-v", "Slice", 500, track_inventory=True)]),
        item("tart", "Tart", [("c", 2)], [variation("tart-v", "Slice", 500)]),
        item("flan", "Flan", [("c", 3)], [variation("flan-v", "Slice", 500, track_inventory=True,
                                                    location_overrides=here_untracked)]),
        item("fool", "Fool", [("c", 4)], [variation("fool-v", "Cup", 500, track_inventory=True)]),
    ]  # fmt: skip
    counts = {"pie-v": Decimal("0"), "cake-v": Decimal("3"), "tart-v": Decimal("0"), "flan-v": Decimal("-1")}
    # When it is mapped with the IN_STOCK counts (none for the fool: it never had stock counted)
    catalog = to_catalog(objects, LOCATION, now=NOW, counts=counts)
    # Then only the tracked dish with nothing left is out of stock
    assert {k: i.in_stock for k, i in catalog.items.items()} == {
        "pie": False, "cake": True, "tart": True, "flan": True, "fool": True
    }  # fmt: skip


class _Square:
    """A Square client answering by path: catalog search pages, batch retrieve, inventory counts pages."""

    def __init__(self, answers: dict[str, list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.bodies: list[tuple[str, dict[str, Any]]] = []

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append((path, dict(body)))
        return self.answers[path].pop(0)


def test_loading_the_catalog_reads_the_counts_of_its_tracked_variations_only() -> None:
    # Given a catalog with one tracked dish and one untracked, and Square's count of the tracked one: 0
    dinner = category("c", "Desserts")
    pie = item("pie", "Pie", [("c", 0)], [variation("pie-v", "Slice", 500, track_inventory=True)])
    tart = item("tart", "Tart", [("c", 1)], [variation("tart-v", "Slice", 500)])
    count = {"catalog_object_id": "pie-v", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
             "location_id": LOCATION, "quantity": "0", "calculated_at": "2026-01-01T10:00:00.000Z"}  # fmt: skip
    client = _Square({
        "/v2/catalog/search": [{"objects": [dinner, pie, tart], "latest_time": "2026-01-01T10:00:01.000Z"}],
        INVENTORY_COUNTS_PATH: [{"counts": [count]}],
    })  # fmt: skip
    # When the adapter loads the catalog
    catalog = SquareCatalogSource(client, LOCATION).load_catalog(LayoutOptions())  # type: ignore[arg-type]
    # Then it asked for the IN_STOCK count of the tracked variation at the location (BatchGetInventoryCountsRequest)
    assert client.bodies[1] == (INVENTORY_COUNTS_PATH, {
        "catalog_object_ids": ["pie-v"], "location_ids": [LOCATION], "states": ["IN_STOCK"]
    })  # fmt: skip
    # And the pie is out of stock
    assert {k: i.in_stock for k, i in catalog.items.items()} == {"pie": False, "tart": True}


def test_changes_since_include_counts_changed_since_the_cursor_traced_to_their_items() -> None:
    # Given no catalog change since the cursor but a count that changed after it (inventory.count.updated)
    count = {"catalog_object_id": "pie-v", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
             "location_id": LOCATION, "quantity": "0", "calculated_at": "2026-01-01T10:00:07.000Z"}  # fmt: skip
    variation_obj = {"type": "ITEM_VARIATION", "id": "pie-v", "item_variation_data": {"item_id": "pie"}}
    client = _Square({
        "/v2/catalog/search": [{}],
        INVENTORY_COUNTS_PATH: [{"counts": [count]}],
        "/v2/catalog/batch-retrieve": [{"objects": [variation_obj]}],
    })  # fmt: skip
    # When the adapter asks what changed since the cursor
    source = SquareCatalogSource(client, LOCATION)  # type: ignore[arg-type]
    changes = source.changes_since("2026-01-01T10:00:00.000Z")
    # Then the counts changed after the cursor were asked for, and the count is a change of its item
    assert client.bodies[1] == (INVENTORY_COUNTS_PATH, {
        "location_ids": [LOCATION], "states": ["IN_STOCK"], "updated_after": "2026-01-01T10:00:00.000Z"
    })  # fmt: skip
    assert (changes.items, changes.variations, changes.count) == (frozenset({"pie"}), frozenset({"pie-v"}), 1)
    assert changes.counted_items == {"pie"}  # its only change is the count
    # And the next cursor is the count's time
    assert changes.latest == "2026-01-01T10:00:07.000Z" and not changes.whole


def test_a_token_without_inventory_read_still_syncs_with_sold_out_alone() -> None:
    # Given a seller whose token lacks INVENTORY_READ: Square answers the count read 403 INSUFFICIENT_SCOPES
    class _NoInventory(_Square):
        def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
            if path == INVENTORY_COUNTS_PATH:
                raise PermanentError("square_insufficient_scopes", "Square answered 403 INSUFFICIENT_SCOPES")
            return super().post(path, body)

    pie = item("pie", "Pie", [("c", 0)], [variation("pie-v", "Slice", 500, track_inventory=True)])
    client = _NoInventory({"/v2/catalog/search": [{"objects": [category("c", "Desserts"), pie]}, {}]})
    source = SquareCatalogSource(client, LOCATION)  # type: ignore[arg-type]
    # When the catalog is loaded and the changes are asked for
    catalog = source.load_catalog(LayoutOptions())
    changes = source.changes_since("2026-01-01T10:00:00.000Z")
    # Then both work without counts (sold_out, Square's own signal, still decides)
    assert catalog.items["pie"].in_stock and changes.count == 0
    # And any other refusal is still an error
    other = _Square({INVENTORY_COUNTS_PATH: []})
    other.post = lambda path, body: (_ for _ in ()).throw(PermanentError("square_unauthorized", "401"))  # type: ignore[method-assign]
    with pytest.raises(PermanentError):
        SquareCatalogSource(other, LOCATION).changes_since("2026-01-01T10:00:00.000Z")  # type: ignore[arg-type]
