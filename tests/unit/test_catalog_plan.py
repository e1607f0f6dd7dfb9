"""CreateDraft's plan (posbridge/flows/catalog_plan.py): Wix limits respected, references resolved, nothing visible."""

from __future__ import annotations

from decimal import Decimal

from posbridge.domain.catalog import Catalog, Item, Menu, Modifier, ModifierGroup, Section, Variation
from posbridge.domain.money import Money
from posbridge.flows.catalog_plan import build_plan, resolve


def usd(cents: int) -> Money:
    return Money.from_minor_units(cents, "USD")


def dish(pos_id: str, *variations: Variation, groups: tuple[str, ...] = (), name: str | None = None) -> Item:
    return Item(pos_id=pos_id, name=name or pos_id, variations=variations, modifier_group_ids=groups)


def one(pos_id: str, cents: int = 1000, in_stock: bool = True) -> Variation:
    return Variation(pos_id=f"{pos_id}-v", name="Regular", price=usd(cents), in_stock=in_stock)


def catalog(items: list[Item], sections: list[Section], groups: list[ModifierGroup] = ()) -> Catalog:  # type: ignore[assignment]
    return Catalog(
        menus=(Menu(pos_id="menu", name="Dinner", sections=tuple(sections)),),
        items={i.pos_id: i for i in items},
        modifier_groups={g.pos_id: g for g in groups},
        currency="USD",
    )


def test_a_section_over_300_items_is_split_and_reported() -> None:
    # Given 301 dishes in one category
    items = [dish(f"d{n}", one(f"d{n}")) for n in range(301)]
    plan = build_plan(catalog(items, [Section(pos_id="big", name="Pizzas", item_ids=tuple(i.pos_id for i in items))]))
    # Then two sections of 300 and 1, both on the one menu, and an issue says so
    sections = plan.nodes["section"]
    assert [(s.body["name"], len(s.refs)) for s in sections] == [("Pizzas", 300), ("Pizzas (2)", 1)]
    assert [r.key for r in plan.nodes["menu"][0].refs] == [s.key for s in sections]
    assert [i.problem for i in plan.issues] == ["301 items: split into 2 sections of at most 300"]


def test_a_menu_over_100_sections_is_split() -> None:
    items = [dish(f"d{n}", one(f"d{n}")) for n in range(101)]
    sections = [Section(pos_id=f"s{n}", name=f"S{n}", item_ids=(f"d{n}",)) for n in range(101)]
    plan = build_plan(catalog(items, sections))
    assert [(m.body["name"], len(m.refs)) for m in plan.nodes["menu"]] == [("Dinner", 100), ("Dinner (2)", 1)]
    # And the variation of the 101st dish is placed on the second menu
    last = next(v for v in plan.variations if v.pos_id == "d100-v")
    assert last.menu_key == plan.nodes["menu"][1].key


def test_menus_are_created_hidden_and_the_rest_visible_only_through_them() -> None:
    plan = build_plan(catalog([dish("a", one("a"))], [Section(pos_id="s", name="S", item_ids=("a",))]))
    assert plan.nodes["menu"][0].body["visible"] is False
    assert plan.nodes["section"][0].body["visible"] is True and plan.nodes["item"][0].body["visible"] is True


def test_one_variation_is_priced_on_the_item_several_become_variants() -> None:
    single = dish("tea", one("tea", 250))
    sized = dish(
        "soup",
        Variation(pos_id="cup", name="Cup", price=usd(500)),
        Variation(pos_id="bowl", name="Bowl", price=usd(800), in_stock=False),
        Variation(pos_id="pot", name="Pot", price=usd(1200)),
    )
    plan = build_plan(catalog([single, sized], [Section(pos_id="s", name="S", item_ids=("tea", "soup"))]))
    items = {n.pos_id: n for n in plan.nodes["item"]}
    assert items["tea"].body["priceInfo"] == {"price": "2.50"} and not items["tea"].refs
    assert [v.pos_id for v in plan.nodes["variant"]] == ["cup", "bowl", "pot"]
    # The sold-out size is not offered (Wix has no stock per variant) while the others are
    offered = [(r.key, r.extra["priceInfo"]["price"]) for r in items["soup"].refs if r.field == "priceVariants"]
    assert offered == [("variant:cup", "5.00"), ("variant:pot", "12.00")]
    body, missing = resolve(items["soup"], {"variant:cup": "w-cup", "variant:pot": "w-pot"})
    assert body is not None and missing == []
    assert body["priceVariants"] == {
        "variants": [
            {"variantId": "w-cup", "priceInfo": {"price": "5.00"}},
            {"variantId": "w-pot", "priceInfo": {"price": "12.00"}},
        ]
    }


def test_a_sold_out_dish_is_out_of_stock() -> None:
    plan = build_plan(catalog([dish("t", one("t", in_stock=False))], [Section(pos_id="s", name="S", item_ids=("t",))]))
    assert plan.nodes["item"][0].body["orderSettings"] == {"inStock": False}


def test_modifier_groups_are_capped_at_25_per_item_and_rules_at_25_selections() -> None:
    groups = [
        ModifierGroup(
            pos_id=f"g{n}",
            name=f"G{n}",
            modifiers=tuple(Modifier(pos_id=f"g{n}-m{k}", name=f"M{k}") for k in range(30)),
            max_selections=None,
        )
        for n in range(26)
    ]
    item = dish("pizza", one("pizza"), groups=tuple(g.pos_id for g in groups))
    plan = build_plan(catalog([item], [Section(pos_id="s", name="S", item_ids=("pizza",))], groups))
    refs = [r for r in plan.nodes["item"][0].refs if r.field == "modifierGroups"]
    assert len(refs) == 25
    assert plan.nodes["modifierGroup"][0].body["rule"] == {"required": False, "minSelections": 0, "maxSelections": 25}
    assert any("over 25 modifier groups" in i.problem for i in plan.issues)


def test_long_and_empty_names_are_fitted_and_reported() -> None:
    long_name = "x" * 250
    plan = build_plan(catalog([dish("a", one("a"), name=long_name)], [Section(pos_id="s", name="", item_ids=("a",))]))
    assert len(plan.nodes["item"][0].body["name"]) == 200
    assert plan.nodes["section"][0].body["name"] == "Unnamed section"
    assert len(plan.issues) == 2


def test_an_entity_whose_every_dependency_was_rejected_is_not_built() -> None:
    plan = build_plan(catalog([dish("a", one("a"))], [Section(pos_id="s", name="S", item_ids=("a",))]))
    body, missing = resolve(plan.nodes["section"][0], {})
    assert body is None and missing == ["item:a"]


def test_money_in_the_plan_is_a_decimal_string() -> None:
    assert usd(1999).decimal_string() == "19.99" and usd(5).amount == Decimal("0.05")
