"""Pure mapping from the canonical Order to a Clover atomic order cart (no I/O), and the rounding adjustment.

The cart (`orderCart` of POST /atomic_order/checkouts and /atomic_order/orders; fields of the `OrderCart` model
generated from Clover's Platform API OpenAPI: `title, note, lineItems, discounts, orderType, serviceCharge, ...`):
- Quantity: Clover's line items have no quantity; "two of an item = two line items" (community.clover.com/
  questions/42331; docs.clover.com/reference/ordercreatelineitem caps an order at 3,000 line items). So a Wix line of
  quantity n is n Clover line items, each at the unit price.
- A catalog line (`CatalogLine`) goes as `item {id}` with `price` = what Wix charged (Clover's custom-order guide:
  "You can override default properties such as tax rates or item prices", docs.clover.com/docs/creating-custom-orders);
  each mapped modifier as a modification `{modifier {id}, name, amount}` ("name + amount override the inventory
  modifier"). A modification without a modifier id is ignored by Clover (working-with-orders), so an ad hoc modifier
  cannot be one: its price goes into the line's price and its name into the line's note. Any other line is ad hoc
  (`name` + `price`).
- Taxes: Clover computes them from tax rates it knows (percent x 100000, `TaxRate.rate`; line item `taxRates`). A
  line Wix taxed at a rate the merchant has goes with that rate; a line at a rate the merchant lacks goes untaxed, and
  Wix's tax on it goes as a named ad hoc line ("Tax 8.875%"), so the till still shows it. Tax included in the price
  (VAT) is inside the price already: the line goes untaxed. `taxRates: []` says "no tax" explicitly, so Clover does
  not apply the merchant's default rates to ad hoc lines.
- Discounts: a Wix discount with per-line shares -> a line discount `{name, amount: -cents}` on the units of each line
  (Clover writes discount amounts negative: "amount (negative cents)", the tutorial's `-200`); a Wix order discount
  without shares -> an order discount (Clover spreads it over the lines). A shipping discount lowers the delivery fee.
- Fees: Clover's order service charge is the merchant's single percentage gratuity (`ServiceCharge {id, name,
  enabled, percentageDecimal}`, SDK base/ServiceCharge.js: no amount), so Wix's fixed delivery and service fees go as
  ad hoc lines named as on Wix, taxed like the other lines.
- The tip is left out: it goes on the payment's `tipAmount` (payments.py).
Clover rounds its own way (tax per line, half up: docs.clover.com/docs/calculating-order-totals), Wix per line its
way. The gateway previews Clover's total with /atomic_order/checkouts and `adjust` closes the gap under one name,
`ADJUSTMENT_NAME`: an untaxed ad hoc line when Clover is short, a discount on an untaxed line when Clover is over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from posbridge.domain.money import Money
from posbridge.domain.order import LineItem, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.order_money import Tax
from posbridge.errors import PermanentError

ADJUSTMENT_NAME = "Wix rounding adjustment"
MARKER_PREFIX = "posbridge:"  # last line of the note: which export made the order (looked up before a re-create)
TITLE_MAX = 127
NOTE_MAX = 2047
LINE_NOTE_MAX = 255
NAME_MAX = 127
MAX_LINE_ITEMS = 3000
MAX_PREVIEWS = 5  # a gap closes in one step on untaxed parts; order-wide discounts may need another
TAX_RATE_SCALE = Decimal(10_000_000)  # Wix's fraction -> Clover's rate (percent x 100000)
UNPAID = "UNPAID"


@dataclass(frozen=True)
class MerchantSetup:
    """What the cart refers to on the merchant: its tax rates (rate -> id) and the order type to use."""

    tax_rate_ids: Mapping[int, str]
    order_type_id: str | None = None


def marker(idempotency_key: str) -> str:
    return MARKER_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]


def title(order: Order) -> str:
    label = f"Wix #{order.number}" if order.number else f"Wix {order.id}"
    return (f"{UNPAID} {label}" if not order.paid_online else label)[:TITLE_MAX]


def cents(money: Money, currency: str) -> int:
    if money.currency != currency.upper():
        raise PermanentError("currency_mismatch", f"A {money.currency} amount in a {currency} order.")
    try:
        return money.minor_units()
    except ValueError as exc:
        raise PermanentError("amount_not_representable", str(exc)) from None


def clover_rate(tax: Tax | None) -> int | None:
    """Clover's integer rate for Wix's fraction (0.08875 -> 887500), None when there is none or it has no exact
    integer form."""
    if tax is None or tax.rate is None or tax.rate <= 0:
        return None
    scaled = tax.rate * TAX_RATE_SCALE
    return int(scaled) if scaled == scaled.to_integral_value() else None


def target_total(order: Order) -> int | None:
    """What the Clover order must total, `Order.pos_total`, in cents (None: the order has no money)."""
    total = order.pos_total
    return None if total is None else cents(total, total.currency)


def _split(amount: int, parts: int) -> list[int]:
    """`amount` over `parts` units, the odd cents on the first ones."""
    base, extra = divmod(amount, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


class _Cart:
    def __init__(self, order: Order, setup: MerchantSetup, catalog: Mapping[str, CatalogLine]) -> None:
        self.order = order
        self.currency = order.currency
        self.setup = setup
        self.catalog = catalog
        self.lines: list[dict[str, Any]] = []
        self.owner: list[str | None] = []  # the Wix line id each Clover line stands for (None: a fee, tax, ...)
        self.missing_tax: dict[str, int] = {}  # "Tax 8.875%" -> cents Wix charged at a rate the merchant lacks

    def _tax_refs(self, tax: Tax | None, basis_cents: int) -> list[dict[str, str]]:
        if tax is None or tax.included_in_price or tax.amount.amount == 0:
            return []
        rate = clover_rate(tax)
        rate_id = self.setup.tax_rate_ids.get(rate) if rate is not None else None
        if rate_id is not None:
            return [{"id": rate_id}]
        label = f"Tax {(tax.rate * 100).normalize():f}%" if tax.rate is not None else "Tax"
        self.missing_tax[label] = self.missing_tax.get(label, 0) + cents(tax.amount, self.currency)
        return []

    def add_line(self, line: LineItem, share_by_line: dict[str, list[tuple[str, int]]]) -> None:
        money = self.order.money
        wix_tax = next((m.tax for m in money.lines if m.line_id == line.id), None) if money else None
        taxes = self._tax_refs(wix_tax, 0)
        mapped = self.catalog.get(line.id)
        unit = cents(line.unit_price, self.currency)
        modifications: list[dict[str, Any]] = []
        folded: list[str] = []
        for k, modifier in enumerate(line.modifiers):
            price = cents(modifier.price, self.currency) if modifier.price is not None else 0
            modifier_id = mapped.modifier_ids[k] if mapped and k < len(mapped.modifier_ids) else None
            if modifier_id:
                entry = {"modifier": {"id": modifier_id}, "name": modifier.name[:NAME_MAX], "amount": price}
                modifications += [dict(entry) for _ in range(modifier.quantity)]
            else:
                unit += price * modifier.quantity
                folded.append(f"+ {modifier.name}" + (f" x{modifier.quantity}" if modifier.quantity > 1 else ""))
        note = "\n".join(p for p in (*folded, (line.note or "").strip()) if p)[:LINE_NOTE_MAX]
        discounts = share_by_line.get(line.id, [])
        per_unit = [(name, _split(amount, line.quantity)) for name, amount in discounts]
        for u in range(line.quantity):
            wire: dict[str, Any] = {}
            if mapped is not None:
                wire["item"] = {"id": mapped.variation_id}
            else:
                name = line.name if not line.variant_name else f"{line.name} ({line.variant_name})"
                wire["name"] = name[:NAME_MAX]
            wire["price"] = unit
            if note:
                wire["note"] = note
            if modifications:
                wire["modifications"] = [dict(m) for m in modifications]
            unit_discounts = [{"name": name, "amount": -split[u]} for name, split in per_unit if split[u] > 0]
            if unit_discounts:
                wire["discounts"] = unit_discounts
            wire["taxRates"] = list(taxes)
            self.lines.append(wire)
            self.owner.append(line.id)

    def add_fee(self, name: str, price: Money, tax: Tax | None) -> None:
        amount = cents(price, self.currency)
        if amount <= 0:
            return
        self.lines.append({"name": name[:NAME_MAX], "price": amount, "taxRates": self._tax_refs(tax, amount)})
        self.owner.append(None)


def build_cart(
    order: Order,
    setup: MerchantSetup,
    idempotency_key: str,
    catalog: Mapping[str, CatalogLine] | None = None,
) -> tuple[dict[str, Any], list[str | None]]:
    """The `orderCart`, and for each of its line items the Wix line it stands for (None for fees and taxes)."""
    cart = _Cart(order, setup, catalog or {})
    money = order.money
    restaurant = {line.id for line in order.line_items}
    shares: dict[str, list[tuple[str, int]]] = {}
    order_discounts: list[dict[str, Any]] = []
    shipping_off = 0
    for discount in money.discounts if money else ():
        name = (discount.name or (f"Coupon {discount.coupon_code}" if discount.coupon_code else "Discount"))[:NAME_MAX]
        if discount.scope == "SHIPPING":
            shipping_off += cents(discount.amount, order.currency)
        elif discount.lines:
            for share in discount.lines:
                amount = cents(share.amount, order.currency)
                if amount > 0 and share.line_id in restaurant:
                    shares.setdefault(share.line_id, []).append((name, amount))
        elif (amount := cents(discount.amount, order.currency)) > 0:
            order_discounts.append({"name": name, "amount": -amount})
    for line in order.line_items:
        cart.add_line(line, shares)
    if money is not None and money.shipping is not None:
        shipping = money.shipping
        off = cents(shipping.discount, order.currency) if shipping.discount is not None else shipping_off
        price = Money.from_minor_units(max(cents(shipping.price, order.currency) - off, 0), order.currency)
        cart.add_fee(shipping.title or "Delivery fee", price, shipping.tax)
    for fee in money.fees if money else ():
        if not fee.is_tip:
            cart.add_fee(fee.name, fee.price, fee.tax)
    for label, amount in cart.missing_tax.items():
        if amount > 0:
            cart.lines.append({"name": label[:NAME_MAX], "price": amount, "taxRates": []})
            cart.owner.append(None)
    if len(cart.lines) > MAX_LINE_ITEMS:
        raise PermanentError(
            "clover_too_many_line_items",
            f"The order needs {len(cart.lines)} Clover line items (one per unit); Clover takes {MAX_LINE_ITEMS}.",
        )
    wire: dict[str, Any] = {"title": title(order), "note": note(order, marker(idempotency_key))}
    wire["lineItems"] = cart.lines
    if order_discounts:
        wire["discounts"] = order_discounts
    if setup.order_type_id:
        wire["orderType"] = {"id": setup.order_type_id}
    return wire, cart.owner


def note(order: Order, mark: str) -> str:
    """What the staff read, most important first (a cut keeps it), then the export's marker on the last line."""
    parts: list[str] = []
    owed = order.to_collect
    if owed is not None:
        parts.append(f"{UNPAID}: collect {owed.decimal_string()} {owed.currency}")
    fulfillment = order.fulfillment
    if fulfillment is not None:
        when = fulfillment.promised_at.strftime("%Y-%m-%d %H:%M %Z").strip() if fulfillment.promised_at else "ASAP"
        parts.append(f"{fulfillment.type} {when}")
        address = fulfillment.address
        if fulfillment.type == "DELIVERY" and address is not None:
            place = ", ".join(p for p in (address.line1, address.line2, address.city, address.postal_code) if p)
            if place:
                parts.append(f"To: {place}")
    buyer = order.buyer
    contact = " ".join(p for p in (buyer.display_name, buyer.phone or "") if p)
    parts.append(f"For: {contact}")
    parts += [
        p.strip() for p in (order.buyer_note, fulfillment.instructions if fulfillment else None) if p and p.strip()
    ]
    body = "\n".join(parts)[: NOTE_MAX - len(mark) - 1]
    return f"{body}\n{mark}"


