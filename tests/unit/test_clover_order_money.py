"""Flow 1's money on Clover: every Wix order the Wix sandbox prices, mapped to a Clover atomic order cart and priced
by the Clover sandbox's checkout (strict validation + Clover's documented arithmetic), totals Wix's total less the
tip, to the cent; any difference Clover's rounding leaves is a named adjustment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.clover_sandbox import orders as clover_orders
from devstack.clover_sandbox.ids import new_id
from devstack.clover_sandbox.state import Merchant, SandboxState
from devstack.wix_sandbox import WixSandbox
from devstack.wix_sandbox.state import Instance
from posbridge.domain.money import Money
from posbridge.domain.order import LineItem, Modifier, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.errors import PermanentError
from posbridge.pos.clover.cart import (
    ADJUSTMENT_NAME,
    MARKER_PREFIX,
    MerchantSetup,
    build_cart,
    reconcile,
    target_total,
)
from posbridge.wix.orders import restaurant_order
from tests.devstack.test_wix_sandbox_money import TAXED_DELIVERY, _checkout, _checkouts, _line

RATES = ["0.05", "0.07", "0.0725", "0.08875", "0.1", "0.19", "0.2", "0.255", "0.123456"]


@pytest.fixture
def box() -> WixSandbox:
    return WixSandbox("6f3c2b7e-0d1a-4c55-9a7e-1b2c3d4e5f60", "secret")


@pytest.fixture
def inst(box: WixSandbox) -> Instance:
    return box.store.add_instance("site-clover-money")


def _merchant(rates: list[str]) -> tuple[Merchant, MerchantSetup]:
    """A Clover merchant with these tax rates (percent x 100000), and what the adapter reads of it."""
    merchant = SandboxState().add_merchant("MCLOVERMONEY1")
    ids: dict[int, str] = {}
    for fraction in rates:
        rate = int(Decimal(fraction) * 10_000_000)
        rate_id = new_id()
        merchant.tax_rates[rate_id] = {"id": rate_id, "name": f"Tax {fraction}", "rate": rate, "isDefault": False}
        ids[rate] = rate_id
    return merchant, MerchantSetup(ids)


def _on_clover(
    order: Order, merchant: Merchant, setup: MerchantSetup, catalog: dict[str, CatalogLine] | None = None
) -> tuple[dict[str, Any], int, int]:
    """(the cart posbridge sends, its adjustment, the total Clover computes for it)."""
    cart, _ = build_cart(order, setup, "export-key", catalog)

    def preview(c: dict[str, Any]) -> int:
        return int(clover_orders.checkout(merchant, {"orderCart": c})["total"])

    adjustment = reconcile(cart, preview, target_total(order))
    return cart, adjustment, preview(cart)


def _unadjusted(order: Order, merchant: Merchant, setup: MerchantSetup) -> int:
    cart, _ = build_cart(order, setup, "export-key")
    return int(clover_orders.checkout(merchant, {"orderCart": cart})["total"])


def _cents(amount: str) -> int:
    return Money(amount=Decimal(amount), currency="USD").minor_units()


def _tip(wix: dict[str, Any]) -> int:
    money = restaurant_order(wix).money
    assert money is not None
    return money.tip.charged.minor_units() if money.tip else 0


def _adjusted(cart: dict[str, Any]) -> list[tuple[str, int]]:
    named = [("line", line["price"]) for line in cart["lineItems"] if line.get("name") == ADJUSTMENT_NAME]
    return named + [
        ("discount", d["amount"])
        for line in cart["lineItems"]
        for d in line.get("discounts", [])
        if d["name"] == ADJUSTMENT_NAME
    ]


def test_a_taxed_delivery_order_with_a_coupon_a_fee_and_a_tip_is_itemized(box: WixSandbox, inst: Instance) -> None:
    # Given the Wix sandbox's taxed delivery order: 3 pizzas + olives, a tea, 8.875% on top (delivery taxed), an
    # automatic 1.00 off the tea, a 10% coupon, a 4.99 delivery fee, a taxed 1.50 service fee and a 3.00 tip, and a
    # merchant whose tax rates include 8.875%
    wix = _checkout(box, inst, **TAXED_DELIVERY)
    merchant, setup = _merchant(["0.08875"])
    # When it is mapped and Clover's checkout prices it
    cart, adjustment, total = _on_clover(restaurant_order(wix), merchant, setup)
    lines = cart["lineItems"]
    # Then three pizzas are three Clover lines (Clover has no quantity), the olives folded into the price (an ad hoc
    # modifier cannot be a Clover modification) and named in the note
    pizzas = [line for line in lines if line.get("name") == "Pizza"]
    assert [p["price"] for p in pizzas] == [1199, 1199, 1199] and all(p["note"] == "+ Olives" for p in pizzas)
    # And the coupon's 3.60 share on the pizzas is split over the three units; the tea has its two discounts
    assert [d["amount"] for p in pizzas for d in p["discounts"] if d["name"] == "SAVE10"] == [-120, -120, -120]
    (tea,) = [line for line in lines if line.get("name") == "Tea"]
    assert sorted((d["name"], d["amount"]) for d in tea["discounts"]) == [("SAVE10", -15), ("Tea off", -100)]
    # And the fees are ad hoc lines under their Wix names, taxed at the merchant's 8.875% like the dishes; no tip
    rate_id = next(iter(setup.tax_rate_ids.values()))
    fees = {line["name"]: line for line in lines if line.get("name") in ("Delivery", "Service fee")}
    assert {n: (f["price"], f["taxRates"]) for n, f in fees.items()} == {
        "Delivery": (499, [{"id": rate_id}]),
        "Service fee": (150, [{"id": rate_id}]),
    }
    # And Clover's total plus the 3.00 tip is Wix's 46.77, any rounding gap under the one adjustment name
    assert total + 300 == _cents(wix["priceSummary"]["total"]["amount"]) == 4677
    assert total - adjustment == _unadjusted(restaurant_order(wix), merchant, setup)


def test_a_rate_the_merchant_lacks_goes_as_a_named_tax_line(box: WixSandbox, inst: Instance) -> None:
    # Given a 10% tax on a 20.00 dish and a merchant without a 10% rate
    wix = _checkout(box, inst, lines=[_line("Steak", "20.00")], tax={"rate": "0.1"})
    merchant, setup = _merchant(["0.08875"])
    # When it is mapped
    cart, adjustment, total = _on_clover(restaurant_order(wix), merchant, setup)
    # Then the dish goes untaxed and Wix's 2.00 tax is its own line, so Clover totals 22.00 with no adjustment
    assert [(line["name"], line["price"], line["taxRates"]) for line in cart["lineItems"]] == [
        ("Steak", 2000, []),
        ("Tax 10%", 200, []),
    ]
    assert total == 2200 and adjustment == 0


def test_clover_rounding_per_unit_over_wix_is_taken_off_by_the_named_adjustment(
    box: WixSandbox, inst: Instance
) -> None:
    # Given 3 x 0.05 at 10%: Wix rounds the line's 0.015 tax once (0.02, total 0.17); Clover, one line per unit,
    # rounds 0.005 three times half up (0.03, total 0.18)
    wix = _checkout(box, inst, lines=[_line("Mint", "0.05", 3)], tax={"rate": "0.1"})
    assert wix["priceSummary"]["total"]["amount"] == "0.17"
    merchant, setup = _merchant(["0.1"])
    # When it is mapped and reconciled
    cart, adjustment, total = _on_clover(restaurant_order(wix), merchant, setup)
    # Then Clover totals Wix's 0.17, and what made the difference is named "Wix rounding adjustment"
    assert total == 17 and adjustment == -1 and _adjusted(cart)


def test_a_catalog_line_names_its_item_and_modifiers_and_keeps_wix_prices() -> None:
    # Given a line the catalog mapping resolved: item ITEM0000000001, its first modifier mapped, the second not
    usd = "USD"
    order = Order(
        id="w1",
        number="7",
        status="APPROVED",
        currency=usd,
        line_items=(
            LineItem(
                id="L1",
                name="Burger",
                quantity=2,
                unit_price=Money(amount=Decimal("9.50"), currency=usd),
                modifiers=(
                    Modifier(name="Cheese", price=Money(amount=Decimal("1.00"), currency=usd)),
                    Modifier(name="Bacon", quantity=2, price=Money(amount=Decimal("0.75"), currency=usd)),
                ),
            ),
        ),
    )
    catalog = {"L1": CatalogLine(variation_id="ITEM000000001", modifier_ids=("MODI000000001", None))}
    # When it is mapped
    cart, owners = build_cart(order, MerchantSetup({}), "key", catalog)
    # Then each unit refers to the item at Wix's price plus the unmapped modifier, the mapped one as a modification
    assert owners == ["L1", "L1"]
    for line in cart["lineItems"]:
        assert line["item"] == {"id": "ITEM000000001"} and "name" not in line
        assert line["price"] == 950 + 2 * 75 and line["note"] == "+ Bacon x2"
        assert line["modifications"] == [{"modifier": {"id": "MODI000000001"}, "name": "Cheese", "amount": 100}]
    # And the title says which Wix order it is, the note's last line marks the export
    assert cart["title"] == "Wix #7" and cart["note"].rsplit("\n", 1)[-1].startswith(MARKER_PREFIX)


def test_an_order_over_clovers_line_limit_is_refused_before_any_call() -> None:
    # Given 3,001 units of one dish (Clover takes at most 3,000 line items)
    usd = Money(amount=Decimal("1.00"), currency="USD")
    order = Order(id="w2", status="APPROVED", currency="USD",
                  line_items=(LineItem(id="L", name="Fries", quantity=3001, unit_price=usd),))  # fmt: skip
    # When it is mapped, Then it is a permanent refusal naming the limit
    with pytest.raises(PermanentError) as refused:
        build_cart(order, MerchantSetup({}), "key")
    assert refused.value.reason == "clover_too_many_line_items"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_checkouts(), rates=st.lists(st.sampled_from(RATES), unique=True))
def test_clover_collects_wix_total_to_the_cent_on_every_generated_order(
    box: WixSandbox, inst: Instance, body: dict[str, Any], rates: list[str]
) -> None:
    # Given any checkout the Wix sandbox prices (quantities, modifiers, rates inclusive or additive, coupons,
    # automatic discounts, fees taxed or not, a delivery fee, a tip, half cents), and a merchant with any tax rates
    wix = _checkout(box, inst, **body)
    merchant, setup = _merchant(rates)
    # When posbridge maps it and Clover's arithmetic (the sandbox's checkout) prices it
    cart, adjustment, total = _on_clover(restaurant_order(wix), merchant, setup)
    # Then Clover's total plus the tip (on the payment) is Wix's priceSummary.total, to the cent
    assert total + _tip(wix) == _cents(wix["priceSummary"]["total"]["amount"])
    # And whatever made up the difference carries the adjustment name, and is what the mapping records
    assert total - adjustment == _unadjusted(restaurant_order(wix), merchant, setup)
    assert bool(_adjusted(cart)) == (adjustment != 0) or (adjustment == 0 and _adjusted(cart))
