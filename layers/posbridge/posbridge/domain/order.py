"""The canonical, POS-agnostic order: what Flow 1 reads from Wix and hands to a POS adapter."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from posbridge.domain.money import Money
from posbridge.domain.order_money import OrderMoney


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Modifier(_Frozen):
    name: str
    quantity: int = Field(default=1, ge=1)
    price: Money | None = None  # per unit of the modifier; None = included
    group_name: str | None = None
    wix_id: str | None = None  # the Wix Restaurants modifier id (Wix order line modifierGroups[].modifiers[].id)


class LineItem(_Frozen):
    id: str  # Wix line item id
    name: str
    quantity: int = Field(ge=1)
    unit_price: Money  # the item alone; each modifier's price comes on top (unit total = unit_price + modifiers)
    catalog_item_id: str | None = None
    wix_variant_id: str | None = None  # the Wix Restaurants item variant (size) the buyer chose, if Wix says
    variant_name: str | None = None
    modifiers: tuple[Modifier, ...] = ()
    note: str | None = None


class Address(_Frozen):
    """A postal address in ISO codes (personal data): what the shop read, for a POS to lay out its own way."""

    line1: str | None = None  # street and number
    line2: str | None = None  # apartment, suite, floor
    city: str | None = None
    subdivision: str | None = None  # ISO 3166-2, e.g. "US-NY"
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2, e.g. "US"


class Buyer(_Frozen):
    """Personal data (all but the contact id): never logged."""

    contact_id: str | None = None  # Wix buyerInfo.contactId
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address | None = None  # the billing address

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or "Online customer"


class Fulfillment(_Frozen):
    type: Literal["PICKUP", "DELIVERY"]
    promised_at: datetime | None = None  # None = as soon as possible
    window_end: datetime | None = None  # the end of the slot the buyer chose (Wix deliveryTimeSlot.to), if any
    address: Address | None = None  # delivery address (personal data)
    instructions: str | None = None


class Order(_Frozen):
    id: str  # Wix order id
    number: str | None = None
    status: str  # Wix order status: INITIALIZED | APPROVED | CANCELED | PENDING | REJECTED
    currency: str
    line_items: tuple[LineItem, ...]
    buyer: Buyer = Buyer()
    buyer_note: str | None = None
    fulfillment: Fulfillment | None = None
    total: Money | None = None  # priceSummary.total
    money: OrderMoney | None = None  # taxes, discounts, fees, tip, payment status: the whole order's (order_money.py)

    @property
    def paid_online(self) -> bool:
        """Wix took the buyer's money (`paymentStatus` PAID). Any other status (cash at the counter or on delivery,
        a payment still pending, part paid) leaves money for the staff to collect. An order read without its money
        (callers that build one by hand) counts as paid, as every order did before payment statuses were read."""
        return self.money is None or self.money.payment_status == "PAID"

    @property
    def to_collect(self) -> Money | None:
        """What the staff take at pickup or on delivery: None when paid online; else Wix's balance when it is
        positive (a part-paid order owes the rest), else the whole total."""
        if self.paid_online or self.money is None:
            return None
        owed = self.money.amount_to_collect
        return owed if owed.amount > 0 else self.money.summary.total

    @property
    def pos_total(self) -> Money | None:
        """What the POS order must total: Wix's `priceSummary.total` less the tip (it goes on the POS payment) and
        less the lines of other apps (they do not go to the restaurant's POS). None when the order has no money."""
        money = self.money
        if money is None:
            return None
        total = money.summary.total.amount
        if money.tip is not None:
            total -= money.tip.charged.amount
        restaurant = {line.id for line in self.line_items}
        for line in money.lines:
            if line.line_id not in restaurant:
                added = line.tax.amount.amount if line.tax and not line.tax.included_in_price else 0
                total -= line.line_price.amount - line.discount.amount + added
        return Money(amount=total, currency=money.currency)
