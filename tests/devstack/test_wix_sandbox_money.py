"""The Wix sandbox's checkout prices an order the way the Order type lays it out (tax, discounts, delivery fee,
additional fees, tip, payment status), and posbridge's reader agrees with it to the cent on every generated order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.wix_sandbox import WixSandbox, orders, pricing
from devstack.wix_sandbox.state import Instance
from devstack.wix_sandbox.validation import ApiError
from posbridge.domain.order_money import PAYMENT_STATUSES, AdditionalFee, LineMoney, differences
from posbridge.wix.orders import restaurant_order

DELIVERY = {"type": "DELIVERY", "address": {"addressLine": "1 Main St", "city": "New York", "country": "US"}}


@pytest.fixture
def box() -> WixSandbox:
    return WixSandbox("6f3c2b7e-0d1a-4c55-9a7e-1b2c3d4e5f60", "secret")


@pytest.fixture
def inst(box: WixSandbox) -> Instance:
    return box.store.add_instance("site-money")


def _line(name: str, price: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"kind": "restaurant", "name": name, "price": price, "quantity": quantity, **extra}


def _checkout(box: WixSandbox, inst: Instance, **body: Any) -> dict[str, Any]:
    body.setdefault("buyer", {"email": "ada@example.com"})
    order, _ = orders.checkout(inst, box.clock, body)
    return order


def _amount(price: dict[str, Any]) -> str:
    return str(price["amount"])


# A delivery checkout: 3 pizzas at 10.99 + 1.00 olives, a tea, NYC's 8.875% added on top (shipping taxed), an automatic
# 1.00 off the tea, a 10% coupon, a 4.99 delivery fee, a taxed 1.50 service fee and a 3.00 tip (also priced on Square in
# tests/unit/test_square_order_money.py)
TAXED_DELIVERY: dict[str, Any] = {
    "lines": [_line("Pizza", "10.99", 3, modifiers=[{"name": "Olives", "price": "1.00"}]), _line("Tea", "2.50")],
    "fulfillment": {**DELIVERY, "fee": "4.99"},
    "tax": {"rate": "0.08875"},
    "coupon": {"code": "SAVE10", "percentage": "10"},
    "automaticDiscount": {"name": "Tea off", "amount": "1.00", "lines": [1]},
    "fees": [{"name": "Service fee", "amount": "1.50", "taxable": True}],
    "tip": "3.00",
}


def test_a_taxed_delivery_order_with_a_coupon_a_fee_and_a_tip_adds_up(box: WixSandbox, inst: Instance) -> None:
    # Given a delivery checkout: 3 pizzas at 10.99 + 1.00 olives, a tea, NYC's 8.875% added on top (shipping taxed),
    # an automatic 1.00 off the tea, a 10% coupon, a 4.99 delivery fee, a taxed 1.50 service fee and a 3.00 tip
    order = _checkout(box, inst, **TAXED_DELIVERY)
    # Then the rule goes first on the tea (1.00), the coupon takes 10% of what is left (35.97 + 1.50 = 37.47 -> 3.75)
    # spread by what each line has left (3.60 pizza, 0.15 tea)
    rule, coupon = order["appliedDiscounts"]
    assert (rule["discountType"], _amount(rule["discountRule"]["amount"])) == ("SPECIFIC_ITEMS", "1.00")
    assert (coupon["discountType"], coupon["coupon"]["code"], _amount(coupon["coupon"]["amount"])) == (
        "GLOBAL", "SAVE10", "3.75")  # fmt: skip
    assert [_amount(d["totalDiscount"]) for d in coupon["lineItemDiscounts"]] == ["3.60", "0.15"]
    pizza, tea = order["lineItems"]
    assert (_amount(pizza["lineItemPrice"]), _amount(pizza["totalDiscount"])) == ("35.97", "3.60")
    # And each line is taxed on its price after discounts: 32.37 x 8.875% = 2.8728 -> 2.87; 1.35 -> 0.1198 -> 0.12
    assert (_amount(pizza["taxInfo"]["taxAmount"]), _amount(pizza["taxInfo"]["taxableAmount"])) == ("2.87", "32.37")
    assert pizza["taxInfo"]["taxRate"] == "0.08875" and pizza["taxInfo"]["taxIncludedInPrice"] is False
    assert _amount(pizza["totalPriceAfterTax"]) == "35.24" and _amount(tea["taxInfo"]["taxAmount"]) == "0.12"
    # And the delivery fee is taxed (4.99 -> 0.44), the service fee too (1.50 -> 0.13), the tip not: its code a GUID
    cost = order["shippingInfo"]["cost"]
    assert (_amount(cost["price"]), _amount(cost["taxInfo"]["taxAmount"])) == ("4.99", "0.44")
    service, tip = order["additionalFees"]
    assert (service["name"], _amount(service["taxInfo"]["taxAmount"]), _amount(service["priceAfterTax"])) == (
        "Service fee", "0.13", "1.63")  # fmt: skip
    assert (tip["name"], _amount(tip["price"]), "taxInfo" in tip, len(tip["code"])) == ("Tip", "3.00", False, 36)
    # And priceSummary: 38.47 - 4.75 + 4.99 + 4.50 + 3.56 = 46.77, paid in full
    summary = {key: _amount(value) for key, value in order["priceSummary"].items()}
    assert summary == {"subtotal": "38.47", "discount": "4.75", "shipping": "4.99", "totalAdditionalFees": "4.50",
                       "tax": "3.56", "total": "46.77"}  # fmt: skip
    assert (order["paymentStatus"], _amount(order["balanceSummary"]["balance"])) == ("PAID", "0.00")
    assert order["taxIncludedInPrices"] is False and _amount(order["taxInfo"]["totalTax"]) == "3.56"


def test_tax_included_in_prices_is_inside_the_lines_and_not_added(box: WixSandbox, inst: Instance) -> None:
    # Given a site whose prices include 20% VAT, a 12.00 dish and a 2.00 delivery fee
    order = _checkout(box, inst, lines=[_line("Pasta", "12.00")], fulfillment={**DELIVERY, "fee": "2.00"},
                      tax={"rate": "0.2", "includedInPrices": True})  # fmt: skip
    # Then the tax is the part of each price: 12.00 x 0.2 / 1.2 = 2.00, 2.00 -> 0.33; the total adds nothing
    line = order["lineItems"][0]
    assert (_amount(line["taxInfo"]["taxAmount"]), _amount(line["taxInfo"]["taxableAmount"])) == ("2.00", "10.00")
    assert line["taxInfo"]["taxIncludedInPrice"] is True and _amount(line["totalPriceBeforeTax"]) == "10.00"
    assert _amount(order["shippingInfo"]["cost"]["taxInfo"]["taxAmount"]) == "0.33"
    assert (_amount(order["priceSummary"]["tax"]), _amount(order["priceSummary"]["total"])) == ("2.33", "14.00")
    assert order["taxIncludedInPrices"] is True


def test_half_cents_round_half_up_once_per_line(box: WixSandbox, inst: Instance) -> None:
    # Given 10% tax on a 0.05 line (0.005 of tax) and on three units of 0.15 (0.045: taxed as a line, not per unit)
    order = _checkout(box, inst, lines=[_line("Mint", "0.05"), _line("Gum", "0.15", 3)], tax={"rate": "0.1"})
    # Then each line's tax rounds half up once: 0.01 and 0.05 (per unit it would have been 3 x 0.02 = 0.06)
    assert [_amount(li["taxInfo"]["taxAmount"]) for li in order["lineItems"]] == ["0.01", "0.05"]
    assert _amount(order["priceSummary"]["total"]) == "0.56"


def test_a_fixed_discount_spreads_over_lines_to_the_cent() -> None:
    # Given 1.00 to share over three equal lines
    # Then the largest remainder gives the odd cent away once and the shares add up exactly
    assert pricing.allocate(Decimal("1.00"), [Decimal("3.00")] * 3) == [Decimal("0.34"), Decimal("0.33"),
                                                                          Decimal("0.33")]  # fmt: skip
    assert pricing.allocate(Decimal("0.00"), [Decimal("3.00")]) == [Decimal(0)]


@pytest.mark.parametrize(
    ("status", "paid", "balance"),
    [("PAID", None, "0.00"), ("NOT_PAID", None, "20.00"), ("PARTIALLY_PAID", "5.00", "15.00"),
     ("PENDING", None, "0.00"), ("UNSPECIFIED", None, "20.00"), ("FULLY_REFUNDED", None, "0.00"),
     ("DECLINED", None, "20.00")],
)  # fmt: skip
def test_each_payment_status_carries_its_balance(
    box: WixSandbox, inst: Instance, status: str, paid: str | None, balance: str
) -> None:
    # Given a 20.00 order placed with a payment status (a cash order is NOT_PAID)
    extra = {"paid": paid} if paid else {}
    order = _checkout(box, inst, lines=[_line("Dish", "20.00")], paymentStatus=status, **extra)
    # Then the balance is what Wix's `Balance` documents for it, and the order is approved (cash orders are too)
    assert (order["paymentStatus"], _amount(order["balanceSummary"]["balance"])) == (status, balance)
    assert order["status"] == "APPROVED"


def test_approving_a_pending_order_settles_its_balance(box: WixSandbox, inst: Instance) -> None:
    # Given an order not approved yet: not paid, the whole 9.00 owed
    order = _checkout(box, inst, lines=[_line("Dish", "9.00")], approve=False)
    assert (order["paymentStatus"], _amount(order["balanceSummary"]["balance"])) == ("NOT_PAID", "9.00")
    # When the restaurant approves it (the sandbox's approval marks it paid)
    approved, _ = orders.approve_order(inst, box.clock, order["id"], {"identityType": "WIX_USER"})
    # Then the balance follows: nothing left to pay
    assert (approved["paymentStatus"], _amount(approved["balanceSummary"]["balance"])) == ("PAID", "0.00")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"tip": "0.00"}, "tip"),
        ({"tip": "1.005"}, "tip"),
        ({"coupon": {"code": "X", "percentage": "10", "amount": "1.00"}}, "coupon"),
        ({"coupon": {"percentage": "10"}}, "coupon.code"),
        ({"coupon": {"code": "X", "percentage": "120"}}, "coupon.percentage"),
        ({"automaticDiscount": {"name": "Y", "amount": "1.00", "lines": [5]}}, "automaticDiscount.lines"),
        ({"tax": {"rate": "-0.1"}}, "tax.rate"),
        ({"tax": {"rate": "0.1234567"}}, "tax.rate"),
        ({"fees": [{"name": "A name longer than the fifty characters Wix allows.", "amount": "1.00"}]}, "fees[0].name"),
        ({"fees": [{"name": "Fee", "amount": "NaN"}]}, "fees[0].amount"),
        ({"paymentStatus": "PAID_IN_FULL"}, "paymentStatus"),
    ],
)
def test_bad_money_in_a_checkout_is_a_400_naming_the_field(
    box: WixSandbox, inst: Instance, extra: dict[str, Any], field: str
) -> None:
    # Given a checkout with one bad money field
    # When it is placed
    with pytest.raises(ApiError) as refused:
        _checkout(box, inst, lines=[_line("Dish", "9.00")], **extra)
    # Then it is a 400 naming that field, and no order is stored
    assert refused.value.status == 400
    assert field in {v["field"] for v in refused.value.violations or []}
    assert inst.orders == {}


def test_partially_paid_needs_a_paid_amount_below_the_total(box: WixSandbox, inst: Instance) -> None:
    with pytest.raises(ApiError) as refused:
        _checkout(box, inst, lines=[_line("Dish", "9.00")], paymentStatus="PARTIALLY_PAID", paid="9.00")
    assert refused.value.status == 400 and inst.orders == {}


# --- The property: whatever the sandbox charges, posbridge reads back to the cent ---------------------------------

_cents = st.integers(min_value=1, max_value=20_000).map(lambda c: f"{Decimal(c) / 100:.2f}")
_rates = st.sampled_from(["0", "0.05", "0.07", "0.0725", "0.08875", "0.1", "0.19", "0.2", "0.255", "0.123456"])
_discount = st.fixed_dictionaries(
    {},
    optional={"percentage": st.integers(1, 100).map(str), "amount": _cents},
).filter(lambda d: len(d) == 1)


@st.composite
def _checkouts(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 6))
    lines = []
    for i in range(count):
        line = _line(f"Dish {i}", draw(_cents), draw(st.integers(1, 12)))
        modifiers = draw(st.lists(_cents, max_size=3))
        if modifiers:
            line["modifiers"] = [{"name": f"Mod {j}", "price": p} for j, p in enumerate(modifiers)]
        if draw(st.booleans()):
            line["taxRate"] = draw(_rates)
        lines.append(line)
    body: dict[str, Any] = {
        "lines": lines,
        "tax": {"rate": draw(_rates), "includedInPrices": draw(st.booleans()), "shipping": draw(st.booleans())},
    }
    indexes = st.lists(st.integers(0, count - 1), min_size=1, max_size=count, unique=True)
    if draw(st.booleans()):
        scope = {"lines": draw(indexes)} if draw(st.booleans()) else {}
        body["coupon"] = {"code": "SAVE", **draw(_discount), **scope}
    if draw(st.booleans()):
        body["automaticDiscount"] = {"name": "Happy hour", **draw(_discount)}
    if draw(st.booleans()):
        body["fulfillment"] = {**DELIVERY, "fee": draw(_cents)}
    body["fees"] = [{"name": f"Fee {i}", "amount": draw(_cents), "taxable": draw(st.booleans())}
                    for i in range(draw(st.integers(0, 2)))]  # fmt: skip
    if draw(st.booleans()):
        body["tip"] = draw(_cents)
    status = draw(st.sampled_from([s for s in PAYMENT_STATUSES if s != "PARTIALLY_PAID"]))
    body["paymentStatus"] = status
    return body


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_checkouts())
def test_posbridge_reads_every_sandbox_order_to_the_cent(box: WixSandbox, inst: Instance, body: dict[str, Any]) -> None:
    # Given any checkout the sandbox prices (rates, inclusive or additive, coupons, rules, fees, tip, statuses)
    order = _checkout(box, inst, **body)
    # When posbridge reads it
    money = restaurant_order(order).money
    assert money is not None
    # Then every part adds up to priceSummary, to the cent, and the balance is the status's
    assert differences(money) == []
    # And what the reader sums independently is the sandbox's total and tax
    parts: tuple[LineMoney | AdditionalFee, ...] = (*money.lines, *money.fees)
    added = sum((p.tax.amount.amount for p in parts if p.tax and not p.tax.included_in_price), Decimal(0))
    if money.shipping and money.shipping.tax and not money.shipping.tax.included_in_price:
        added += money.shipping.tax.amount.amount
    lines = sum((line.line_price.amount - line.discount.amount for line in money.lines), Decimal(0))
    fees = sum((fee.price.amount for fee in money.fees), Decimal(0))
    shipping = money.shipping.price.amount if money.shipping else Decimal(0)
    assert lines + shipping + fees + added == money.summary.total.amount
    assert (money.tip is not None) == ("tip" in body)
