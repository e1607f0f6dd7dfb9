"""How the sandbox prices a checkout: discounts, tax, the delivery fee, additional fees and the tip, to the cent.

The fields and what each means come from @wix/auto_sdk_ecom_orders build/cjs/meta.d.ts (`OrderLineItem`: `price`,
`priceBeforeDiscounts`, `lineItemPrice`, `totalDiscount`, `totalPriceBeforeTax`, `totalPriceAfterTax`, `taxInfo`;
`PriceSummary`: subtotal "before discounts and before tax", shipping "before discounts and before tax",
totalAdditionalFees "before tax", total "after discounts and tax"; `LineItemTaxInfo.taxAmount`: "Calculated tax, based
on `taxable_amount` and `tax_rate`"; `Balance`: the amount left to pay by payment status). Tips are additional fees
whose code is the tip id (dev.wix.com/docs/rest/business-solutions/e-commerce/tips/tips/introduction).

Wix documents no rounding rule and no order for applying several discounts, so the sandbox takes the simplest
consistent one and says so:
- every amount is rounded to the cent, half up, once per line (never per unit, never on the order's sum);
- automatic discounts apply first, then the coupon, each to what the earlier ones left; a percentage discount is
  rounded on its eligible total, then spread over its lines in proportion to what each has left (largest remainder,
  so the shares add up to the discount exactly);
- a line is taxed on its price after discounts: additive tax = round(net x rate); tax included in the price =
  round(net x rate / (1 + rate)), and the taxable amount is net less that tax;
- the delivery fee and taxable additional fees are taxed the same way at the site's rate; the tip never is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal(0)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def tax_on(net: Decimal, rate: Decimal, included: bool) -> Decimal:
    """The tax in (included) or on (additive) a net amount, rounded half up to the cent."""
    if rate == 0 or net == 0:
        return ZERO
    return cents(net * rate / (1 + rate)) if included else cents(net * rate)


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` (whole cents) split in proportion to `weights` (each share at most its weight when total <= sum),
    by the largest-remainder method: the shares add up to `total` exactly."""
    weight_sum = sum(weights, ZERO)
    if total == 0 or weight_sum == 0:
        return [ZERO for _ in weights]
    exact = [total * w / weight_sum for w in weights]
    shares = [e.quantize(CENT, rounding=ROUND_FLOOR) for e in exact]
    left = int((total - sum(shares, ZERO)) / CENT)
    by_remainder = sorted(range(len(weights)), key=lambda i: (exact[i] - shares[i], weights[i]), reverse=True)
    for i in by_remainder[:left]:
        shares[i] += CENT
    return shares


@dataclass(frozen=True)
class LineIn:
    unit: Decimal  # one unit with its modifiers
    quantity: int
    tax_rate: Decimal  # a fraction: 0.0875


@dataclass(frozen=True)
class DiscountIn:
    kind: str  # "coupon" | "automatic"
    name: str
    code: str | None = None
    percentage: Decimal | None = None  # 10 = 10%
    amount: Decimal | None = None  # a fixed amount off
    lines: tuple[int, ...] | None = None  # the line indexes it applies to; None = the whole order


@dataclass(frozen=True)
class FeeIn:
    name: str
    amount: Decimal
    tax_rate: Decimal  # 0 = not taxed


@dataclass
class PricedLine:
    gross: Decimal  # lineItemPrice
    discount: Decimal = ZERO  # totalDiscount
    tax: Decimal = ZERO
    rate: Decimal = ZERO
    included: bool = False

    @property
    def net(self) -> Decimal:  # after discounts, tax as priced (inside it when included)
        return self.gross - self.discount

    @property
    def before_tax(self) -> Decimal:
        return self.net - self.tax if self.included else self.net

    @property
    def after_tax(self) -> Decimal:
        return self.net if self.included else self.net + self.tax


@dataclass
class PricedDiscount:
    spec: DiscountIn
    amount: Decimal
    shares: list[tuple[int, Decimal]]  # (line index, amount)


