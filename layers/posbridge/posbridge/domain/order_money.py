"""The money of an online order as Wix charged it: per-line tax and discounts, shipping, additional fees, the tip,
the payment status and balance, and `priceSummary`; plus the check that these add up, so a later step can prove that
what the POS collected equals what Wix charged.

Every field mirrors Wix's eCommerce `Order` (@wix/auto_sdk_ecom_orders build/cjs/meta.d.ts; the order object page,
dev.wix.com/docs/rest/business-solutions/e-commerce/orders/order-object). Amounts are exact Money, never floats.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from posbridge.domain.money import Money

# meta.d.ts `PaymentStatusEnumPaymentStatus`, all ten values.
PaymentStatus = Literal[
    "UNSPECIFIED",
    "NOT_PAID",
    "PAID",
    "PARTIALLY_REFUNDED",
    "FULLY_REFUNDED",
    "PENDING",
    "PARTIALLY_PAID",
    "PENDING_MERCHANT",
    "CANCELED",
    "DECLINED",
]
PAYMENT_STATUSES: tuple[PaymentStatus, ...] = PaymentStatus.__args__  # type: ignore[attr-defined]
# The source of an `AppliedDiscount` (its oneof): `coupon` (the customer's code), `discountRule` (automatic, from the
# site's discount rules), `merchantDiscount` (added by the merchant in the dashboard).
DiscountKind = Literal["COUPON", "AUTOMATIC", "MERCHANT"]
# meta.d.ts `DiscountType`: GLOBAL = the whole order, SPECIFIC_ITEMS = some lines, SHIPPING = the shipping price.
DiscountScope = Literal["GLOBAL", "SPECIFIC_ITEMS", "SHIPPING"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Tax(_Frozen):
    """meta.d.ts `LineItemTaxInfo` (on a line, the shipping cost and an additional fee)."""

    amount: Money  # taxAmount
    rate: Decimal | None = None  # taxRate, a fraction: "0.0875" is 8.75%
    taxable_amount: Money | None = None  # taxableAmount
    included_in_price: bool  # taxIncludedInPrice: the tax is inside the price, not added on top


class LineMoney(_Frozen):
    line_id: str
    quantity: int
    unit_price: Money  # `price`: one unit with its modifiers, after line-item discounts (display price)
    unit_price_before_discounts: Money  # `priceBeforeDiscounts` (defaults to `price`)
    line_price: Money  # `lineItemPrice`: the whole quantity, what `priceSummary.subtotal` sums
    discount: Money  # `totalDiscount`: this line's share of every applied discount, whole quantity
    tax: Tax | None = None  # `taxInfo` (or the deprecated `taxDetails`)
    total_before_tax: Money | None = None  # `totalPriceBeforeTax`
    total_after_tax: Money | None = None  # `totalPriceAfterTax`


class LineDiscount(_Frozen):
    line_id: str  # `lineItemDiscounts[].id`
    amount: Money  # `lineItemDiscounts[].totalDiscount`


class AppliedDiscount(_Frozen):
    """meta.d.ts `AppliedDiscount`: where it came from, what it is called, and how much it took from which lines."""

    id: str | None = None
    kind: DiscountKind
    scope: DiscountScope | None = None  # `discountType`; None when Wix leaves it out
    name: str | None = None  # coupon.name, discountRule.name, or merchantDiscount.description
    coupon_code: str | None = None  # coupon.code
    amount: Money  # coupon.amount / discountRule.amount / merchantDiscount.amount, or the sum of the line amounts
    lines: tuple[LineDiscount, ...] = ()  # `lineItemDiscounts`: empty = not spread over lines (e.g. shipping)

    @property
    def line_level(self) -> bool:
        """A discount on some lines only; otherwise it is the whole order's (or the shipping's)."""
        return self.scope == "SPECIFIC_ITEMS"


class Shipping(_Frozen):
    """meta.d.ts `V1ShippingInformation.cost` (`ShippingPrice`): the delivery fee."""

    title: str | None = None
    price: Money  # cost.price: before discounts and tax
    discount: Money | None = None  # cost.discount
    tax: Tax | None = None  # cost.taxInfo
    total_before_tax: Money | None = None
    total_after_tax: Money | None = None


class AdditionalFee(_Frozen):
    """meta.d.ts `AdditionalFee`: a service charge, a packaging fee, or the tip."""

    id: str | None = None
    code: str | None = None
    name: str
    price: Money  # `price`
    tax: Tax | None = None
    price_before_tax: Money | None = None
    price_after_tax: Money | None = None
    source: str | None = None  # `source`: SERVICE_PLUGIN | ITEM | MANUAL | SHIPPING | PLATFORM
    provider_app_id: str | None = None
    line_ids: tuple[str, ...] = ()  # empty = the whole order's fee
    is_tip: bool = False  # Wix Tips applies each tip as one additional fee whose `code` is the tip's id (a GUID)

    @property
    def charged(self) -> Money:
        """What the buyer pays for this fee: its price, plus its tax when the tax is added on top."""
        if self.tax is None or self.tax.included_in_price:
            return self.price
        return Money(amount=self.price.amount + self.tax.amount.amount, currency=self.price.currency)


class PriceSummary(_Frozen):
    """meta.d.ts `PriceSummary`."""

    subtotal: Money  # all lines, before discounts and before (added) tax
    shipping: Money  # before discounts and tax
    tax: Money  # all tax on the order
    discount: Money  # all discounts
    total: Money  # what the buyer pays
    additional_fees: Money  # `totalAdditionalFees`, before tax


class Balance(_Frozen):
    """meta.d.ts `BalanceSummary`: `balance.amount` is what is left to pay (negative = to refund)."""

    balance: Money
    paid: Money | None = None
    refunded: Money | None = None


class Difference(_Frozen):
    """One way the order does not add up: `name` says which rule, `expected` what the parts add up to."""

    name: str
    expected: Money
    actual: Money


class OrderMoney(_Frozen):
    currency: str
    tax_included_in_prices: bool  # the order's `taxIncludedInPrices`
    payment_status: PaymentStatus
    lines: tuple[LineMoney, ...]  # every line of the order (restaurant or not): totals are the whole order's
    discounts: tuple[AppliedDiscount, ...] = ()
    shipping: Shipping | None = None
    fees: tuple[AdditionalFee, ...] = ()  # the tip included (see `tip`)
    summary: PriceSummary
    balance: Balance | None = None

    @property
    def tip(self) -> AdditionalFee | None:
        return next((fee for fee in self.fees if fee.is_tip), None)

    @property
    def amount_to_collect(self) -> Money:
        """What the restaurant still has to take from the buyer: Wix's balance when it sent one, else by status."""
        if self.balance is not None:
            return self.balance.balance
        return expected_balance(self.payment_status, self.summary.total, paid=None) or self.summary.total


