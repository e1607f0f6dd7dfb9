"""Square's order arithmetic: line gross sales, discounts, service charges and taxes, in integer cents.

Pure functions over validated inputs, one implementation for two users: the Square sandbox (devstack/square_sandbox/
orders.py parses and checks the request, then fills the response fields from `OrderTotals`) and the adapter
(order_money.py predicts Square's total to reconcile it with Wix's, instead of a CalculateOrder call per order). Each
rule names its source; where Square documents the outcome but not the method, the comment says which choice the model
makes (see "sandbox choice").

Sources:
- Rounding: "The Orders API performs its adjustment calculations using Bankers' Rounding, also known as Rounding Half
  to Even" (developer.squareup.com/docs/orders-api/price-adjustments, "Rounding rule"). Half-to-even applies only to
  an exact half cent: 3.5485 -> 3.55, 0.705 -> 0.70 (developer.squareup.com/forums/t/order-level-tax-calculation-
  clarification/2354).
- A tax is computed on the sum of what it applies to and rounded once, not rounded per line: 8.875% of $15 + $8 +
  $6.95 + $6.95 is $3.27 on Square (3.274875), where rounding per line would give $3.28
  (developer.squareup.com/forums/t/square-banker-s-rounding-clarification/11179).
- Discount sequence: item-level percentage, order-level percentage, item-level fixed amount, order-level fixed amount
  (developer.squareup.com/docs/orders-api/discounts). "Fixed-amount, order-scoped discounts are distributed across
  all non-zero line item totals. The amount distributed to each line item is relative to the amount contributed by
  the item to the order subtotal" (squareup 46: square/types/order_line_item_discount.py; the same words for taxes
  in OrderLineItemTax).
- Service charges come after discounts; phases: APPORTIONED_PERCENTAGE_PHASE ("before any amount-based apportioned
  service charges and taxes"), APPORTIONED_AMOUNT_PHASE ("after any percentage-based apportioned service charges and
  before taxes"), SUBTOTAL_PHASE ("before taxes"), TOTAL_PHASE ("after taxes")
  (developer.squareup.com/docs/orders-api/service-charges). Taxable service charges take the ORDER-scoped taxes and
  the LINE_ITEM-scoped ones they list (square/types/order_service_charge.py, applied_taxes).
- Modifiers: a modifier's total is its price x its quantity x the line's quantity (square/types/
  order_line_item_modifier.py: total_price_money "base_price_money multiplied by quantity"; the line's
  gross_sales_money includes modifiers, square/types/order_line_item.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

HUNDRED = Decimal(100)


def round_cents(value: Decimal) -> int:
    """Bankers' rounding to a whole cent (price-adjustments page: 0.505 -> 0.50, i.e. 50.5 cents -> 50)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def apportion(amount: int, weights: list[Decimal]) -> list[int]:
    """Split `amount` cents over `weights` in proportion, to the cent, summing exactly to `amount`.

    Square documents the proportion ("relative to the amount contributed by the item") but not where the leftover
    cents land; sandbox choice: largest remainder, ties to the earlier line."""
    total = sum(weights, Decimal(0))
    if amount == 0 or total == 0:
        return [0] * len(weights)
    exact = [Decimal(amount) * w / total for w in weights]
    shares = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = amount - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda k: (-(exact[k] - shares[k]), k))
    for k in by_remainder[:left]:
        shares[k] += 1
    return shares


@dataclass(frozen=True)
class Modifier:
    base_price: int
    quantity: Decimal


@dataclass(frozen=True)
class Line:
    uid: str
    quantity: Decimal
    base_price: int
    modifiers: tuple[Modifier, ...] = ()
    tax_uids: tuple[str, ...] = ()  # LINE_ITEM-scoped taxes listed in applied_taxes
    discount_uids: tuple[str, ...] = ()  # LINE_ITEM-scoped discounts listed in applied_discounts
    service_charge_uids: tuple[str, ...] = ()  # LINE_ITEM-scoped apportioned charges listed in applied_service_charges


