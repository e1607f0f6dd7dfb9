"""Play the people around a restaurant on the running devstack (`make up`): the customer on the Wix site, the cashier
and the kitchen on Square, the seller changing the menu or revoking the app. Each command acts through the sandboxes'
control APIs, as those people would act in Wix and Square; the bridge then does its work, and the restaurant's page
shows it.

    posbridge sandbox page                                a fresh link to the restaurant's page (signed by Wix)
    posbridge sandbox menu                                the dishes customers see on the Wix site
    posbridge sandbox order DISH [--size S] [--quantity N]   a customer orders online (paid, for pickup)
    posbridge sandbox ring-up DISH [--size S] [--quantity N] the cashier rings an order up on Square
    posbridge sandbox kitchen SQUARE_ORDER_ID --state S   the kitchen moves it along (RESERVED, PREPARED, COMPLETED)
    posbridge sandbox price DISH [--size S] --amount 17.50 | rename DISH NEW_NAME | sold-out DISH [--back]
    posbridge sandbox revoke                              the seller revokes the app in the Square Dashboard

The sandboxes' URLs come from .devstack/endpoints.json (written by `make up`); the restaurant is the demo one
(devstack/playground.py) unless --tenant/--merchant say otherwise.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import typer

from posbridge_cli.api import ENDPOINTS, answer, console

sandbox_app = typer.Typer(help="Play the customer, the cashier, the kitchen and the seller on the devstack.",
                          no_args_is_help=True)  # fmt: skip
DEMO_TENANT, DEMO_MERCHANT = "demo-restaurant-0001", "MLDEMO0001"  # devstack/playground.py
Tenant = typer.Option(DEMO_TENANT, "--tenant", help="the Wix site (app instance id)")
Merchant = typer.Option(DEMO_MERCHANT, "--merchant", help="the Square seller (merchant id)")
Size = typer.Option(None, "--size", help="the size (Square variation) when the dish has several")
Quantity = typer.Option(1, "--quantity", min=1, max=100)


def _endpoints() -> dict[str, Any]:
    path = Path.cwd() / ENDPOINTS
    if not path.exists():
        raise typer.BadParameter(f"{path} not found: start the devstack with `make up` first")
    endpoints: dict[str, Any] = json.loads(path.read_text())
    return endpoints


def _call(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.request(method, url, json=body, timeout=30)
    if response.status_code >= 400:
        console.print(f"[red]{method} {url}: HTTP {response.status_code}[/red] {answer(response).get('message', '')}")
        raise typer.Exit(1)
    return dict(answer(response))


def _wix(path: str, method: str = "GET", body: dict[str, Any] | None = None) -> dict[str, Any]:
    return _call(method, str(_endpoints()["wix"]) + path, body)


def _square(path: str, method: str = "GET", body: dict[str, Any] | None = None) -> dict[str, Any]:
    return _call(method, str(_endpoints()["pos"]) + path, body)


def _id(value: str) -> str:
    return quote(value, safe="")


# --- the Wix site -----------------------------------------------------------------------------------------------------


def _wix_dishes(tenant: str) -> list[dict[str, Any]]:
    """The visible menus' dishes: name, and each size with its Wix variant id and price."""
    state = _wix(f"/_sandbox/instances/{_id(tenant)}/state")
    variants = {v["id"]: v.get("name", "") for v in state.get("variants", [])}
    visible = [m for m in state.get("menus", []) if m.get("visible", True)]
    sections = {s["id"]: s for s in state.get("sections", [])}
    listed = {i for m in visible for s in m.get("sectionIds", []) for i in sections.get(s, {}).get("itemIds", [])}
    dishes = []
    for item in state.get("items", []):
        if item["id"] not in listed:
            continue
        sizes = [
            {"size": variants.get(v.get("variantId"), ""), "variantId": v.get("variantId"),
             "price": (v.get("priceInfo") or {}).get("price")}
            for v in (item.get("priceVariants") or {}).get("variants") or []
        ] or [{"size": "", "variantId": None, "price": (item.get("priceInfo") or {}).get("price")}]  # fmt: skip
        dishes.append({"id": item["id"], "name": item["name"], "sizes": sizes})
    return dishes