def adjust(cart: dict[str, Any], clover_total: int, target: int) -> int:
    """Move Clover's total by `target - clover_total`; the adjustment in place afterwards (signed cents).

    Two named parts, both untaxed where possible so no Clover tax moves with them: an ad hoc line (what is added;
    it shrinks first when Clover comes out over), and a line discount (what is taken off once that line is gone;
    on an untaxed line if there is one, else on the line with the most left, whose tax then falls too: the next
    preview shows by how much and the line makes it up)."""
    lines: list[dict[str, Any]] = cart["lineItems"]
    gap = target - clover_total
    added = next((line for line in lines if line.get("name") == ADJUSTMENT_NAME), None)
    price = int(added["price"]) if added else 0
    if added is not None:
        lines.remove(added)
    if gap > 0 or price + gap >= 0:
        price += gap
    else:
        _discount_more(lines, gap + price)
        price = 0
    if price > 0:
        lines.append({"name": ADJUSTMENT_NAME, "price": price, "taxRates": []})
    return price - _adjustment_discount(lines)


def _discount_more(lines: list[dict[str, Any]], extra: int) -> None:
    """Add `extra` (negative cents) to the adjustment discounts, never taking a line below zero: on the line that
    already has one while it has room, then on untaxed lines, then on those with the most left."""

    def room(line: dict[str, Any]) -> int:
        entry = _adjustment_of(line)
        return _left(line) + (int(entry["amount"]) if entry else 0)

    while extra < 0:
        hosts = [line for line in lines if room(line) > 0]
        if not hosts:
            return  # nothing left to take off: Clover stays over (shows as the difference)
        host = max(hosts, key=lambda line: (_adjustment_of(line) is not None, not line.get("taxRates"), room(line)))
        entry = _adjustment_of(host)
        if entry is None:
            entry = {"name": ADJUSTMENT_NAME, "amount": 0}
            host.setdefault("discounts", []).append(entry)
        take = max(extra, -room(host))
        entry["amount"] = int(entry["amount"]) + take
        extra -= take


