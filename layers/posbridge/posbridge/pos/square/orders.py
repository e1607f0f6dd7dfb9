"""Pure mapping between the canonical Order and Square's Orders API (no I/O).

A line the catalog mapping resolved (`CatalogLine`) is a catalog line: `catalog_object_id` = the ITEM_VARIATION,
each mapped modifier by its MODIFIER id, and no name (Square fills name and variation name from its catalog).
It still carries `base_price_money` = the price Wix charged: "If both `catalog_object_id` and `base_price_money` are
set, `base_price_money` will override the CatalogItemVariation's price" (Square's CreateOrderRequestLineItem
reference, square/connect-ruby-sdk docs/CreateOrderRequestLineItem.md), and the same for a modifier (squareup
`square/types/order_line_item_modifier.py`: "base_price_money will override the predefined CatalogModifier
price"). So the till shows what the buyer paid whatever the catalog says today. Any other line, or modifier, is
ad hoc (name + price from Wix). Free text is cut to Square's limits rather than failing the order; identifiers that
would have to be cut (reference id, line uid) refuse the order instead, because a cut id no longer maps back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from posbridge.domain.money import Money
from posbridge.domain.order import Address, Buyer, Fulfillment, LineItem, Modifier, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.pos_export import PosOrder
from posbridge.errors import PermanentError
from posbridge.pos.square.address import district, to_square_address
from posbridge.pos.square.customers import square_phone
from posbridge.pos.square.order_money import itemize, minor_units
from posbridge.pos.square.payments import UNPAID, to_collect_label

SOURCE_NAME = "Wix Restaurants (posbridge)"
REFERENCE_ID_MAX = 40
TICKET_NAME_MAX = 30
UID_MAX = 60
LINE_NAME_MAX = 512
VARIATION_NAME_MAX = 400
LINE_NOTE_MAX = 2000
MODIFIER_NAME_MAX = 255
FULFILLMENT_NOTE_MAX = 500
RECIPIENT_FIELD_MAX = 255
# FulfillmentRecipient.phone_number: at most 17 characters (Square's generated reference, square-php-sdk
# doc/models/fulfillment-recipient.md); the Python SDK's models carry no length constraints.
RECIPIENT_PHONE_MAX = 17


def to_square_order(
    order: Order, location_id: str, customer_id: str | None, catalog: Mapping[str, CatalogLine] | None = None
) -> dict[str, Any]:
    """The `order` object of a CreateOrder request (the caller adds the idempotency key)."""
    if len(order.id) > REFERENCE_ID_MAX:
        raise PermanentError(
            "square_reference_id_too_long",
            f"Wix order id is {len(order.id)} characters; Square's reference_id holds at most {REFERENCE_ID_MAX}.",
            {"order_id": order.id},
        )
    square: dict[str, Any] = {
        "location_id": location_id,
        "reference_id": order.id,
        "source": {"name": SOURCE_NAME},
        "ticket_name": ticket_name(order),
        "line_items": [_line_item(line, order.currency, (catalog or {}).get(line.id)) for line in order.line_items],
        "fulfillments": [_fulfillment(order)],
    }
    if customer_id:
        square["customer_id"] = customer_id
    itemize(order, square)  # taxes, discounts, fees and the rounding adjustment (order_money.py)
    return square


def ticket_name(order: Order) -> str:
    """What the kitchen sees on the ticket: "Wix #<number>", "UNPAID Wix #<number>" when the staff collect the money
    at handover (the amount is in the fulfillment note), cut to Square's 30 characters."""
    label = f"Wix #{order.number}" if order.number else f"Wix {order.id}"
    if not order.paid_online:
        label = f"{UNPAID} {label}"
    return label[:TICKET_NAME_MAX]


def _money(money: Money | None, currency: str) -> dict[str, Any]:
    if money is None:  # a modifier included in the price
        return {"amount": 0, "currency": currency.upper()}
    return {"amount": minor_units(money, currency), "currency": money.currency}


def _line_item(line: LineItem, currency: str, catalog: CatalogLine | None) -> dict[str, Any]:
    if len(line.id) > UID_MAX:
        raise PermanentError(
            "square_line_uid_too_long",
            f"Wix line item id is {len(line.id)} characters; Square's uid holds at most {UID_MAX}.",
            {"line_item_id": line.id},
        )
    item: dict[str, Any] = {"uid": line.id}
    if catalog is not None:
        item["catalog_object_id"] = catalog.variation_id
    else:
        item["name"] = line.name[:LINE_NAME_MAX]
    item["quantity"] = str(line.quantity)
    item["base_price_money"] = _money(line.unit_price, currency)  # on a catalog line: Wix's price overrides
    if line.variant_name and catalog is None:
        item["variation_name"] = line.variant_name[:VARIATION_NAME_MAX]
    if line.note:
        item["note"] = line.note[:LINE_NOTE_MAX]
    if line.modifiers:
        modifier_ids = catalog.modifier_ids if catalog is not None else ()
        item["modifiers"] = [
            _modifier(m, currency, modifier_ids[i] if i < len(modifier_ids) else None)
            for i, m in enumerate(line.modifiers)
        ]
    return item


def _modifier(modifier: Modifier, currency: str, catalog_id: str | None) -> dict[str, Any]:
    # Square multiplies base_price_money by the modifier quantity and then by the line quantity: price is per unit.
    square: dict[str, Any] = (
        {"catalog_object_id": catalog_id} if catalog_id else {"name": modifier.name[:MODIFIER_NAME_MAX]}
    )
    square["quantity"] = str(modifier.quantity)
    square["base_price_money"] = _money(modifier.price, currency)  # on a catalog modifier: Wix's price overrides
    return square


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:  # the domain should carry offsets; a naive time is taken as UTC, not local
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _recipient(buyer: Buyer) -> dict[str, Any]:
    recipient: dict[str, Any] = {"display_name": buyer.display_name[:RECIPIENT_FIELD_MAX]}
    if buyer.email:
        recipient["email_address"] = buyer.email[:RECIPIENT_FIELD_MAX]
    phone = recipient_phone(buyer.phone)
    if phone:
        recipient["phone_number"] = phone
    return recipient