@sandbox_app.command("page")
def page(tenant: str = Tenant) -> None:
    """A fresh link to the restaurant's page, as the owner opens it from the Wix dashboard (signed by Wix)."""
    instance = _wix(f"/_sandbox/instances/{_id(tenant)}/dashboard", "POST", {})["instance"]
    console.print(f"{_endpoints()['gateway']}/restaurant/page?instance={instance}", soft_wrap=True)


@sandbox_app.command("menu")
def menu(tenant: str = Tenant) -> None:
    """The dishes customers see on the Wix site, with their sizes and prices."""
    for dish in _wix_dishes(tenant):
        sizes = ", ".join(f"{s['size'] or 'one size'} {s['price']}" for s in dish["sizes"])
        console.print(f"{dish['name']}: {sizes}")


@sandbox_app.command("order")
def order(
    dish: str, size: str | None = Size, quantity: int = Quantity, tenant: str = Tenant, merchant: str = Merchant
) -> None:
    """A customer orders a dish on the Wix site (paid online, for pickup); prints the Wix and Square orders."""
    found = next((d for d in _wix_dishes(tenant) if d["name"].lower() == dish.lower()), None)
    if found is None:
        raise typer.BadParameter(f"no dish {dish!r} on the Wix menu: see `posbridge sandbox menu`")
    chosen = next((s for s in found["sizes"] if size is None or s["size"].lower() == size.lower()), None)
    if chosen is None:
        raise typer.BadParameter(f"{found['name']} has no size {size!r}")
    line: dict[str, Any] = {"kind": "restaurant", "name": found["name"], "price": chosen["price"],
                            "quantity": quantity, "catalogItemId": found["id"]}  # fmt: skip
    if chosen["variantId"]:
        line["variantId"] = chosen["variantId"]
    body = {"lines": [line], "buyer": {"firstName": "Ada", "email": "ada@example.com"}, "approve": True,
            "fulfillment": {"type": "PICKUP"}}  # fmt: skip
    placed = _wix(f"/_sandbox/instances/{_id(tenant)}/checkout", "POST", body)["order"]
    console.print(f"Wix order {placed['id']} placed and approved: {quantity} x {found['name']} {chosen['size']}")
    for _ in range(40):  # the bridge sends it to Square within a few seconds
        orders = _square(f"/_sandbox/merchants/{_id(merchant)}/state")["orders"]
        sent = next((o for o in orders if o.get("reference_id") == placed["id"]), None)
        if sent:
            console.print(f"on Square as order {sent['id']}: move it along with "
                          f"`posbridge sandbox kitchen {sent['id']} --state RESERVED`")  # fmt: skip
            return
        time.sleep(0.25)
    console.print("not on Square yet: look at the restaurant's page (it may be parked, with the reason)")


# --- Square -----------------------------------------------------------------------------------------------------------


def _variation(merchant: str, dish: str, size: str | None) -> dict[str, Any]:
    objects = _square(f"/_sandbox/merchants/{_id(merchant)}/state")["catalog"]
    items = [o for o in objects if o["type"] == "ITEM" and o["item_data"]["name"].lower() == dish.lower()]
    if not items:
        raise typer.BadParameter(f"no item {dish!r} in the Square catalog")
    item = items[0]
    variations = [o for o in objects if o["type"] == "ITEM_VARIATION"
                  and o["item_variation_data"]["item_id"] == item["id"]]  # fmt: skip
    chosen = [v for v in variations if size is None or v["item_variation_data"]["name"].lower() == size.lower()]
    if not chosen:
        names = ", ".join(v["item_variation_data"]["name"] for v in variations)
        raise typer.BadParameter(f"{item['item_data']['name']} comes in: {names}")
    return {"item": item, "variation": chosen[0]}