@dataclass(frozen=True)
class Tax:
    uid: str
    percentage: Decimal
    inclusive: bool
    order_scope: bool


@dataclass(frozen=True)
class Discount:
    uid: str
    order_scope: bool
    percentage: Decimal | None = None  # FIXED_PERCENTAGE
    amount: int | None = None  # FIXED_AMOUNT


SUBTOTAL_PHASE = "SUBTOTAL_PHASE"
TOTAL_PHASE = "TOTAL_PHASE"
APPORTIONED_PERCENTAGE_PHASE = "APPORTIONED_PERCENTAGE_PHASE"
APPORTIONED_AMOUNT_PHASE = "APPORTIONED_AMOUNT_PHASE"
APPORTIONED_PHASES = (APPORTIONED_PERCENTAGE_PHASE, APPORTIONED_AMOUNT_PHASE)


@dataclass(frozen=True)
class ServiceCharge:
    uid: str
    phase: str
    percentage: Decimal | None = None
    amount: int | None = None
    taxable: bool = False
    tax_uids: tuple[str, ...] = ()  # LINE_ITEM-scoped taxes listed in the charge's applied_taxes
    order_scope: bool = True  # apportioned charges only: ORDER (every line) or LINE_ITEM (lines that list it)


@dataclass
class LineTotals:
    variation_total: int
    modifier_totals: list[int]
    gross: int
    discounts: dict[str, int] = field(default_factory=dict)
    taxes: dict[str, int] = field(default_factory=dict)
    service_charges: dict[str, int] = field(default_factory=dict)
    additive_tax: int = 0

    @property
    def total_discount(self) -> int:
        return sum(self.discounts.values())

    @property
    def total_tax(self) -> int:
        return sum(self.taxes.values())

    @property
    def total_service_charge(self) -> int:
        return sum(self.service_charges.values())

    @property
    def total(self) -> int:
        """gross - discounts + apportioned service charges + additive taxes (inclusive ones are inside the price)."""
        return self.gross - self.total_discount + self.total_service_charge + self.additive_tax


@dataclass
class ChargeTotals:
    applied: int
    taxes: dict[str, int] = field(default_factory=dict)
    additive_tax: int = 0
    apportioned: bool = False

    @property
    def total_tax(self) -> int:
        return sum(self.taxes.values())

    @property
    def total(self) -> int:
        return self.applied + self.additive_tax


@dataclass
class OrderTotals:
    lines: list[LineTotals]
    charges: dict[str, ChargeTotals]
    discounts: dict[str, int]  # discount uid -> applied cents
    taxes: dict[str, int]  # tax uid -> applied cents

    @property
    def total_discount(self) -> int:
        return sum(self.discounts.values())

    @property
    def total_tax(self) -> int:
        return sum(self.taxes.values())

    @property
    def total_service_charge(self) -> int:
        return sum(c.applied for c in self.charges.values())

    @property
    def gross(self) -> int:
        return sum(line.gross for line in self.lines)

    @property
    def total(self) -> int:
        """Line totals (apportioned charges inside them) plus the order-level service charges with their taxes."""
        return sum(line.total for line in self.lines) + sum(c.total for c in self.charges.values() if not c.apportioned)


def _gross(line: Line) -> LineTotals:
    variation_total = round_cents(line.base_price * line.quantity)
    modifier_totals = [round_cents(m.base_price * m.quantity * line.quantity) for m in line.modifiers]
    return LineTotals(variation_total, modifier_totals, variation_total + sum(modifier_totals))


def _spread(amount: int, targets: list[int], remaining: list[int]) -> list[tuple[int, int]]:
    """(line index, share) for an amount spread over the target lines in proportion to what is left on each."""
    shares = apportion(amount, [Decimal(remaining[k]) for k in targets])
    return [(k, s) for k, s in zip(targets, shares, strict=True) if s or amount == 0]


