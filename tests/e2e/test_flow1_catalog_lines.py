"""Flow 1 itemized from the POS catalog, over HTTP through the devstack: a dish imported from Square (Flow 4) and
ordered on Wix in a size with a modifier reaches Square as its ITEM_VARIATION and MODIFIER, at the price Wix charged."""

from __future__ import annotations

from typing import Any

from devstack.app import Devstack
from posbridge.store.catalog_mappings import CatalogMappings
from tests.catalog_support import Restaurant, import_catalog, make_deps, wait_for


def _variation(objects: list[dict[str, Any]], item: str, size: str) -> dict[str, Any]:
    """The seeded item's variation (Square nests an item's variations in the item)."""
    found = next(o for o in objects if o["type"] == "ITEM" and o["item_data"]["name"] == item)
    return next(v for v in found["item_data"]["variations"] if v["item_variation_data"]["name"] == size)


def _modifier(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The seeded modifier (nested in its modifier list)."""
    lists = [o for o in objects if o["type"] == "MODIFIER_LIST"]
    return next(m for ml in lists for m in ml["modifier_list_data"]["modifiers"] if m["modifier_data"]["name"] == name)


def _pos_orders(restaurant: Restaurant, wix_order_id: str) -> list[dict[str, Any]]:
    state = restaurant.http.get(f"{restaurant.devstack.pos_url}/_sandbox/merchants/{restaurant.merchant_id}/state")
    return [o for o in state.json()["orders"] if o.get("reference_id") == wix_order_id]


def _mapping(restaurant: Restaurant, wix_order_id: str) -> dict[str, Any] | None:
    url = f"{restaurant.devstack.gateway_url}/admin/tenants/{restaurant.instance_id}/orders/{wix_order_id}"
    response = restaurant.http.get(url)
    return dict(response.json()) if response.status_code == 200 else None


def test_an_imported_dish_reaches_square_as_its_variation_and_modifier_at_the_price_wix_charged(
    devstack: Devstack,
) -> None:
    # Given the sample restaurant on Square, imported into Wix (Flow 4)
    restaurant = Restaurant.connect(devstack, seed=False)
    objects = restaurant.seed()
    deps = make_deps(devstack)
    import_catalog(deps, restaurant.instance_id)
    large = _variation(objects, "Margherita Pizza", "Large")
    mushrooms = _modifier(objects, "Mushrooms")
    mapped = {(m.pos_kind, m.pos_id): m for m in deps.mappings.load(restaurant.instance_id)}
    assert isinstance(deps.mappings, CatalogMappings)
    pizza_large = mapped[("VARIANT", large["id"])]
    wix_mushrooms = mapped[("MODIFIER", mushrooms["id"])].wix_id
    # And the seller raised the large pizza to 17.00 on the POS since (Wix still sells it at 16.00)
    restaurant.set_price(large["id"], 1700)
    # When a customer orders two large Margheritas with mushrooms, and a dish Wix has that the POS catalog has not
    checkout = {
        "lines": [
            {
                "kind": "restaurant",
                "name": "Margherita Pizza",
                "price": "16.00",
                "quantity": 2,
                "catalogItemId": pizza_large.wix_item_id,
                "variantId": pizza_large.wix_variant_id,
                "modifiers": [{"name": "Mushrooms", "price": "1.50", "id": wix_mushrooms}],
            },
            {"kind": "restaurant", "name": "Chef's special", "price": "9.00", "quantity": 1},
        ],
        "buyer": {"firstName": "Grace", "lastName": "Test", "email": "grace@example.com"},
        "fulfillment": {"type": "PICKUP"},
    }
    url = f"{devstack.wix_url}/_sandbox/instances/{restaurant.instance_id}/checkout"
    placed = restaurant.http.post(url, json=checkout).raise_for_status().json()["order"]
    pizza_line, special_line = (line["id"] for line in placed["lineItems"])
    mapping = wait_for(lambda: _mapping(restaurant, placed["id"]))
    # Then Square's order sells the pizza as its Large variation with the Mushrooms modifier, named from the catalog
    [pos] = _pos_orders(restaurant, placed["id"])
    lines = {line["uid"]: line for line in pos["line_items"]}
    pizza = lines[pizza_line]
    assert pizza["catalog_object_id"] == large["id"]
    assert (pizza["name"], pizza["variation_name"], pizza["quantity"]) == ("Margherita Pizza", "Large", "2")
    [modifier] = pizza["modifiers"]
    assert (modifier["catalog_object_id"], modifier["name"]) == (mushrooms["id"], "Mushrooms")
    # And at the prices Wix charged, not the catalog's new 17.00: 2 x (16.00 + 1.50)
    assert pizza["base_price_money"] == {"amount": 1600, "currency": "USD"}
    assert modifier["base_price_money"] == {"amount": 150, "currency": "USD"}
    assert pizza["total_money"] == {"amount": 3500, "currency": "USD"}
    # And the dish the catalog does not know went ad hoc, as before
    special = lines[special_line]
    assert "catalog_object_id" not in special and special["name"] == "Chef's special"
    assert special["base_price_money"] == {"amount": 900, "currency": "USD"}
    # And the order mapping says which line went how
    assert mapping["lineSources"] == {pizza_line: "catalog:mapped", special_line: "ad_hoc:not_mapped"}
