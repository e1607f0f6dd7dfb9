# ruff: noqa: F811  (pytest fixtures imported from test_export_order are parameters here)
"""Flow 1's money on Square: every Wix order the Wix sandbox prices, mapped by `to_square_order` and priced by the
Square sandbox's CalculateOrder (strict validation + Square's documented arithmetic), totals Wix's total less the tip,
to the cent; any difference Square's rounding leaves is a named adjustment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from devstack.square_sandbox import orders as square_orders
from devstack.square_sandbox.state import Merchant
from devstack.wix_sandbox import WixSandbox
from devstack.wix_sandbox.state import Instance
from posbridge.domain.events import ORDER_APPROVED
from posbridge.domain.money import Money
from posbridge.domain.order import LineItem, Order
from posbridge.domain.order_money import AppliedDiscount, LineMoney, OrderMoney, PriceSummary, Shipping
from posbridge.domain.work_message import WorkMessage
from posbridge.flows.export_order import export_wix_order
from posbridge.pos.square.order_money import ADJUSTMENT_NAME, adjustment, total_without_tip
from posbridge.pos.square.orders import to_square_order
from posbridge.wix import orders as wix_order_events
from posbridge.wix.orders import restaurant_order
from tests.devstack.test_wix_sandbox_money import TAXED_DELIVERY, _checkout, _checkouts, _line
from tests.unit.pos_fakes import FakeTenants
from tests.unit.test_export_order import (  # noqa: F401 (square and merchant are fixtures)
    TENANT_ID,
    FakeMappings,
    SquareFactory,
    SquareMerchant,
    _tenant,
    merchant,
    square,
)


@pytest.fixture
def box() -> WixSandbox:
    return WixSandbox("6f3c2b7e-0d1a-4c55-9a7e-1b2c3d4e5f60", "secret")


@pytest.fixture
def inst(box: WixSandbox) -> Instance:
    return box.store.add_instance("site-square-money")


MERCHANT = Merchant("MMONEY", "LMONEY", "token", "key", None)


def _cents(amount: str) -> int:
    return Money(amount=Decimal(amount), currency="USD").minor_units()


def _on_square(wix_order: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the CreateOrder order posbridge sends, the order Square computes from it)."""
    order = restaurant_order(wix_order)
    body = to_square_order(order, MERCHANT.location_id, None)
    return body, square_orders.calculate(MERCHANT, {"order": body})["order"]


def _tip(wix_order: dict[str, Any]) -> int:
    money = restaurant_order(wix_order).money
    assert money is not None
    return money.tip.charged.minor_units() if money.tip else 0


