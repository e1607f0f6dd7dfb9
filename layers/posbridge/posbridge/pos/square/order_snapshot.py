"""Square orders read back (Flows 2 and 3): Square's Order JSON and webhook summaries -> the canonical POS order.

Pure mapping, no I/O. Square facts (square-api.md, Orders and Webhooks): quantities are decimal strings, money is
integer minor units, orders rung up in the POS app have no `version`, and `order.*` webhooks carry a summary
(`order_id`, `version`, `location_id`, `state`, `created_at`, `updated_at`) in `data.object.order_<kind>`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from posbridge.domain.money import Money
from posbridge.domain.pos_order import (
    PosFulfillment,
    PosLine,
    PosModifier,
    PosOrderSnapshot,
    PosOrderSummary,
    PosPosition,
)
from posbridge.errors import PermanentError
from posbridge.pos.square.orders import SOURCE_NAME

# Keys of the summary inside `data.object` of each order event Square sends.
SUMMARY_KEYS = {
    "order.created": "order_created",
    "order.updated": "order_updated",
    "order.fulfillment.updated": "order_fulfillment_updated",
}


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        raise ValueError("missing timestamp")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("timestamp without offset")
    return moment


def _version(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("version must be an integer")
    return value


def position(order: dict[str, Any]) -> PosPosition:
    """Where the order (or a summary of it) is in its history: its version, else its updated_at."""
    updated = order.get("updated_at") or order.get("created_at")
    return PosPosition(version=_version(order.get("version")), updated_at=parse_time(updated))


def summary_from_event(event_type: str, data: dict[str, Any]) -> PosOrderSummary:
    """The order summary of an `order.*` notification's `data`; raises ValueError when it is not one."""
    key = SUMMARY_KEYS.get(event_type)
    obj = data.get("object")
    summary = obj.get(key) if key and isinstance(obj, dict) else None
    if not isinstance(summary, dict):
        raise ValueError(f"{event_type} carries no data.object.{key}")
    order_id = summary.get("order_id") or data.get("id")
    if not isinstance(order_id, str) or not order_id:
        raise ValueError("the summary names no order_id")
    try:
        return PosOrderSummary(
            order_id=order_id,
            location_id=summary.get("location_id") if isinstance(summary.get("location_id"), str) else None,
            state=summary.get("state") if isinstance(summary.get("state"), str) else None,
            position=position(summary),
        )
    except ValidationError as exc:
        raise ValueError(f"the summary is invalid: {exc.error_count()} error(s)") from None


def summary_from_order(order: dict[str, Any]) -> PosOrderSummary:
    """The summary of a full order (a search result), as a webhook would have told it."""
    return PosOrderSummary(
        order_id=str(order["id"]), location_id=order.get("location_id"), state=order.get("state"),
        position=position(order),
    )  # fmt: skip


def snapshot_from_square(order: dict[str, Any]) -> PosOrderSnapshot:
    """The canonical POS order; PermanentError("invalid_pos_order") if Square's JSON cannot be read."""
    try:
        currency = _currency(order)
        return PosOrderSnapshot(
            id=_text(order, "id"),
            location_id=_text(order, "location_id"),
            state=order.get("state", "OPEN"),
            position=position(order),
            created_at=parse_time(order.get("created_at")),
            currency=currency,
            lines=tuple(_line(line, currency) for line in order.get("line_items") or []),
            fulfillments=tuple(_fulfillment(f) for f in order.get("fulfillments") or []),
            reference_id=order.get("reference_id") or None,
            source_name=(order.get("source") or {}).get("name") or None,
            ticket_name=order.get("ticket_name") or None,
            made_by_bridge=(order.get("source") or {}).get("name") == SOURCE_NAME,
            tendered=bool(order.get("tenders")),
            discount=_money(order.get("total_discount_money"), currency),
            tax=_money(order.get("total_tax_money"), currency),
            fees=Money(
                amount=_money(order.get("total_service_charge_money"), currency).amount
                + _money(order.get("total_tip_money"), currency).amount,
                currency=currency,
            ),
            total=_money(order.get("total_money"), currency),
        )
    except (ValidationError, InvalidOperation, KeyError, TypeError, ValueError, AttributeError) as exc:
        order_id = order.get("id") if isinstance(order, dict) else None
        raise PermanentError(
            "invalid_pos_order", f"the Square order cannot be read: {type(exc).__name__}", {"order_id": order_id}
        ) from None


def _text(node: dict[str, Any], key: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing {key}")
    return value


def _currency(order: dict[str, Any]) -> str:
    for money in (
        order.get("total_money"),
        *(line.get("base_price_money") for line in order.get("line_items") or [] if isinstance(line, dict)),
    ):
        if isinstance(money, dict) and isinstance(money.get("currency"), str):
            return str(money["currency"])
    raise ValueError("the order names no currency")


def _money(value: Any, currency: str) -> Money:
    """Square's {amount (minor units), currency}; absent = zero."""
    if value is None:
        return Money(amount=Decimal(0), currency=currency)
    amount = value.get("amount", 0)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError("money amount must be an integer of minor units")
    return Money.from_minor_units(amount, value.get("currency") or currency)


def _quantity(value: Any) -> Decimal:
    quantity = Decimal(str(value))
    if not quantity.is_finite() or quantity <= 0:
        raise ValueError("quantity must be positive")
    return quantity


def _line(line: dict[str, Any], currency: str) -> PosLine:
    modifiers = tuple(
        PosModifier(
            name=str(m.get("name") or "Modifier"),
            quantity=_quantity(m.get("quantity", "1")),
            unit_price=_money(m.get("base_price_money"), currency) if m.get("base_price_money") else None,
        )
        for m in line.get("modifiers") or []
    )
    return PosLine(
        uid=_text(line, "uid"),
        name=str(line.get("name") or "Item"),
        quantity=_quantity(line.get("quantity")),
        variation_id=line.get("catalog_object_id") or None,
        variation_name=line.get("variation_name") or None,
        unit_price=_money(line.get("base_price_money"), currency),
        modifiers=modifiers,
        note=line.get("note") or None,
    )


def _fulfillment(fulfillment: dict[str, Any]) -> PosFulfillment:
    """Square has no "out for delivery" state: a DELIVERY still PREPARED counts as out for delivery once the courier
    has it (`delivery_details.courier_pickup_at` set), a SHIPMENT once `shipment_details.shipped_at` is set."""
    kind = _text(fulfillment, "type")
    state = fulfillment.get("state", "PROPOSED")
    picked_up = bool((fulfillment.get("delivery_details") or {}).get("courier_pickup_at"))
    shipped = bool((fulfillment.get("shipment_details") or {}).get("shipped_at"))
    out = state == "PREPARED" and ((kind == "DELIVERY" and picked_up) or (kind == "SHIPMENT" and shipped))
    return PosFulfillment(uid=_text(fulfillment, "uid"), type=kind, state=state, out_for_delivery=out)
