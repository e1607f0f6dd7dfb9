"""Square catalog objects -> the canonical catalog (posbridge/pos/square/catalog.py), rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from posbridge.domain.catalog import DEFAULT_MENU_ID, content_hashes
from posbridge.pos.square.catalog import UNCATEGORIZED_ID, LayoutOptions, SquareCatalogSource, to_catalog

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


def modifier_list(lid: str, name: str, selection: str, modifiers: list[tuple[str, str, int]]) -> Any:
    return {
        "type": "MODIFIER_LIST",
        "id": lid,
        "modifier_list_data": {
            "name": name,
            "selection_type": selection,
            "modifiers": [
                {
                    "type": "MODIFIER",
                    "id": mid,
                    "modifier_data": {"name": n, "price_money": {"amount": c, "currency": "USD"}, "ordinal": k},
                }
                for k, (mid, n, c) in enumerate(modifiers)
            ],
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


def test_single_selection_lists_allow_one_choice_and_free_modifiers_have_no_charge() -> None:
    objects = [
        category("c", "Pizzas"),
        modifier_list("crust", "Crust", "SINGLE", [("thin", "Thin", 0), ("stuffed", "Stuffed", 250)]),
        modifier_list("top", "Toppings", "MULTIPLE", [("olives", "Olives", 100)]),
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
    assert {(i.kind, i.pos_id) for i in catalog.issues} == {("ITEM_VARIATION", "mf"), ("ITEM", "market")}


def test_content_hashes_change_only_with_what_is_sent() -> None:
    base = [category("c", "Mains"), item("s", "Steak", [("c", 0)], [variation("s-v", "Regular", 2500)])]
    repriced = [category("c", "Mains"), item("s", "Steak", [("c", 0)], [variation("s-v", "Regular", 2600)])]
    before, after = (content_hashes(to_catalog(o, LOCATION, now=NOW)) for o in (base, repriced))
    assert before[("ITEM_VARIATION", "s-v")] != after[("ITEM_VARIATION", "s-v")]
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
    """A Square client answering Search Catalog with fixed pages."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.bodies: list[dict[str, Any]] = []

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
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
    assert (changes.items, changes.variations) == ({"i1", "i2"}, {"v1"})
    assert (changes.modifier_groups, changes.modifiers) == ({"l1"}, {"m1"})
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