def _named(created: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [x for key in ("discounts", "service_charges") for x in created.get(key, []) if x.get("name") == name]


def test_a_taxed_delivery_order_with_a_coupon_a_fee_and_a_tip_is_itemized(box: WixSandbox, inst: Instance) -> None:
    # Given the Wix sandbox's taxed delivery order: 3 pizzas + olives, a tea, 8.875% on top (delivery taxed), an
    # automatic 1.00 off the tea, a 10% coupon, a 4.99 delivery fee, a taxed 1.50 service fee and a 3.00 tip
    wix = _checkout(box, inst, **TAXED_DELIVERY)
    # When it is mapped and Square prices it
    body, created = _on_square(wix)
    # Then one LINE_ITEM tax at 8.875% applies to both lines, the delivery fee and the service fee
    (tax,) = body["taxes"]
    assert (tax["type"], tax["percentage"], tax["scope"]) == ("ADDITIVE", "8.875", "LINE_ITEM")
    assert all(line["applied_taxes"] == [{"tax_uid": tax["uid"]}] for line in body["line_items"])
    # And each Wix per-line discount share is a FIXED_AMOUNT LINE_ITEM discount: 1.00 on the tea, 3.60 + 0.15 coupon
    shares = sorted((d["name"], d["amount_money"]["amount"], d["scope"]) for d in body["discounts"]
                    if d["name"] != ADJUSTMENT_NAME)  # fmt: skip
    assert shares == [("SAVE10", 15, "LINE_ITEM"), ("SAVE10", 360, "LINE_ITEM"), ("Tea off", 100, "LINE_ITEM")]
    # And the fees are taxable SUBTOTAL_PHASE service charges (the delivery fee under its Wix title); no tip
    charges = {c["name"]: c for c in body["service_charges"]}
    assert {n: (c["amount_money"]["amount"], c["calculation_phase"], c["taxable"]) for n, c in charges.items()
            if n != ADJUSTMENT_NAME} == {"Delivery": (499, "SUBTOTAL_PHASE", True),
                                     "Service fee": (150, "SUBTOTAL_PHASE", True)}  # fmt: skip
    # And Square's single rounding of 8.875% x 40.21 = 3.5686 -> 3.57 is a cent over Wix's per-part 3.56: a named
    # 0.01 discount brings Square's total plus the 3.00 tip to Wix's 46.77
    assert adjustment(body).minor == -1 and [d["amount_money"]["amount"] for d in _named(body, ADJUSTMENT_NAME)] == [1]
    assert created["total_money"]["amount"] + 300 == _cents(wix["priceSummary"]["total"]["amount"]) == 4677
    assert total_without_tip(restaurant_order(wix)) == 4377


def test_square_rounding_once_is_reconciled_by_a_named_adjustment(box: WixSandbox, inst: Instance) -> None:
    # Given 10% tax on three 0.05 lines: Wix rounds each line's 0.005 half up (3 x 0.01), Square the 0.015 sum once
    wix = _checkout(box, inst, lines=[_line("Mint", "0.05"), _line("Gum", "0.05"), _line("Tic", "0.05")],
                    tax={"rate": "0.1"})  # fmt: skip
    assert wix["priceSummary"]["total"]["amount"] == "0.18"
    # When it is mapped
    body, created = _on_square(wix)
    # Then Square alone would charge 0.17 (0.015 -> 0.02 banker's); a 0.01 "Wix rounding adjustment" makes 0.18
    (charge,) = _named(body, ADJUSTMENT_NAME)
    assert (charge["amount_money"]["amount"], charge["calculation_phase"], charge["taxable"]) == (
        1,
        "TOTAL_PHASE",
        False,
    )
    assert created["total_money"]["amount"] == 18
    assert adjustment(body).minor == 1 and adjustment(body).name == ADJUSTMENT_NAME


def test_square_over_wix_is_brought_down_by_a_named_discount(box: WixSandbox, inst: Instance) -> None:
    # Given 10% tax on three 0.04 lines: Wix rounds each 0.004 to 0.00 (total 0.12), Square 0.012 once to 0.01
    wix = _checkout(box, inst, lines=[_line("A", "0.04"), _line("B", "0.04"), _line("C", "0.04")],
                    tax={"rate": "0.1"})  # fmt: skip
    assert wix["priceSummary"]["total"]["amount"] == "0.12"
    # When it is mapped
    body, created = _on_square(wix)
    # Then Square takes no negative money: a 0.01 "Wix rounding adjustment" discount on one line (its tax falls to
    # 0.011 -> 0.01) brings Square's total to Wix's 0.12
    (discount,) = _named(body, ADJUSTMENT_NAME)
    assert (discount["type"], discount["amount_money"]["amount"], discount["scope"]) == ("FIXED_AMOUNT", 1, "LINE_ITEM")
    assert created["total_money"]["amount"] == 12 and adjustment(body).minor == -1


def test_square_over_wix_with_no_line_left_to_discount_rounds_each_tax_per_item(
    box: WixSandbox, inst: Instance
) -> None:
    # Given (found by the property test) a 0.01 dish taken off by a 0.01 coupon, a 0.01 delivery fee and a 45.94 fee,
    # all at 10% added tax: Wix taxes each part half up, 0.001 -> 0.00 and 4.594 -> 4.59, total 50.54
    delivery = {"type": "DELIVERY", "fee": "0.01", "address": {"addressLine": "1 Elm", "city": "NY", "country": "US"}}
    wix = _checkout(box, inst, lines=[_line("Dish", "0.01")], tax={"rate": "0.1", "shipping": True},
                    coupon={"code": "SAVE", "amount": "0.01"}, fulfillment=delivery,
                    fees=[{"name": "Fee", "amount": "45.94", "taxable": True}])  # fmt: skip
    assert wix["priceSummary"]["total"]["amount"] == "50.54"
    # When it is mapped: Square would round 10% of 45.95 once, 4.595 -> 4.60, a cent over, and the only line has
    # nothing left for the adjustment's discount
    body, created = _on_square(wix)
    # Then the dish, the delivery fee and the fee each carry their own copy of the 10% tax, so Square rounds per
    # item as Wix did: to the cent
    assert len(body["taxes"]) == 3 and {t["percentage"] for t in body["taxes"]} == {"10"}
    assert created["total_money"]["amount"] == 5054 and adjustment(body).minor == 0


def test_square_over_wix_with_too_little_left_on_the_line_to_discount_rounds_each_tax_per_item(
    box: WixSandbox, inst: Instance
) -> None:
    # Given (found by the property test) eight cents taxed at 19% over five lines, and one untaxed cent: Wix taxes
    # each line half up to 0.00 (total 0.09); Square would tax the 0.08 once, 0.0152 -> 0.02, two cents over, and the
    # only line whose discount changes no tax has one cent to give
    quantities = {"A": 1, "B": 2, "D": 1, "E": 2, "F": 2}
    taxed = [_line(name, "0.01", quantity, taxRate="0.19") for name, quantity in quantities.items()]
    wix = _checkout(box, inst, lines=[*taxed, _line("C", "0.01", taxRate="0")], tax={"rate": "0.19"})
    assert wix["priceSummary"]["total"]["amount"] == "0.09"
    # When it is mapped
    body, created = _on_square(wix)
    # Then no partial discount is left on the order: each taxed line has its own 19% tax, and Square totals 0.09
    assert not _named(body, ADJUSTMENT_NAME) and len(body["taxes"]) == 5
    assert created["total_money"]["amount"] == 9 and adjustment(body).minor == 0


def test_an_order_without_money_keeps_names_and_prices_only(box: WixSandbox, inst: Instance) -> None:
    # Given an order whose event carries no priceSummary (an older event)
    wix = _checkout(box, inst, lines=[_line("Dish", "9.00")])
    del wix["priceSummary"]
    # When it is mapped: nothing to itemize, nothing adjusted
    body, _ = _on_square(wix)
    assert not {"taxes", "discounts", "service_charges"} & set(body) and adjustment(body).minor == 0


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_checkouts())
def test_square_collects_wix_total_to_the_cent_on_every_generated_order(
    box: WixSandbox, inst: Instance, body: dict[str, Any]
) -> None:
    # Given any checkout the Wix sandbox prices (quantities, modifiers, rates inclusive or additive, coupons,
    # automatic discounts, fees taxed or not, a delivery fee, a tip, half cents)
    wix = _checkout(box, inst, **body)
    # When posbridge maps it and Square's arithmetic (the sandbox's CalculateOrder) prices it
    sent, created = _on_square(wix)
    # Then Square's total plus the tip (on the payment) is Wix's priceSummary.total, to the cent
    assert created["total_money"]["amount"] + _tip(wix) == _cents(wix["priceSummary"]["total"]["amount"])
    # And whatever made up the difference is named, and is what the mapping records
    adjusted = adjustment(sent)
    assert (adjusted.minor != 0) == bool(_named(sent, ADJUSTMENT_NAME)) or adjusted.minor == 0
    if adjusted.minor:
        assert adjusted.name == ADJUSTMENT_NAME