def recipient_phone(phone: str | None) -> str | None:
    """The customer rule applies (it is the only validity rule Square documents for a phone number); a formatted
    number over the recipient's 17 characters goes compact ("+44 (0)20 ..." spelled "+44020..."), never cut."""
    valid = square_phone(phone)
    if valid is None or len(valid) <= RECIPIENT_PHONE_MAX:
        return valid
    return ("+" if valid.startswith("+") else "") + "".join(c for c in valid if c.isdigit())


def _one_line(address: Address | None) -> str | None:
    if address is None:
        return None
    place = " ".join(p for p in (district(address.subdivision), address.postal_code) if p)
    parts = (address.line1, address.line2, address.city, place, address.country)
    return ", ".join(p.strip() for p in parts if p and p.strip()) or None


def _window(fulfillment: Fulfillment) -> timedelta | None:
    if fulfillment.promised_at is None or fulfillment.window_end is None:
        return None
    span = fulfillment.window_end - fulfillment.promised_at
    return span if span >= timedelta(minutes=1) else None


def _note(order: Order, fulfillment: Fulfillment, as_pickup: bool) -> str | None:
    """What staff read on the ticket (pickup_details.note: "displayed in the Square Point of Sale application",
    squareup square/types/fulfillment_pickup_details.py), most important first so a cut keeps it: the money to
    collect, where a delivery goes and its window, the buyer's note and instructions."""
    parts: list[str] = []
    owed = order.to_collect
    if owed is not None:
        parts.append(to_collect_label(owed))
    if as_pickup:
        where = _one_line(fulfillment.address)
        parts.append(f"DELIVERY by our driver to: {where}" if where else "DELIVERY by our driver (no address given)")
        window = _window(fulfillment)
        if window is not None:
            parts.append(f"Delivery window: {int(window.total_seconds() // 60)} min from the pickup time")
    parts += [p.strip() for p in (order.buyer_note, fulfillment.instructions) if p and p.strip()]
    return "\n".join(parts)[:FULFILLMENT_NOTE_MAX] or None


def _fulfillment(order: Order) -> dict[str, Any]:
    return fulfillment(order, delivery_partner=False)


def fulfillment(order: Order, delivery_partner: bool) -> dict[str, Any]:
    """Square takes one fulfillment at creation. No fulfillment from Wix = pickup as soon as possible, so the
    order still reaches the kitchen display (Square lists API orders by their fulfillments).

    A Wix delivery goes as PICKUP (by the restaurant's own driver), its address, window and instructions in the
    note: a `DELIVERY` fulfillment "is not available to a seller and not shown in the Square Point of Sale unless you
    have a formal partnership agreement with Square" (developer.squareup.com/docs/orders-api/fulfillments). With the
    partnership (tenant setting square_delivery_partner) it goes as DELIVERY. The recipient Square requires
    (`display_name` unless a customer id is given) is the buyer's name, else "Online customer"; e-mail, phone and
    address only when the buyer gave them, so an order without them still exports."""
    wix = order.fulfillment or Fulfillment(type="PICKUP")
    kind = "DELIVERY" if wix.type == "DELIVERY" and delivery_partner else "PICKUP"
    details: dict[str, Any] = {"recipient": _recipient(order.buyer)}
    at_key = "pickup_at" if kind == "PICKUP" else "deliver_at"
    if wix.promised_at is None:
        details["schedule_type"] = "ASAP"
    else:
        details["schedule_type"] = "SCHEDULED"
        details[at_key] = _rfc3339(wix.promised_at)
        window = _window(wix)
        if window is not None:  # RFC 3339 durations, e.g. "PT30M" (fulfillment_pickup_details.py)
            window_key = "pickup_window_duration" if kind == "PICKUP" else "delivery_window_duration"
            details[window_key] = f"PT{int(window.total_seconds() // 60)}M"
    note = _note(order, wix, as_pickup=wix.type == "DELIVERY" and kind == "PICKUP")
    if note:
        details["note"] = note
    address = to_square_address(wix.address) if wix.type == "DELIVERY" else None
    if address:
        details["recipient"]["address"] = address
    details_key = "pickup_details" if kind == "PICKUP" else "delivery_details"
    return {"type": kind, "state": "PROPOSED", details_key: details}


def from_square_order(square: dict[str, Any]) -> PosOrder:
    """The POS side of a created order. Line uids are the Wix line ids we sent, so the map is uid -> uid."""
    order_id = square.get("id")
    if not isinstance(order_id, str) or not order_id:
        raise PermanentError("square_unexpected_response", "Square's order has no id.")
    version = square.get("version")
    lines = square.get("line_items") or []
    uids = [line["uid"] for line in lines if isinstance(line, dict) and isinstance(line.get("uid"), str)]
    customer_id = square.get("customer_id")
    return PosOrder(
        id=order_id,
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        line_ids={uid: uid for uid in uids},
        customer_id=customer_id if isinstance(customer_id, str) else None,
        total=_total(square.get("total_money")),
    )


def _total(money: Any) -> Money | None:
    """Square's `total_money` (square/types/order.py: "The total amount of money to collect for the order")."""
    if not isinstance(money, dict):
        return None
    amount, currency = money.get("amount"), money.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    return Money.from_minor_units(amount, currency)