def expected_balance(status: PaymentStatus, total: Money, paid: Money | None) -> Money | None:
    """The balance Wix documents for a payment status (meta.d.ts `Balance`): UNSPECIFIED and NOT_PAID owe the total;
    PARTIALLY_PAID the total less what was paid; PENDING, PAID and the refunded ones nothing. Wix documents no rule
    for PENDING_MERCHANT, CANCELED and DECLINED: None (not checked)."""
    zero = Money(amount=Decimal(0), currency=total.currency)
    if status in ("UNSPECIFIED", "NOT_PAID"):
        return total
    if status == "PARTIALLY_PAID":
        return Money(amount=total.amount - paid.amount, currency=total.currency) if paid is not None else None
    if status in ("PENDING", "PAID", "PARTIALLY_REFUNDED", "FULLY_REFUNDED"):
        return zero
    return None


def _sum(amounts: list[Money], currency: str) -> Money:
    return Money(amount=sum((m.amount for m in amounts), Decimal(0)), currency=currency)


def added_tax(money: OrderMoney) -> Money:
    """The tax added on top of prices (inclusive tax is already inside them). A part without its own tax info takes
    the order's `taxIncludedInPrices`; with no per-part tax at all, `priceSummary.tax` is the order's tax."""
    taxes = [line.tax for line in money.lines] + [fee.tax for fee in money.fees]
    taxes.append(money.shipping.tax if money.shipping else None)
    known = [t for t in taxes if t is not None]
    if not known:
        zero = Money(amount=Decimal(0), currency=money.currency)
        return zero if money.tax_included_in_prices else money.summary.tax
    return _sum([t.amount for t in known if not t.included_in_price], money.currency)