def compute_wire(
    lines: Iterable[Mapping[str, Any]],
    taxes: Iterable[Mapping[str, Any]] = (),
    discounts: Iterable[Mapping[str, Any]] = (),
    service_charges: Iterable[Mapping[str, Any]] = (),
) -> OrderTotals:
    """`compute` over an order's request objects as Square's CreateOrder takes them (square.requests: OrderLineItem,
    OrderLineItemTax, OrderLineItemDiscount, OrderServiceCharge; the fields the model reads, already validated)."""

    def uids(item: Mapping[str, Any], key: str, ref: str) -> tuple[str, ...]:
        return tuple(r[ref] for r in item.get(key, []))

    def optional(item: Mapping[str, Any]) -> tuple[Decimal | None, int | None]:
        percentage = Decimal(item["percentage"]) if "percentage" in item else None
        return percentage, item["amount_money"]["amount"] if "amount_money" in item else None

    return compute(
        [
            Line(
                uid=line["uid"],
                quantity=Decimal(line["quantity"]),
                base_price=line["base_price_money"]["amount"],
                modifiers=tuple(
                    Modifier(m["base_price_money"]["amount"], Decimal(m.get("quantity", "1")))
                    for m in line.get("modifiers", [])
                ),
                tax_uids=uids(line, "applied_taxes", "tax_uid"),
                discount_uids=uids(line, "applied_discounts", "discount_uid"),
                service_charge_uids=uids(line, "applied_service_charges", "service_charge_uid"),
            )
            for line in lines
        ],
        [Tax(t["uid"], Decimal(t["percentage"]), t["type"] == "INCLUSIVE", t["scope"] == "ORDER") for t in taxes],
        [Discount(d["uid"], d["scope"] == "ORDER", *optional(d)) for d in discounts],
        [
            ServiceCharge(
                c["uid"],
                c["calculation_phase"],
                *optional(c),
                c["taxable"],
                uids(c, "applied_taxes", "tax_uid"),
                c.get("scope", "ORDER") == "ORDER",
            )
            for c in service_charges
        ],
    )


