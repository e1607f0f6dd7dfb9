"""Clover's order arithmetic, in integer cents, as docs.clover.com/docs/calculating-order-totals lays it out:

1. a line's price plus its modifiers' amounts;
2. the line's discounts: percentage ones first, then amounts;
3. the order's discounts, percentage then amount, spread over the lines (so each line is taxed on what is left);
4. tax per line on its discounted price, "round half up" ($33.455 -> $33.46);
5. a service charge is "not taxed" and "calculated after discounts": (items + modifiers - line discounts) x its
   percentage (docs.clover.com/docs/update-app-to-support-multiple-service-charges).
Tax rates are percent x 100000 (`797500` = 7.975%, community.clover.com/answers/24054; the same divisor in Clover's
calc library, `TAX_RATE_DIVISOR = 100000`), service charge `percentageDecimal` percent x 10000
(`SERVICE_CHARGE_DIVISOR = 10000`).

Sandbox choices where Clover documents the outcome but not the method: an order-level amount discount is spread in
proportion to what is left on each line, leftover cents by largest remainder; a percentage discount is rounded half
up on the line (or the order) it applies to; a discount never takes a line below zero; the service charge uses the
subtotal after order-level discounts too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

TAX_RATE_DIVISOR = Decimal(100000) * 100  # rate -> fraction
SERVICE_CHARGE_DIVISOR = Decimal(10000) * 100


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def apportion(amount: int, weights: list[int]) -> list[int]:
    total = sum(weights)
    if amount == 0 or total == 0:
        return [0] * len(weights)
    exact = [Decimal(amount) * w / total for w in weights]
    shares = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    for k in sorted(range(len(weights)), key=lambda k: (-(exact[k] - shares[k]), k))[: amount - sum(shares)]:
        shares[k] += 1
    return shares


@dataclass(frozen=True)
class Discount:
    amount: int | None = None  # negative cents, as Clover writes it (`"amount": -200`)
    percentage: int | None = None  # whole percent


@dataclass(frozen=True)
class Line:
    price: int
    modifiers: tuple[int, ...] = ()
    discounts: tuple[Discount, ...] = ()
    tax_rates: tuple[int, ...] = ()  # percent x 100000


@dataclass
class LineTotals:
    gross: int
    line_discount: int = 0
    order_discount: int = 0
    tax: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.line_discount - self.order_discount


@dataclass
class Totals:
    lines: list[LineTotals] = field(default_factory=list)
    order_discount: int = 0
    service_charge: int = 0

    @property
    def subtotal(self) -> int:
        """After every discount, before tax and the service charge."""
        return sum(line.net for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal + self.tax + self.service_charge


def _take(left: int, discount: Discount) -> int:
    if discount.percentage is not None:
        off = round_half_up(Decimal(left) * discount.percentage / 100)
    else:
        off = -(discount.amount or 0)
    return max(0, min(off, left))


def compute(lines: list[Line], order_discounts: list[Discount], service_charge_pct: int | None = None) -> Totals:
    totals = Totals()
    for line in lines:
        gross = line.price + sum(line.modifiers)
        t = LineTotals(gross)
        for discount in [d for d in line.discounts if d.percentage is not None] + [
            d for d in line.discounts if d.percentage is None
        ]:
            t.line_discount += _take(gross - t.line_discount, discount)
        totals.lines.append(t)
    ordered = [d for d in order_discounts if d.percentage is not None] + [
        d for d in order_discounts if d.percentage is None
    ]
    for discount in ordered:
        left = [max(t.net, 0) for t in totals.lines]
        off = _take(sum(left), discount)
        for t, share in zip(totals.lines, apportion(off, left), strict=True):
            t.order_discount += share
        totals.order_discount += off
    for line, t in zip(lines, totals.lines, strict=True):
        t.tax = round_half_up(sum((Decimal(t.net) * r / TAX_RATE_DIVISOR for r in line.tax_rates), Decimal(0)))
    if service_charge_pct:
        totals.service_charge = round_half_up(Decimal(totals.subtotal) * service_charge_pct / SERVICE_CHARGE_DIVISOR)
    return totals