@sandbox_app.command("ring-up")
def ring_up(dish: str, size: str | None = Size, quantity: int = Quantity, merchant: str = Merchant) -> None:
    """The cashier rings an order up on Square (for pickup); the bridge imports it into Wix."""
    variation = _variation(merchant, dish, size)["variation"]
    order = {
        "line_items": [{"catalog_object_id": variation["id"], "quantity": str(quantity)}],
        "fulfillments": [{"type": "PICKUP", "state": "PROPOSED",
                          "pickup_details": {"recipient": {"display_name": "Walk-in"}, "schedule_type": "ASAP"}}],
    }  # fmt: skip
    rung = _square(f"/_sandbox/merchants/{_id(merchant)}/register-order", "POST", {"order": order})["order"]
    console.print(f"Square order {rung['id']} rung up; move it along with "
                  f"`posbridge sandbox kitchen {rung['id']} --state RESERVED`")  # fmt: skip


@sandbox_app.command("kitchen")
def kitchen(
    order_id: str,
    state: str = typer.Option(..., "--state", help="RESERVED (accepted), PREPARED (ready), COMPLETED (picked up)"),
    merchant: str = Merchant,
) -> None:
    """The kitchen moves a Square order's fulfillment along; the bridge moves the Wix order with it."""
    moved = _square(f"/_sandbox/merchants/{_id(merchant)}/orders/{_id(order_id)}/fulfillment-state", "POST",
                    {"state": state.upper()})["order"]  # fmt: skip
    console.print(f"Square order {moved['id']}: {moved['fulfillments'][0]['state']} ({moved['state']})")


@sandbox_app.command("price")
def price(
    dish: str,
    amount: str = typer.Option(..., "--amount", help="the new price, e.g. 17.50"),
    size: str | None = Size,
    merchant: str = Merchant,
) -> None:
    """The seller changes a dish's price on Square; the bridge updates the Wix menu."""
    try:
        cents = Decimal(amount) * 100
    except InvalidOperation:
        raise typer.BadParameter("--amount must be a price like 17.50") from None
    if cents != cents.to_integral_value() or cents < 0:
        raise typer.BadParameter("--amount must be a price like 17.50")
    variation = _variation(merchant, dish, size)["variation"]
    _square(f"/_sandbox/merchants/{_id(merchant)}/catalog/price", "POST",
            {"variationId": variation["id"], "amount": int(cents)})  # fmt: skip
    console.print(f"{dish} {variation['item_variation_data']['name']} now costs {amount} on Square")


@sandbox_app.command("rename")
def rename(dish: str, new_name: str, merchant: str = Merchant) -> None:
    """The seller renames a dish on Square; the bridge renames it on the Wix menu."""
    item = _variation(merchant, dish, None)["item"]
    _square(f"/_sandbox/merchants/{_id(merchant)}/catalog/rename", "POST", {"objectId": item["id"], "name": new_name})
    console.print(f"{dish} is now {new_name!r} on Square")


@sandbox_app.command("sold-out")
def sold_out(
    dish: str,
    size: str | None = Size,
    back: bool = typer.Option(False, "--back", help="sell it again"),
    merchant: str = Merchant,
) -> None:
    """The seller marks a dish sold out (or back) at the location; the bridge updates the Wix menu."""
    variation = _variation(merchant, dish, size)["variation"]
    _square(f"/_sandbox/merchants/{_id(merchant)}/catalog/sold-out", "POST",
            {"variationId": variation["id"], "soldOut": not back})  # fmt: skip
    console.print(f"{dish} {variation['item_variation_data']['name']}: {'back on sale' if back else 'sold out'}")


@sandbox_app.command("revoke")
def revoke(
    merchant: str = Merchant,
    application_id: str = typer.Option("sandbox-sq0idb-devstack", "--application-id", help="the Square application"),
) -> None:
    """The seller revokes the app in the Square Dashboard: Square tells the bridge, which pauses the restaurant."""
    _square("/_sandbox/oauth/revoke", "POST", {"applicationId": application_id, "merchantId": merchant})
    console.print("revoked: the restaurant's page shows it, and offers to reconnect")