def compute(
    lines: list[Line],
    taxes: list[Tax] | None = None,
    discounts: list[Discount] | None = None,
    service_charges: list[ServiceCharge] | None = None,
) -> OrderTotals:
    taxes, discounts, service_charges = taxes or [], discounts or [], service_charges or []
    out = [_gross(line) for line in lines]
    remaining = [t.gross for t in out]
    applied_discounts: dict[str, int] = {}

    def applies(discount: Discount, k: int) -> bool:
        return discount.order_scope or discount.uid in lines[k].discount_uids

    # discounts page: item-level %, order-level %, item-level fixed, order-level fixed; each one only on the
    # non-zero line totals it applies to, in proportion to them
    sequence = [
        [d for d in discounts if d.percentage is not None and not d.order_scope],
        [d for d in discounts if d.percentage is not None and d.order_scope],
        [d for d in discounts if d.amount is not None and not d.order_scope],
        [d for d in discounts if d.amount is not None and d.order_scope],
    ]
    for step in sequence:
        for discount in step:
            targets = [k for k in range(len(lines)) if applies(discount, k) and remaining[k] > 0]
            base = sum(remaining[k] for k in targets)
            if discount.percentage is not None:
                amount = round_cents(base * discount.percentage / HUNDRED)
            else:
                amount = discount.amount or 0
            amount = min(amount, base)  # a discount never takes a line below zero
            applied_discounts[discount.uid] = amount
            for k, share in _spread(amount, targets, remaining):
                out[k].discounts[discount.uid] = share
                remaining[k] -= share
            for k in targets:  # a line the discount applies to lists it, even at zero
                out[k].discounts.setdefault(discount.uid, 0)

    charges: dict[str, ChargeTotals] = {}
    apportioned_on_line = [0] * len(lines)  # taxable apportioned charges, part of the line's tax basis
    for phase in APPORTIONED_PHASES:
        for charge in (c for c in service_charges if c.phase == phase):
            targets = [
                k
                for k in range(len(lines))
                if (charge.order_scope or charge.uid in lines[k].service_charge_uids) and remaining[k] > 0
            ]
            base = sum(remaining[k] for k in targets)
            amount = _charge_amount(charge, base)
            charges[charge.uid] = ChargeTotals(amount, apportioned=True)
            for k, share in _spread(amount, targets, remaining):
                out[k].service_charges[charge.uid] = share
                if charge.taxable:
                    apportioned_on_line[k] += share

    subtotal = sum(remaining)
    for charge in (c for c in service_charges if c.phase == SUBTOTAL_PHASE):
        charges[charge.uid] = ChargeTotals(_charge_amount(charge, subtotal))

    # taxes: each one on the sum of its bases, rounded once, then spread over what it applies to
    applied_taxes: dict[str, int] = {}
    line_bases = [Decimal(remaining[k] + apportioned_on_line[k]) for k in range(len(lines))]
    taxable_charges = [c for c in service_charges if c.phase == SUBTOTAL_PHASE and c.taxable]

    def line_taxes(k: int) -> list[Tax]:
        return [t for t in taxes if t.order_scope or t.uid in lines[k].tax_uids]

    def charge_taxes(c: ServiceCharge) -> list[Tax]:
        return [t for t in taxes if t.order_scope or t.uid in c.tax_uids]

    for tax in taxes:
        # (kind, key, exact tax owed) for every line and taxable charge the tax applies to
        owed: list[tuple[str, int | str, Decimal]] = []
        for k in range(len(lines)):
            if tax in line_taxes(k):
                owed.append(("line", k, _exact_tax(tax, line_bases[k], line_taxes(k))))
        for c in taxable_charges:
            if tax in charge_taxes(c):
                owed.append(("charge", c.uid, _exact_tax(tax, Decimal(charges[c.uid].applied), charge_taxes(c))))
        amount = round_cents(sum((t[2] for t in owed), Decimal(0)))
        applied_taxes[tax.uid] = amount
        shares = apportion(amount, [t[2] for t in owed])
        for (kind, key, _), share in zip(owed, shares, strict=True):
            if kind == "line":
                line_totals = out[int(key)]
                line_totals.taxes[tax.uid] = share
                if not tax.inclusive:
                    line_totals.additive_tax += share
            else:
                charge_totals = charges[str(key)]
                charge_totals.taxes[tax.uid] = share
                if not tax.inclusive:
                    charge_totals.additive_tax += share

    so_far = sum(t.total for t in out) + sum(c.total for c in charges.values() if not c.apportioned)
    for charge in (c for c in service_charges if c.phase == TOTAL_PHASE):  # on the total after taxes
        charges[charge.uid] = ChargeTotals(_charge_amount(charge, so_far))
    return OrderTotals(out, {c.uid: charges[c.uid] for c in service_charges}, applied_discounts, applied_taxes)


def _charge_amount(charge: ServiceCharge, base: int) -> int:
    """A percentage of what the phase's charge is computed on, rounded; or its fixed amount."""
    if charge.percentage is not None:
        return round_cents(base * charge.percentage / HUNDRED)
    return charge.amount or 0


def _exact_tax(tax: Tax, base: Decimal, all_taxes: list[Tax]) -> Decimal:
    """Unrounded tax on one base. Additive: base x rate. Inclusive: the base already holds every inclusive tax on it,
    so each takes its share of base x rate / (1 + sum of inclusive rates)."""
    if not tax.inclusive:
        return base * tax.percentage / HUNDRED
    inclusive_rates = sum((t.percentage for t in all_taxes if t.inclusive), Decimal(0))
    return base * tax.percentage / (HUNDRED + inclusive_rates)
