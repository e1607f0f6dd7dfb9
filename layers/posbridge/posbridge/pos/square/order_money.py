"""The money of a Wix order itemized on a Square order, reconciled to the cent (no I/O).

Square's marketplace rules: "any taxes, fees, discounts, or other surcharges must be itemized on the Square order"
(developer.squareup.com/docs/app-marketplace/requirements/orders-api). What goes where (squareup 46 types):
- a line's tax -> one order `OrderLineItemTax` per distinct (rate, inclusive), `scope: LINE_ITEM`, `type` ADDITIVE or
  INCLUSIVE, `percentage` = Wix's rate x 100, applied to the lines (and fees) that carry it through their
  `applied_taxes` ("LINE_ITEM scoped taxes must be added in requests for the tax to apply", square/types/
  order_service_charge.py; OrderLineItemTax.scope, order_line_item_tax.py);
- a discount -> one `FIXED_AMOUNT` `LINE_ITEM` discount per Wix per-line share (`lineItemDiscounts`), so Square has
  nothing to apportion or round; a Wix discount without shares -> one `ORDER`-scoped FIXED_AMOUNT discount (Square
  spreads it, developer.squareup.com/docs/orders-api/discounts); a shipping discount lowers the delivery fee (Square
  discounts apply to line items only, order_line_item_discount.py);
- the delivery fee and every other Wix additional fee -> an `OrderServiceCharge` with `amount_money`,
  `calculation_phase: SUBTOTAL_PHASE` ("calculated before taxes") and `taxable` exactly when Wix taxed it, with the
  matching tax in its `applied_taxes` (developer.squareup.com/docs/orders-api/service-charges);
- the tip is left out: it goes on the payment's `tip_money` (developer.squareup.com/docs/payments-api/take-payments/
  external-payments). Wix marks no courier's tip apart from the restaurant's (a tip is an additional fee whose code
  is the Tips API tip id, nothing more: domain/order_money.py), so no tip becomes a service charge.

Square computes each tax from its percentage and rounds it once on the sum of what it applies to (banker's rounding);
Wix rounded per line. Where the two differ, a named adjustment makes Square's total equal Wix's total less the tip
(`ADJUSTMENT_NAME`): a non-taxable `TOTAL_PHASE` service charge ("calculated after taxes", so it changes no tax) when
Square comes out short, a FIXED_AMOUNT discount on one line when it comes out over (Square takes no negative money);
where no line has money left to discount, each tax is applied per item so Square rounds as Wix did, then short.
Square's result is predicted with the local model of its documented arithmetic (arithmetic.py, the one the Square
sandbox runs), so no CalculateOrder call is spent per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from posbridge.domain.money import Money
from posbridge.domain.order import Order
from posbridge.domain.order_money import OrderMoney, Tax
from posbridge.errors import PermanentError
from posbridge.pos.square import arithmetic as ar

ADJUSTMENT_NAME = "Wix rounding adjustment"
ADJUSTMENT_UID = "wix-rounding-adjustment"
DELIVERY_FEE_UID = "wix-delivery-fee"
NAME_MAX = 255  # OrderLineItemTax / OrderLineItemDiscount / OrderServiceCharge name
PERCENTAGE_PLACES = 6  # a decimal string such as "7.25"; Square documents no more than the sandbox's 6 places


@dataclass(frozen=True)
class Adjustment:
    """What the adjustment added to Square's own total (minor units, signed) and the name it carries."""

    minor: int
    name: str | None


def minor_units(money: Money, currency: str) -> int:
    """Square's integer amount; an amount finer than the currency allows is refused, never rounded."""
    if money.currency != currency.upper():
        raise PermanentError(
            "currency_mismatch", f"A {money.currency} price in a {currency.upper()} order cannot be sent to Square."
        )
    try:
        return money.minor_units()
    except ValueError as exc:
        raise PermanentError("amount_not_representable", str(exc)) from None


def total_without_tip(order: Order) -> int | None:
    """What the Square order must total, `Order.pos_total`, in minor units (None: an older event without money)."""
    total = order.pos_total
    return None if total is None else minor_units(total, total.currency)


def itemize(order: Order, square: dict[str, Any]) -> None:
    """Add the taxes, discounts and service charges of `order` to the CreateOrder `square` order (its line items
    already built, uid = Wix line id), then the adjustment that brings Square's total to Wix's, if one is needed."""
    money = order.money
    if money is None:
        return
    builder = _Builder(money, {line["uid"]: line for line in square.get("line_items", [])})
    builder.lines()
    builder.discounts()
    builder.fees()
    if builder.taxes:
        square["taxes"] = list(builder.taxes.values())
    if builder.discount_list:
        square["discounts"] = builder.discount_list
    if builder.charges:
        square["service_charges"] = builder.charges
    target = total_without_tip(order)
    if target is not None:
        _reconcile(square, target, money.currency)


