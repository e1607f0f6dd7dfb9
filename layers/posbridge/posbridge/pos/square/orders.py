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
from datetime import UTC, datetime
from typing import Any

from posbridge.domain.money import Money
from posbridge.domain.order import Buyer, Fulfillment, LineItem, Modifier, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.errors import PermanentError
from posbridge.pos.port import PosOrder
from posbridge.pos.square.address import to_square_address
from posbridge.pos.square.customers import square_phone
from posbridge.pos.square.order_money import itemize, minor_units

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
    """What the kitchen sees on the ticket: "Wix #<number>", cut to Square's 30 characters."""
    label = f"Wix #{order.number}" if order.number else f"Wix {order.id}"
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


def _note(order: Order, fulfillment: Fulfillment) -> str | None:
    parts = [p.strip() for p in (order.buyer_note, fulfillment.instructions) if p and p.strip()]
    return "\n".join(parts)[:FULFILLMENT_NOTE_MAX] or None


def _fulfillment(order: Order) -> dict[str, Any]:
    """Square takes one fulfillment at creation. No fulfillment from Wix = pickup as soon as possible, so the
    order still reaches the kitchen display (Square lists API orders by their fulfillments)."""
    fulfillment = order.fulfillment or Fulfillment(type="PICKUP")
    details: dict[str, Any] = {"recipient": _recipient(order.buyer)}
    at_key = "pickup_at" if fulfillment.type == "PICKUP" else "deliver_at"
    if fulfillment.promised_at is None:
        details["schedule_type"] = "ASAP"
    else:
        details["schedule_type"] = "SCHEDULED"
        details[at_key] = _rfc3339(fulfillment.promised_at)
    note = _note(order, fulfillment)
    if note:
        details["note"] = note
    address = to_square_address(fulfillment.address) if fulfillment.type == "DELIVERY" else None
    if address:
        details["recipient"]["address"] = address
    details_key = "pickup_details" if fulfillment.type == "PICKUP" else "delivery_details"
    return {"type": fulfillment.type, "state": "PROPOSED", details_key: details}


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
    )