@dataclass
class PricedCharge:
    """The delivery fee or an additional fee: `price` as charged before any added tax."""

    price: Decimal
    tax: Decimal
    rate: Decimal
    included: bool

    @property
    def before_tax(self) -> Decimal:
        return self.price - self.tax if self.included else self.price

    @property
    def after_tax(self) -> Decimal:
        return self.price if self.included else self.price + self.tax


@dataclass
class PricedOrder:
    lines: list[PricedLine]
    discounts: list[PricedDiscount]
    shipping: PricedCharge | None
    fees: list[PricedCharge]  # in the order given, the tip last
    tip: Decimal | None
    included: bool
    summary: dict[str, Decimal] = field(default_factory=dict)


def price_order(
    lines: list[LineIn],
    *,
    included: bool,
    discounts: list[DiscountIn],
    shipping: Decimal | None,
    shipping_rate: Decimal,
    fees: list[FeeIn],
    tip: Decimal | None,
) -> PricedOrder:
    priced = [PricedLine(cents(line.unit * line.quantity), rate=line.tax_rate, included=included) for line in lines]
    applied: list[PricedDiscount] = []
    # automatic discounts first, then the coupon (see the module docstring)
    for spec in sorted(discounts, key=lambda d: d.kind != "automatic"):
        eligible = list(spec.lines) if spec.lines is not None else list(range(len(priced)))
        left = [priced[i].net for i in eligible]
        base = sum(left, ZERO)
        by_rate = spec.percentage is not None
        amount = cents(base * (spec.percentage or ZERO) / 100) if by_rate else min(spec.amount or ZERO, base)
        shares = allocate(amount, left)
        for i, share in zip(eligible, shares, strict=True):
            priced[i].discount += share
        applied.append(PricedDiscount(spec, amount, [(i, s) for i, s in zip(eligible, shares, strict=True) if s]))
    for line in priced:
        line.tax = tax_on(line.net, line.rate, included)
    ship = None
    if shipping is not None:
        ship = PricedCharge(shipping, tax_on(shipping, shipping_rate, included), shipping_rate, included)
    charges = [PricedCharge(f.amount, tax_on(f.amount, f.tax_rate, included), f.tax_rate, included) for f in fees]
    if tip is not None:
        charges.append(PricedCharge(tip, ZERO, ZERO, included))
    all_taxed: list[PricedLine | PricedCharge] = [*priced, *charges, *([ship] if ship else [])]
    added_tax = sum((part.tax for part in all_taxed if not part.included), ZERO)
    summary = {
        "subtotal": sum((line.gross for line in priced), ZERO),
        "discount": sum((d.amount for d in applied), ZERO),
        "shipping": ship.price if ship else ZERO,
        "totalAdditionalFees": sum((charge.price for charge in charges), ZERO),
        "tax": sum((part.tax for part in all_taxed), ZERO),
    }
    summary["total"] = (
        summary["subtotal"] - summary["discount"] + summary["shipping"] + summary["totalAdditionalFees"] + added_tax
    )
    return PricedOrder(priced, applied, ship, charges, tip, included, summary)


def balance(status: str, total: Decimal, paid: Decimal | None) -> tuple[Decimal, Decimal]:
    """(balance, paid) by payment status, as meta.d.ts `Balance` documents: UNSPECIFIED and NOT_PAID owe the total,
    PARTIALLY_PAID the total less what was paid, PENDING, PAID and the refunded ones nothing. Wix documents no rule
    for PENDING_MERCHANT, CANCELED and DECLINED: the sandbox treats them as nothing collected (the total owed)."""
    if status == "PARTIALLY_PAID":
        assert paid is not None
        return total - paid, paid
    if status in ("PAID", "PARTIALLY_REFUNDED", "FULLY_REFUNDED"):
        return ZERO, total
    if status == "PENDING":
        return ZERO, ZERO
    return total, ZERO