def adjustment(square: dict[str, Any]) -> Adjustment:
    """The adjustment on a CreateOrder `square` order: Square's total with it less Square's total without it."""
    if not _adjustments_in(square):
        return Adjustment(0, None)
    return Adjustment(square_total(square) - square_total(_without_adjustment(square)), ADJUSTMENT_NAME)


def square_total(square: dict[str, Any]) -> int:
    """Square's `total_money` (before any tip) for a CreateOrder order as this module builds it, by the local model
    of Square's arithmetic."""
    return _totals(square).total


# --- building ---------------------------------------------------------------------------------------------------


def _percentage(rate: Decimal) -> str | None:
    """Wix's fraction as Square's percentage string ("0.08875" -> "8.875"); None when Square cannot carry it."""
    percentage = (rate * 100).normalize()
    if percentage <= 0 or percentage != round(percentage, PERCENTAGE_PLACES):
        return None
    return format(percentage, "f")


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


class _Builder:
    def __init__(self, money: OrderMoney, lines: dict[str, dict[str, Any]]) -> None:
        self.money = money
        self.currency = money.currency
        self.square_lines = lines
        self.taxes: dict[tuple[str, bool], dict[str, Any]] = {}
        self.discount_list: list[dict[str, Any]] = []
        self.charges: list[dict[str, Any]] = []

    def _minor(self, money: Money) -> int:
        return minor_units(money, self.currency)

    def _tax_uid(self, tax: Tax | None) -> str | None:
        """The order tax for Wix's (rate, inclusive), created on first use (also where Wix's rounding left 0.00 of
        it: the part is taxed at that rate all the same); None for no tax, a zero rate, or a rate Square cannot carry
        (Wix sent an amount without its rate: the adjustment then covers that tax)."""
        if tax is None or tax.rate is None:
            return None
        percentage = _percentage(tax.rate)
        if percentage is None:
            return None
        key = (percentage, tax.included_in_price)
        if key not in self.taxes:
            kind = "INCLUSIVE" if tax.included_in_price else "ADDITIVE"
            self.taxes[key] = {
                "uid": f"wix-tax-{len(self.taxes) + 1}",
                "name": f"Tax {percentage}%{' (included)' if tax.included_in_price else ''}",
                "type": kind,
                "percentage": percentage,
                "scope": "LINE_ITEM",
            }
        return str(self.taxes[key]["uid"])

    def lines(self) -> None:
        for line in self.money.lines:
            square_line = self.square_lines.get(line.line_id)
            tax_uid = self._tax_uid(line.tax) if square_line is not None else None
            if square_line is not None and tax_uid is not None:
                square_line.setdefault("applied_taxes", []).append({"tax_uid": tax_uid})

    def discounts(self) -> None:
        for i, discount in enumerate(self.money.discounts, start=1):
            if discount.scope == "SHIPPING":
                continue  # lowers the delivery fee (fees())
            name = (discount.name or (f"Coupon {discount.coupon_code}" if discount.coupon_code else "Discount"))[
                :NAME_MAX
            ]
            if not discount.lines:
                amount = self._minor(discount.amount)
                if amount > 0 and self.square_lines:
                    self.discount_list.append(self._fixed(f"wix-discount-{i}", name, amount, "ORDER"))
                continue
            for k, share in enumerate(discount.lines, start=1):
                amount = self._minor(share.amount)
                square_line = self.square_lines.get(share.line_id)
                if amount <= 0 or square_line is None:
                    continue
                uid = f"wix-discount-{i}-{k}"
                self.discount_list.append(self._fixed(uid, name, amount, "LINE_ITEM"))
                square_line.setdefault("applied_discounts", []).append({"discount_uid": uid})

    def _fixed(self, uid: str, name: str, amount: int, scope: str) -> dict[str, Any]:
        return {
            "uid": uid,
            "name": name,
            "type": "FIXED_AMOUNT",
            "amount_money": _money(amount, self.currency),
            "scope": scope,
        }

    def fees(self) -> None:
        shipping = self.money.shipping
        if shipping is not None:
            off = shipping.discount.amount if shipping.discount is not None else Decimal(0)
            if not off:
                off = sum((d.amount.amount for d in self.money.discounts if d.scope == "SHIPPING"), Decimal(0))
            price = Money(amount=max(shipping.price.amount - off, Decimal(0)), currency=self.currency)
            self._charge(DELIVERY_FEE_UID, shipping.title or "Delivery fee", price, shipping.tax)
        for i, fee in enumerate(self.money.fees, start=1):
            if not fee.is_tip:  # the tip goes on the payment
                self._charge(f"wix-fee-{i}", fee.name, fee.price, fee.tax)

    def _charge(self, uid: str, name: str, price: Money, tax: Tax | None) -> None:
        amount = self._minor(price)
        if amount <= 0:
            return
        tax_uid = self._tax_uid(tax)
        charge: dict[str, Any] = {
            "uid": uid,
            "name": name[:NAME_MAX],
            "amount_money": _money(amount, self.currency),
            "calculation_phase": ar.SUBTOTAL_PHASE,
            "taxable": tax_uid is not None,
        }
        if tax_uid is not None:
            charge["applied_taxes"] = [{"tax_uid": tax_uid}]
        self.charges.append(charge)