# --- over HTTP: the flow exports to the Square sandbox, which creates the order at Wix's total less the tip ---------


def test_an_exported_order_totals_wix_on_the_square_sandbox_and_the_mapping_records_the_adjustment(
    box: WixSandbox, inst: Instance, merchant: SquareMerchant
) -> None:
    # Given a Wix order: three 0.05 mints and a 12.00 pasta at 10% added tax, a 1.00 coupon on the pasta, a taxed
    # 2.00 service fee and a 1.50 tip. Wix taxes each part, half up: 0.01 x 3 + 1.10 + 0.20 = 1.33; total 15.98
    wix = _checkout(
        box, inst,
        lines=[_line("Mint", "0.05"), _line("Gum", "0.05"), _line("Tic", "0.05"), _line("Pasta", "12.00")],
        tax={"rate": "0.1"}, coupon={"code": "EURO1", "amount": "1.00", "lines": [3]},
        fees=[{"name": "Service fee", "amount": "2.00", "taxable": True}], tip="1.50",
    )  # fmt: skip
    wix_total = _cents(wix["priceSummary"]["total"]["amount"])
    tenants = FakeTenants({TENANT_ID: _tenant(location_id=merchant.location_id)})
    mappings, factory = FakeMappings(), SquareFactory(merchant)
    message = WorkMessage(source="wix", event_type=ORDER_APPROVED, event_id="evt-money", tenant_id=TENANT_ID,
                          entity_id=wix["id"], payload={"actionEvent": {"body": {"order": wix}}})  # fmt: skip
    # When Flow 1 exports it over HTTP
    result = export_wix_order(message, tenants, mappings, factory, wix_orders=wix_order_events)
    for client in factory.clients:
        client.close()
    # Then the order Square created totals Wix's 15.98 less the 1.50 tip, to the cent; once paid (the tip on the
    # payment, which Square adds to the order's total) it totals exactly what Wix charged
    (created,) = [o for o in merchant.state()["orders"] if o["id"] == result.pos_order_id]
    tip = created["total_tip_money"]["amount"]
    assert wix_total == 1598 and tip == 150 and created["total_money"]["amount"] - tip == 1448
    assert created["total_money"]["amount"] == wix_total
    # And it is itemized: the 10% tax, the coupon on the pasta, the taxed fee
    assert [(t["percentage"], t["type"], t["scope"]) for t in created["taxes"]] == [("10", "ADDITIVE", "LINE_ITEM")]
    assert [(d["name"], d["applied_money"]["amount"]) for d in created["discounts"]] == [("EURO1", 100)]
    (fee,) = [c for c in created["service_charges"] if c["name"] == "Service fee"]
    assert (fee["applied_money"]["amount"], fee["total_tax_money"]["amount"]) == (200, 20)
    # And Square's single rounding (10% of 0.15 + 11.00 + 2.00 = 1.315 -> 1.32, a cent under Wix's 1.33) is made up
    # by a named 0.01 adjustment, which the mapping records
    (named,) = _named(created, ADJUSTMENT_NAME)
    assert (named["applied_money"]["amount"], named["calculation_phase"]) == (1, "TOTAL_PHASE")
    mapping = mappings.saved[(TENANT_ID, wix["id"])]
    assert (mapping.adjustment_minor, mapping.adjustment_name) == (1, ADJUSTMENT_NAME)


