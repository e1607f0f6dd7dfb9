"""The Clover catalog reader against the Clover sandbox over real HTTP: categories, items, item groups (variants),
modifier groups with min/max, availability; and a catalog id read here is what an order line sends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devstack.clover_sandbox import CloverSandbox
from devstack.clover_sandbox.state import SandboxState
from devstack.httpserver import BackgroundServer
from posbridge.domain.money import Money
from posbridge.domain.order import LineItem, Modifier, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.pos.clover import CloverClient, CloverPos
from posbridge.pos.clover.catalog import UNCATEGORIZED_ID, CloverCatalogSource
from posbridge.pos.clover.tokens import CloverTokens, MemoryTokenStore
from tests.devstack.test_clover_sandbox import Clock


@dataclass(frozen=True)
class Layout:
    menu_name: str = "Menu"
    uncategorized_name: str = "Other"


@dataclass
class Env:
    control: httpx.Client
    merchant_id: str
    ids: dict[str, str]
    client: CloverClient
    clock: Clock


CATALOG: dict[str, Any] = {
    "categories": ["Mains", "Drinks"],
    "modifierGroups": [
        {"name": "Sauces", "minRequired": 1, "maxAllowed": 2,
         "modifiers": [{"name": "Ketchup", "price": 0}, {"name": "Aioli", "price": 50, "available": False}]},
        {"name": "Broken", "minRequired": 3, "maxAllowed": 1, "modifiers": [{"name": "Salt", "price": 0}]},
    ],
    "items": [
        {"name": "Burger", "price": 1200, "modifierGroups": [0], "category": "Mains"},
        {"name": "Staff meal", "price": 100, "hidden": True},
        {"name": "Fries", "price": 400, "available": False},
    ],
    "itemGroups": [
        {"name": "Soda", "category": "Drinks", "variants": [{"option": "Small", "price": 200},
                                                            {"option": "Large", "price": 300}]},
    ],
}  # fmt: skip


@pytest.fixture
def env() -> Iterator[Env]:
    clock = Clock()
    box = CloverSandbox(SandboxState(clock=clock))
    with BackgroundServer(box) as server:
        control = httpx.Client(base_url=server.url)
        made = control.post("/_sandbox/merchants", json={}).json()
        ids = control.post(f"/_sandbox/merchants/{made['merchantId']}/catalog", json=CATALOG).json()["ids"]
        store = MemoryTokenStore(CloverTokens.model_validate(made))
        client = CloverClient(server.url, made["merchantId"], made["clientId"], store, clock=clock)
        yield Env(control, made["merchantId"], ids, client, clock)
        control.close()


def test_the_inventory_reads_as_one_menu_of_sections_with_variants_rules_and_stock(env: Env) -> None:
    # When the catalog is read
    catalog = CloverCatalogSource(env.client, "USD").load_catalog(Layout())
    # Then there is one menu: a section per category in Clover's order, and "Other" for items in none
    (menu,) = catalog.menus
    burger, soda, fries = env.ids["item:Burger"], env.ids["itemGroup:Soda"], env.ids["item:Fries"]
    assert [(s.name, s.item_ids) for s in menu.sections] == [
        ("Mains", (burger,)), ("Drinks", (soda,)), ("Other", (fries,))]  # fmt: skip
    assert menu.sections[-1].pos_id == UNCATEGORIZED_ID
    # And the item group is one dish whose variants are its items, named by their options, with their own prices
    assert [(v.pos_id, v.name, v.price.amount) for v in catalog.items[soda].variations] == [
        (env.ids["item:Soda - Small"], "Small", Decimal("2.00")),
        (env.ids["item:Soda - Large"], "Large", Decimal("3.00")),
    ]
    # And an unavailable item is sold out; a hidden one is not imported, with an issue
    assert not catalog.items[fries].in_stock and env.ids["item:Staff meal"] not in catalog.items
    assert {(i.pos_id, i.skipped) for i in catalog.issues if i.kind == "ITEM"} == {(env.ids["item:Staff meal"], True)}
    # And the burger's modifier group keeps Clover's min/max; an unavailable modifier is out of stock
    (sauces_id,) = catalog.items[burger].modifier_group_ids
    sauces = catalog.modifier_groups[sauces_id]
    assert (sauces.required, sauces.min_selections, sauces.max_selections) == (True, 1, 2)
    assert [(m.name, m.price, m.in_stock) for m in sauces.modifiers] == [
        ("Ketchup", None, True), ("Aioli", Money(amount=Decimal("0.50"), currency="USD"), False)]  # fmt: skip
    # And a group asking for more than it allows comes without its rule, with an issue
    broken = catalog.modifier_groups[env.ids["modifierGroup:Broken"]]
    assert (broken.min_selections, broken.max_selections) == (0, None)
    assert any(i.kind == "MODIFIER_GROUP" and i.pos_id == broken.pos_id for i in catalog.issues)


def test_an_item_marked_unavailable_is_a_change_after_the_import(env: Env) -> None:
    source = CloverCatalogSource(env.client, "USD")
    as_of = source.load_catalog(Layout()).as_of
    # Given nothing changed since the import, Then there is nothing to sync
    assert source.changes_since(as_of).count == 0
    # When the merchant marks the burger unavailable a second later
    env.clock.now += 1
    burger = env.ids["item:Burger"]
    env.control.post(f"/_sandbox/merchants/{env.merchant_id}/items/{burger}/availability", json={"available": False})
    # Then the change names the burger (and asks for the whole catalog, Clover's other objects carry no change time)
    changes = source.changes_since(as_of)
    assert changes.items == {burger} and changes.whole and changes.latest and changes.latest > (as_of or "")


def test_a_catalog_line_read_here_orders_on_clover(env: Env) -> None:
    catalog = CloverCatalogSource(env.client, "USD").load_catalog(Layout())
    burger = catalog.items[env.ids["item:Burger"]]
    (sauces,) = burger.modifier_group_ids
    ketchup = catalog.modifier_groups[sauces].modifiers[0].pos_id
    usd = "USD"
    order = Order(id="w1", number="1", status="APPROVED", currency=usd, line_items=(
        LineItem(id="L1", name="Burger", quantity=1, unit_price=Money(amount=Decimal("12.00"), currency=usd),
                 modifiers=(Modifier(name="Ketchup"),)),))  # fmt: skip
    line = CatalogLine(variation_id=burger.variations[0].pos_id, modifier_ids=(ketchup,))
    # When Flow 1 sends the line as a catalog line, Then Clover takes the item and modifier ids
    made = CloverPos(env.client).create_order(order, None, "k", {"L1": line})
    assert made.total == Money(amount=Decimal("12.00"), currency=usd)