def differences(money: OrderMoney) -> list[Difference]:
    """Every way the order's money does not add up, to the cent (empty = consistent):
    - subtotal = the lines' `lineItemPrice`s; totalAdditionalFees = the fees' prices (the tip is one of them);
    - discount = the applied discounts; each line's `totalDiscount` = its shares of them;
    - each line's totalPriceBeforeTax / totalPriceAfterTax = its lineItemPrice less its discount, less or plus its tax;
    - tax = the lines', the shipping's and the fees' tax (when they carry tax info);
    - total = subtotal - discount + shipping + totalAdditionalFees + the tax added on top of prices;
    - the balance is what the payment status says is left to pay.
    """
    c, s = money.currency, money.summary
    found: list[Difference] = []

    def check(name: str, expected: Money, actual: Money) -> None:
        if expected.amount != actual.amount:
            found.append(Difference(name=name, expected=expected, actual=actual))

    check("priceSummary.subtotal", _sum([line.line_price for line in money.lines], c), s.subtotal)
    check("priceSummary.totalAdditionalFees", _sum([fee.price for fee in money.fees], c), s.additional_fees)
    if money.shipping is not None:
        check("priceSummary.shipping", money.shipping.price, s.shipping)
    if money.discounts:
        check("priceSummary.discount", _sum([d.amount for d in money.discounts], c), s.discount)
    for discount in money.discounts:
        if discount.lines:
            shares = _sum([share.amount for share in discount.lines], c)
            check(f"appliedDiscounts[{discount.id or discount.name}].lineItemDiscounts", discount.amount, shares)
    if any(d.lines for d in money.discounts):
        for line in money.lines:
            line_shares = [sh.amount for d in money.discounts for sh in d.lines if sh.line_id == line.line_id]
            check(f"lineItems[{line.line_id}].totalDiscount", _sum(line_shares, c), line.discount)
    for line in money.lines:  # "after discounts, and before tax" / "after all discounts and tax" (OrderLineItem)
        net = line.line_price.amount - line.discount.amount
        tax = line.tax.amount.amount if line.tax else Decimal(0)
        included = line.tax.included_in_price if line.tax else money.tax_included_in_prices
        if line.total_before_tax is not None:
            before = Money(amount=net - tax if included else net, currency=c)
            check(f"lineItems[{line.line_id}].totalPriceBeforeTax", before, line.total_before_tax)
        if line.total_after_tax is not None:
            after = Money(amount=net if included else net + tax, currency=c)
            check(f"lineItems[{line.line_id}].totalPriceAfterTax", after, line.total_after_tax)
    taxes = [line.tax for line in money.lines] + [fee.tax for fee in money.fees]
    taxes.append(money.shipping.tax if money.shipping else None)
    if any(t is not None for t in taxes):
        check("priceSummary.tax", _sum([t.amount for t in taxes if t is not None], c), s.tax)
    expected_total = (
        s.subtotal.amount - s.discount.amount + s.shipping.amount + s.additional_fees.amount + added_tax(money).amount
    )
    check("priceSummary.total", Money(amount=expected_total, currency=c), s.total)
    if money.balance is not None:
        owed = expected_balance(money.payment_status, s.total, money.balance.paid)
        if owed is not None:
            check(f"balanceSummary.balance ({money.payment_status})", owed, money.balance.balance)
    return found
