"""Totals mismatches over generated orders: Wix-priced checkouts mapped to Square, Square's total + tip vs Wix's.

Each order is placed in the Wix sandbox's checkout (taxes inclusive or added, coupons, automatic discounts, fees, a
delivery fee, a tip), read by posbridge, mapped by `to_square_order` and priced by the Square sandbox's CalculateOrder
(in process: no HTTP, the arithmetic is what is measured). A fixed seed makes the run repeatable.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from devstack.square_sandbox import orders as square_orders
from devstack.square_sandbox.state import Merchant
from devstack.wix_sandbox import WixSandbox
from devstack.wix_sandbox import orders as wix_orders
from posbridge.domain.money import Money
from posbridge.pos.square.order_money import adjustment
from posbridge.pos.square.orders import to_square_order
from posbridge.wix.orders import restaurant_order

ORDERS = 1000
SEED = 12
RATES = ["0", "0.05", "0.07", "0.0725", "0.08875", "0.1", "0.19", "0.2", "0.255", "0.123456"]
DELIVERY = {"type": "DELIVERY", "address": {"addressLine": "1 Main St", "city": "New York", "country": "US"}}


def _cents(rng: random.Random) -> str:
    return f"{Decimal(rng.randint(1, 20_000)) / 100:.2f}"


def _discount(rng: random.Random, count: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"percentage": str(rng.randint(1, 100))} if rng.random() < 0.5 else {"amount": _cents(rng)}
    if rng.random() < 0.5:
        spec["lines"] = sorted(rng.sample(range(count), rng.randint(1, count)))
    return spec


def _checkout(rng: random.Random) -> dict[str, Any]:
    count = rng.randint(1, 6)
    lines = []
    for i in range(count):
        line: dict[str, Any] = {"kind": "restaurant", "name": f"Dish {i}", "price": _cents(rng),
                                "quantity": rng.randint(1, 12)}  # fmt: skip
        modifiers = [_cents(rng) for _ in range(rng.randint(0, 3))]
        if modifiers:
            line["modifiers"] = [{"name": f"Mod {j}", "price": p} for j, p in enumerate(modifiers)]
        if rng.random() < 0.5:
            line["taxRate"] = rng.choice(RATES)
        lines.append(line)
    body: dict[str, Any] = {
        "lines": lines,
        "buyer": {"email": "bench@example.com"},
        "tax": {"rate": rng.choice(RATES), "includedInPrices": rng.random() < 0.5, "shipping": rng.random() < 0.5},
        "fees": [
            {"name": f"Fee {i}", "amount": _cents(rng), "taxable": rng.random() < 0.5} for i in range(rng.randint(0, 2))
        ],
    }
    if rng.random() < 0.5:
        body["coupon"] = {"code": "SAVE", **_discount(rng, count)}
    if rng.random() < 0.5:
        body["automaticDiscount"] = {"name": "Happy hour", **_discount(rng, count)}
    if rng.random() < 0.5:
        body["fulfillment"] = {**DELIVERY, "fee": _cents(rng)}
    if rng.random() < 0.5:
        body["tip"] = _cents(rng)
    return body


def rows() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    box = WixSandbox("6f3c2b7e-0d1a-4c55-9a7e-1b2c3d4e5f60", "secret")
    inst = box.store.add_instance("bench-money")
    merchant = Merchant("MBENCHMONEY", "LBENCHMONEY", "token", "key", None)
    mismatches = adjusted = largest = 0
    for _ in range(ORDERS):
        wix, _events = wix_orders.checkout(inst, box.clock, _checkout(rng))
        order = restaurant_order(wix)
        assert order.money is not None
        body = to_square_order(order, merchant.location_id, None)
        square = square_orders.calculate(merchant, {"order": body})["order"]
        tip = order.money.tip.charged.minor_units() if order.money.tip else 0
        wix_total = Money(amount=Decimal(wix["priceSummary"]["total"]["amount"]), currency="USD").minor_units()
        mismatches += square["total_money"]["amount"] + tip != wix_total
        cents = adjustment(body).minor
        adjusted += cents != 0
        largest = max(largest, abs(cents))
    return [
        {
            "metric": f"totals mismatches, Square total + tip vs Wix ({ORDERS} generated orders; goal 0)",
            "value": mismatches,
            "unit": "",
            "ratio": None,
        },
        {
            "metric": f"orders needing a named rounding adjustment ({ORDERS} generated orders)",
            "value": adjusted,
            "unit": "",
            "ratio": None,
        },
        {
            "metric": f"largest rounding adjustment ({ORDERS} generated orders)",
            "value": largest,
            "unit": "¢",
            "ratio": None,
        },
    ]
