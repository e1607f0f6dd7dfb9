"""The Square sandbox's order arithmetic against Square's documented examples, and its totals adding up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.square_sandbox import orders, sdk_schema
from devstack.square_sandbox.state import Merchant
from posbridge.pos.square.arithmetic import (
    APPORTIONED_AMOUNT_PHASE,
    APPORTIONED_PERCENTAGE_PHASE,
    SUBTOTAL_PHASE,
    TOTAL_PHASE,
    Discount,
    Line,
    Modifier,
    ServiceCharge,
    Tax,
    apportion,
    compute,
    round_cents,
)

ONE = Decimal(1)


def _line(uid: str, cents: int, quantity: str = "1", **kw: object) -> Line:
    return Line(uid, Decimal(quantity), cents, **kw)  # type: ignore[arg-type]


def _order_tax(rate: str, inclusive: bool = False, uid: str = "t") -> Tax:
    return Tax(uid, Decimal(rate), inclusive, order_scope=True)


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        # developer.squareup.com/docs/orders-api/price-adjustments, "Rounding rule": 0.505 -> 0.50 (0.785 -> 0.78)
        (Decimal("50.5"), 50),
        (Decimal("78.5"), 78),
        (Decimal("51.5"), 52),
        # forums/t/order-level-tax-calculation-clarification/2354: 3.5485 is not a half: normal rounding, 3.55
        (Decimal("354.85"), 355),
    ],
)
def test_bankers_rounding_matches_the_documented_table(cents: Decimal, expected: int) -> None:
    # Given an unrounded amount in cents / When it is rounded / Then half cents go to the even cent, others to nearest
    assert round_cents(cents) == expected


@pytest.mark.parametrize(
    ("prices", "rate", "square_tax"),
    [
        # forums/t/how-does-square-calculate-taxes-for-a-half/11705: $6.00 at 9.75% = 0.585 -> Square charges 0.58
        ([600], "9.75", 58),
        # forums/t/order-level-tax-calculation-clarification/2354: $6.00 at 11.75% = 0.705 -> 0.70
        ([600], "11.75", 70),
        # same thread: subtotal $30.20 at 11.75% = 3.5485 -> 3.55
        ([3020], "11.75", 355),
        # forums/t/question-on-tax-calculation-rounding-differences.../25057: $5.45 at 10% -> 0.54
        ([545], "10", 54),
        # forums/t/square-banker-s-rounding-clarification/11179, order #1: $18.80 + $6.95 at 8.875% -> $2.29
        ([1880, 695], "8.875", 229),
        # same thread, order #2: $15 + $8 + $6.95 + $6.95 at 8.875% -> $3.27 (rounding per line would give $3.28)
        ([1500, 800, 695, 695], "8.875", 327),
    ],
)
def test_order_tax_matches_squares_published_answers(prices: list[int], rate: str, square_tax: int) -> None:
    # Given the orders from Square's forum threads, with an additive order-scoped tax
    lines = [_line(f"l{k}", p) for k, p in enumerate(prices)]
    # When the sandbox computes them
    totals = compute(lines, taxes=[_order_tax(rate)])
    # Then the tax is what Square charged, computed once on the sum, and the lines' shares add up to it
    assert totals.total_tax == square_tax
    assert sum(line.total_tax for line in totals.lines) == square_tax
    assert totals.total == sum(prices) + square_tax


def test_gross_sales_price_modifiers_per_unit_of_the_line() -> None:
    # Given 2 x a $9.50 burger with 1 x bacon ($1.25) and 2 x cheese ($0.50) per burger
    line = _line("l", 950, "2", modifiers=(Modifier(125, ONE), Modifier(50, Decimal(2))))
    # When priced
    totals = compute([line]).lines[0]
    # Then variation total 19.00, modifiers 2.50 and 2.00, gross 23.50 (OrderLineItemModifier.total_price_money)
    assert (totals.variation_total, totals.modifier_totals, totals.gross, totals.total) == (
        1900,
        [250, 200],
        2350,
        2350,
    )


def test_discounts_follow_the_documented_sequence() -> None:
    # Given a $10 line with an item-level 10% and a $1 item-level fixed discount, and an order-level 10%
    line = _line("l", 1000, discount_uids=("item_pct", "item_fix"))
    discounts = [
        Discount("item_fix", order_scope=False, amount=100),
        Discount("order_pct", order_scope=True, percentage=Decimal(10)),
        Discount("item_pct", order_scope=False, percentage=Decimal(10)),
    ]
    # When computed
    totals = compute([line], discounts=discounts)
    # Then item % (1.00 of 10.00), order % (0.90 of 9.00), item fixed (1.00): docs/orders-api/discounts sequence
    assert totals.discounts == {"item_pct": 100, "order_pct": 90, "item_fix": 100}
    assert totals.total == 710


def test_order_fixed_discount_is_spread_by_each_lines_share_of_the_subtotal() -> None:
    # Given $30 and $10 lines and a $1 order-scoped discount, and a zero-priced line
    lines = [_line("a", 3000), _line("b", 1000), _line("free", 0)]
    # When computed
    totals = compute(lines, discounts=[Discount("d", order_scope=True, amount=100)])
    # Then 75c and 25c (OrderLineItemDiscount: "relative to the amount contributed by the item"); the zero line none
    assert [t.discounts.get("d") for t in totals.lines] == [75, 25, None]
    assert totals.total == 3900


def test_discount_never_takes_the_order_below_zero() -> None:
    # Given a $5 line and a $7 coupon / When computed / Then the discount applied is $5 and the total zero
    totals = compute([_line("a", 500)], discounts=[Discount("d", order_scope=True, amount=700)])
    assert (totals.discounts["d"], totals.total) == (500, 0)


def test_inclusive_tax_is_inside_the_price_and_not_added() -> None:
    # Given a 11.00 line with a 10% inclusive tax / When computed / Then 1.00 of it is tax, the total stays 11.00
    totals = compute([_line("a", 1100)], taxes=[_order_tax("10", inclusive=True)])
    assert (totals.total_tax, totals.total) == (100, 1100)


def test_line_scoped_tax_only_on_lines_that_list_it() -> None:
    # Given two $10 lines, only the first listing a line-scoped 5% tax
    lines = [_line("a", 1000, tax_uids=("t",)), _line("b", 1000)]
    # When computed / Then only the first line is taxed
    totals = compute(lines, taxes=[Tax("t", Decimal(5), inclusive=False, order_scope=False)])
    assert [t.total_tax for t in totals.lines] == [50, 0]
    assert totals.total == 2050


def test_service_charge_phases() -> None:
    # Given a $20 line, 10% tax, a taxable $5 delivery fee (SUBTOTAL), an untaxed $2 courier tip (TOTAL) and a 10%
    # TOTAL_PHASE charge
    charges = [
        ServiceCharge("fee", SUBTOTAL_PHASE, amount=500, taxable=True),
        ServiceCharge("courier", TOTAL_PHASE, amount=200),
        ServiceCharge("pct", TOTAL_PHASE, percentage=Decimal(10)),
    ]
    # When computed
    totals = compute([_line("a", 2000)], taxes=[_order_tax("10")], service_charges=charges)
    # Then the fee is taxed (0.50), the line taxed (2.00), the 10% is of the total after taxes (27.50 -> 2.75)
    assert totals.charges["fee"].taxes == {"t": 50}
    assert totals.lines[0].taxes == {"t": 200}
    assert totals.charges["pct"].applied == 275
    assert totals.total == 2000 + 200 + 500 + 50 + 200 + 275
    assert totals.total_service_charge == 500 + 200 + 275


def test_apportioned_charges_land_on_the_lines() -> None:
    # Given $30 and $10 lines, a 10% apportioned-percentage charge and a $1 apportioned-amount one, both taxable, 10%
    charges = [
        ServiceCharge("amt", APPORTIONED_AMOUNT_PHASE, amount=100, taxable=True),
        ServiceCharge("pct", APPORTIONED_PERCENTAGE_PHASE, percentage=Decimal(10), taxable=True),
    ]
    totals = compute([_line("a", 3000), _line("b", 1000)], taxes=[_order_tax("10")], service_charges=charges)
    # Then each line carries its share, and the tax basis includes them: (4000 + 400 + 100) x 10% = 450
    assert [t.service_charges for t in totals.lines] == [{"pct": 300, "amt": 75}, {"pct": 100, "amt": 25}]
    assert totals.total_tax == 450
    assert totals.total == 4000 + 500 + 450


def test_apportion_is_exact_and_proportional() -> None:
    # Given 100 cents over three equal weights / Then 34, 33, 33 (sum exact, the earlier line takes the odd cent)
    assert apportion(100, [ONE, ONE, ONE]) == [34, 33, 33]
    assert apportion(0, [ONE, ONE]) == [0, 0]


_rates = st.decimals(min_value=0, max_value=30, places=3)
_lines = st.lists(
    st.builds(
        lambda uid, price, qty, mods, taxed, disc: Line(
            uid,
            Decimal(qty),
            price,
            tuple(Modifier(p, Decimal(q)) for p, q in mods),
            ("line_tax",) if taxed else (),
            ("line_disc",) if disc else (),
        ),
        st.uuids().map(str),
        st.integers(0, 5000),
        st.integers(1, 6),
        st.lists(st.tuples(st.integers(0, 500), st.integers(1, 3)), max_size=3),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    lines=_lines,
    order_rate=_rates,
    line_rate=_rates,
    inclusive=st.booleans(),
    coupon=st.one_of(st.none(), st.integers(0, 3000)),
    percent_off=st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2)),
    line_off=st.one_of(st.none(), st.integers(0, 800)),
    fee=st.integers(0, 1000),
    fee_taxable=st.booleans(),
    courier_tip=st.integers(0, 800),
)
def test_totals_add_up(
    lines: list[Line],
    order_rate: Decimal,
    line_rate: Decimal,
    inclusive: bool,
    coupon: int | None,
    percent_off: Decimal | None,
    line_off: int | None,
    fee: int,
    fee_taxable: bool,
    courier_tip: int,
) -> None:
    # Given any order with taxes, discounts, a delivery fee and a courier tip
    taxes = [_order_tax(str(order_rate), inclusive), Tax("line_tax", line_rate, False, order_scope=False)]
    discounts = [Discount("line_disc", order_scope=False, amount=line_off)] if line_off is not None else []
    if coupon is not None:
        discounts.append(Discount("coupon", order_scope=True, amount=coupon))
    if percent_off is not None:
        discounts.append(Discount("pct", order_scope=True, percentage=percent_off))
    charges = [
        ServiceCharge("fee", SUBTOTAL_PHASE, amount=fee, taxable=fee_taxable),
        ServiceCharge("tip", TOTAL_PHASE, amount=courier_tip),
    ]
    # When computed
    totals = compute(lines, taxes, discounts, charges)
    # Then total = gross - discounts + additive tax + service charges, and the lines add up to the order
    additive = sum(t.additive_tax for t in totals.lines) + sum(c.additive_tax for c in totals.charges.values())
    assert totals.total == totals.gross - totals.total_discount + additive + totals.total_service_charge
    assert sum(t.total_discount for t in totals.lines) == totals.total_discount
    assert sum(t.total_tax for t in totals.lines) + sum(c.total_tax for c in totals.charges.values()) == (
        totals.total_tax
    )
    for discount_uid, applied in totals.discounts.items():
        assert sum(t.discounts.get(discount_uid, 0) for t in totals.lines) == applied
    assert all(t.gross - t.total_discount >= 0 for t in totals.lines)
    assert all(t.total >= 0 for t in totals.lines)


# ---- the same arithmetic as the sandbox renders it on the wire --------------------------------------------------

_MERCHANT = Merchant("MPROP", "LPROP", "token", "key", None)


def _usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


@st.composite
def _wire_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A CalculateOrder body: lines with modifiers, every tax and discount kind, every service charge phase."""
    taxes = [
        {"uid": "state", "type": draw(st.sampled_from(["ADDITIVE", "INCLUSIVE"])), "scope": "ORDER"},
        {"uid": "city", "type": "ADDITIVE", "scope": "LINE_ITEM"},
    ]
    for tax in taxes:
        tax["percentage"] = str(draw(_rates))
    discounts: list[dict[str, Any]] = [
        {"uid": "line_pct", "type": "FIXED_PERCENTAGE", "percentage": str(draw(_rates)), "scope": "LINE_ITEM"},
        {"uid": "coupon", "type": "FIXED_AMOUNT", "amount_money": _usd(draw(st.integers(0, 3000))), "scope": "ORDER"},
    ]
    charges: list[dict[str, Any]] = [
        {
            "uid": "fee",
            "amount_money": _usd(draw(st.integers(0, 999))),
            "calculation_phase": "SUBTOTAL_PHASE",
            "taxable": draw(st.booleans()),
        },
        {"uid": "courier", "amount_money": _usd(draw(st.integers(0, 999))), "calculation_phase": "TOTAL_PHASE"},
        {
            "uid": "bag",
            "percentage": str(draw(_rates)),
            "calculation_phase": "APPORTIONED_PERCENTAGE_PHASE",
            "treatment_type": "APPORTIONED_TREATMENT",
            "scope": "ORDER",
            "taxable": draw(st.booleans()),
        },
    ]
    lines = []
    for k in range(draw(st.integers(1, 5))):
        line: dict[str, Any] = {
            "uid": f"l{k}",
            "name": f"Dish {k}",
            "quantity": str(draw(st.integers(1, 5))),
            "base_price_money": _usd(draw(st.integers(0, 4000))),
            "modifiers": [
                {"name": f"m{j}", "quantity": "1", "base_price_money": _usd(draw(st.integers(0, 400)))}
                for j in range(draw(st.integers(0, 2)))
            ],
        }
        if draw(st.booleans()):
            line["applied_taxes"] = [{"tax_uid": "city"}]
        if draw(st.booleans()):
            line["applied_discounts"] = [{"discount_uid": "line_pct"}]
        lines.append(line)
    return {
        "location_id": "LPROP",
        "line_items": lines,
        "taxes": taxes,
        "discounts": discounts,
        "service_charges": charges,
    }