# --- reconciling --------------------------------------------------------------------------------------------------


def _reconcile(square: dict[str, Any], target: int, currency: str) -> None:
    """Add the adjustment that makes Square's total `target` (nothing when it already is)."""
    short = target - square_total(square)
    if short == 0:
        return
    if short < 0:
        _discount_down_to(square, target, currency)
        short = target - square_total(square)
    if short > 0:
        square.setdefault("service_charges", []).append(
            {
                "uid": ADJUSTMENT_UID,
                "name": ADJUSTMENT_NAME,
                "amount_money": _money(short, currency),
                "calculation_phase": ar.TOTAL_PHASE,
                "taxable": False,
            }
        )


def _discount_down_to(square: dict[str, Any], target: int, currency: str) -> None:
    """Square came out over Wix: a FIXED_AMOUNT discount on one line, the smallest that brings Square's total to
    `target` or just under (a line's additive tax falls with it; a service charge then makes up the cent).
    The line: one whose discount changes no added tax if there is one, else the one with the most left to discount."""
    totals = _totals(square)
    lines = square.get("line_items", [])
    taxes = {t["uid"]: t for t in square.get("taxes", [])}

    def additive(k: int) -> bool:
        return any(taxes[r["tax_uid"]]["type"] == "ADDITIVE" for r in lines[k].get("applied_taxes", []))

    left = [t.gross - t.total_discount for t in totals.lines]
    candidates = sorted((k for k in range(len(lines)) if left[k] > 0), key=lambda k: (additive(k), -left[k], k))
    if not candidates:  # every line is discounted to zero: round each tax per item, as Wix did (see _tax_per_item)
        _tax_per_item(square)
        return
    k = candidates[0]
    amount = min(square_total(square) - target, left[k])
    discount = {
        "uid": ADJUSTMENT_UID,
        "name": ADJUSTMENT_NAME,
        "type": "FIXED_AMOUNT",
        "amount_money": _money(amount, currency),
        "scope": "LINE_ITEM",
    }
    square.setdefault("discounts", []).append(discount)
    link = {"discount_uid": ADJUSTMENT_UID}
    lines[k].setdefault("applied_discounts", []).append(link)
    # an additive tax falls with the discount, so the total can still be over: discount one cent more at a time
    while square_total(square) > target and amount < left[k]:
        amount += 1
        discount["amount_money"] = _money(amount, currency)
    if square_total(square) > target:  # the line had too little left: no discount, round each tax per item instead
        for holder, key, item in ((square, "discounts", discount), (lines[k], "applied_discounts", link)):
            holder[key].remove(item)
            if not holder[key]:
                del holder[key]
        _tax_per_item(square)


def _tax_per_item(square: dict[str, Any]) -> None:
    """One copy of each tax per line or service charge it applies to, so Square rounds it per item, not once on the
    sum (arithmetic.py): bankers' rounding per item never exceeds Wix's half-up per line, so Square is no longer
    over and `_reconcile` makes up what is short. Only where no line has money enough left for the adjustment's
    discount (e.g. a fully discounted dish with a taxed fee), since it prints one tax row per item on the receipt."""
    originals = {t["uid"]: t for t in square.get("taxes", [])}
    copies: list[dict[str, Any]] = []
    items = [*square.get("line_items", []), *square.get("service_charges", [])]
    for item in items:
        for applied in item.get("applied_taxes", []):
            copy = {**originals[applied["tax_uid"]], "uid": f"{applied['tax_uid']}-{len(copies) + 1}"}
            copies.append(copy)
            applied["tax_uid"] = copy["uid"]
    if copies:
        square["taxes"] = copies


def _adjustments_in(square: dict[str, Any]) -> bool:
    return any(
        item.get("uid") == ADJUSTMENT_UID for key in ("discounts", "service_charges") for item in square.get(key, [])
    )


def _without_adjustment(square: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for line in square.get("line_items", []):
        kept = [r for r in line.get("applied_discounts", []) if r["discount_uid"] != ADJUSTMENT_UID]
        line = {k: v for k, v in line.items() if k != "applied_discounts"}
        if kept:
            line["applied_discounts"] = kept
        lines.append(line)
    out = {**square, "line_items": lines}
    for key in ("discounts", "service_charges"):
        out[key] = [item for item in square.get(key, []) if item.get("uid") != ADJUSTMENT_UID]
    return out


def _totals(square: dict[str, Any]) -> ar.OrderTotals:
    """The local model's totals for the request fields this module and orders.py write."""
    return ar.compute_wire(
        square.get("line_items", []), square.get("taxes", []), square.get("discounts", []),
        square.get("service_charges", []),
    )  # fmt: skip