def _adjustment_of(line: dict[str, Any]) -> dict[str, Any] | None:
    return next((d for d in line.get("discounts", []) if d.get("name") == ADJUSTMENT_NAME), None)


def _left(line: dict[str, Any]) -> int:
    gross = int(line.get("price", 0)) + sum(int(m.get("amount", 0)) for m in line.get("modifications", []))
    return gross + sum(int(d.get("amount", 0)) for d in line.get("discounts", []) if d.get("name") != ADJUSTMENT_NAME)


def _adjustment_discount(lines: list[dict[str, Any]]) -> int:
    return -sum(
        int(d.get("amount", 0)) for line in lines for d in line.get("discounts", []) if d.get("name") == ADJUSTMENT_NAME
    )


def reconcile(cart: dict[str, Any], preview: Callable[[dict[str, Any]], int], target: int | None) -> int:
    """Preview Clover's total (`preview`: the cart -> Clover's `total`) and adjust the cart until it is `target`.
    Returns what the adjustment changed Clover's own total by (signed cents; 0: none needed), taxes that moved with
    it included. After MAX_PREVIEWS adjustments whatever is left shows as Clover's total differing from Wix's."""
    first: int | None = None
    for attempt in range(MAX_PREVIEWS + 1):
        total = preview(cart)
        first = total if first is None else first
        if target is None or total == target or attempt == MAX_PREVIEWS:
            return total - first
        adjust(cart, total, target)
    raise AssertionError("unreachable")