def _amount(node: dict[str, Any], key: str) -> int:
    return int(node[key]["amount"])


@settings(max_examples=200, deadline=None)
@given(body=_wire_orders())
def test_calculate_order_answers_add_up_and_fit_the_sdk_model(body: dict[str, Any]) -> None:
    # Given any itemized order / When the sandbox calculates it
    answer = orders.calculate(_MERCHANT, {"order": body})
    order = answer["order"]
    lines, charges = order["line_items"], order["service_charges"]
    order_level = [c for c in charges if c["calculation_phase"] in ("SUBTOTAL_PHASE", "TOTAL_PHASE")]
    # Then the answer fits squareup's CalculateOrderResponse strictly
    assert sdk_schema.check(answer, sdk_schema.response_model("POST /v2/orders/calculate")) == []
    # And the lines and order-level charges add up to the order, field by field
    assert _amount(order, "total_money") == sum(_amount(x, "total_money") for x in lines + order_level)
    assert _amount(order, "total_discount_money") == sum(_amount(x, "total_discount_money") for x in lines)
    assert _amount(order, "total_discount_money") == sum(_amount(d, "applied_money") for d in order["discounts"])
    assert _amount(order, "total_tax_money") == sum(_amount(t, "applied_money") for t in order["taxes"])
    assert _amount(order, "total_tax_money") == sum(_amount(x, "total_tax_money") for x in lines + order_level)
    assert _amount(order, "total_service_charge_money") == sum(_amount(c, "applied_money") for c in charges)
    inclusive = {t["uid"] for t in order["taxes"] if t["type"] == "INCLUSIVE"}
    for line in lines:
        # each line: gross - discounts + its apportioned charges + its additive taxes; applied_* sum to its totals
        additive = sum(
            _amount(r, "applied_money") for r in line.get("applied_taxes", []) if r["tax_uid"] not in inclusive
        )
        assert _amount(line, "total_money") == (
            _amount(line, "gross_sales_money")
            - _amount(line, "total_discount_money")
            + _amount(line, "total_service_charge_money")
            + additive
        )
        assert _amount(line, "total_tax_money") == sum(
            _amount(r, "applied_money") for r in line.get("applied_taxes", [])
        )
        assert _amount(line, "total_discount_money") == sum(
            _amount(r, "applied_money") for r in line.get("applied_discounts", [])
        )
        assert {r["tax_uid"] for r in line["applied_taxes"]} >= {"state"}  # ORDER-scoped: on every line