# --- what the Wix sandbox does not place: a shipping discount, a discount without shares, another app's line ------


def _usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def _hand_priced(discounts: tuple[AppliedDiscount, ...], shipping: Shipping | None, total: str) -> Order:
    """A 10.00 dish (restaurant) and a 5.00 gift card of another app; no tax."""
    lines = (
        LineMoney(line_id="dish", quantity=1, unit_price=_usd("10.00"), unit_price_before_discounts=_usd("10.00"),
                  line_price=_usd("10.00"), discount=_usd("0")),
        LineMoney(line_id="card", quantity=1, unit_price=_usd("5.00"), unit_price_before_discounts=_usd("5.00"),
                  line_price=_usd("5.00"), discount=_usd("0")),
    )  # fmt: skip
    summary = PriceSummary(
        subtotal=_usd("15.00"), shipping=shipping.price if shipping else _usd("0"), tax=_usd("0"),
        discount=_usd(str(sum(d.amount.amount for d in discounts))), total=_usd(total), additional_fees=_usd("0"),
    )  # fmt: skip
    money = OrderMoney(currency="USD", tax_included_in_prices=False, payment_status="PAID", lines=lines,
                       discounts=discounts, shipping=shipping, summary=summary)  # fmt: skip
    dish = LineItem(id="dish", name="Dish", quantity=1, unit_price=_usd("10.00"))
    return Order(id="wix-hand", status="APPROVED", currency="USD", line_items=(dish,), total=_usd(total), money=money)


def test_a_shipping_discount_lowers_the_delivery_fee_and_other_apps_lines_stay_out() -> None:
    # Given free delivery by coupon (a SHIPPING discount of the whole 3.00 fee) on an order with another app's line
    free = AppliedDiscount(kind="COUPON", scope="SHIPPING", name="FREEDEL", amount=_usd("3.00"))
    order = _hand_priced((free,), Shipping(title="Delivery", price=_usd("3.00")), total="15.00")
    # When it is mapped
    body = to_square_order(order, MERCHANT.location_id, None)
    created = square_orders.calculate(MERCHANT, {"order": body})["order"]
    # Then no delivery fee is charged and no discount is sent (Square discounts only lines); the gift card is not
    # on the POS: Square's total is the dish alone, with nothing to adjust
    assert "service_charges" not in body and "discounts" not in body
    assert total_without_tip(order) == created["total_money"]["amount"] == 1000 and adjustment(body).minor == 0


def test_a_discount_without_line_shares_goes_order_scoped() -> None:
    # Given a 2.00 merchant discount Wix did not spread over lines
    off = AppliedDiscount(kind="MERCHANT", scope="GLOBAL", name="Regular", amount=_usd("2.00"))
    order = _hand_priced((off,), None, total="13.00")
    # When it is mapped
    body = to_square_order(order, MERCHANT.location_id, None)
    created = square_orders.calculate(MERCHANT, {"order": body})["order"]
    # Then it is one ORDER-scoped FIXED_AMOUNT discount, and Square's total is Wix's less the other app's 5.00
    (discount,) = body["discounts"]
    assert (discount["name"], discount["type"], discount["scope"]) == ("Regular", "FIXED_AMOUNT", "ORDER")
    assert created["total_money"]["amount"] == 800 == total_without_tip(order)
