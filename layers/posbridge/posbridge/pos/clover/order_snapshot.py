"""Clover orders read back (Flows 2 and 3): Clover's Order JSON -> the canonical POS order. Pure mapping, no I/O.

Fields: npm `remote-pay-cloud-api` 4.0.5 `order/Order.js` (`id, currency, total, paymentState, state, title, note,
orderType, serviceCharge, discounts, lineItems, payments, refunds, createdTime, modifiedTime, deletedTimestamp`),
`order/LineItem.js` (`id, item, name, price, unitQty, note, modifications, discounts, refunded`),
`order/Modification.js` (`name, amount`), `order/Discount.js` (`name, amount (negative cents) | percentage`),
`base/ServiceCharge.js` (`id, name, enabled, percentageDecimal`), `payments/Payment.js` (`amount, tipAmount,
result`); `paymentState` is `OPEN, PAID, REFUNDED, CREDITED, PARTIALLY_PAID, PARTIALLY_REFUNDED`
(`order/PaymentState.js`). Times are Unix ms.

How it maps:
- state: Clover has no cancelled or completed order state ("state" is "open"/"locked", set by Clover itself, and
  the SDK javadoc says not to rely on it). An order whose payments were all refunded (`paymentState` REFUNDED or
  CREDITED) is CANCELED: the sale is undone; a deleted order cannot be read (the caller sees 404); any other is
  OPEN. No fulfillment: Clover has none a REST app can read (`onlineOrder` needs Online Ordering partner access,
  docs.clover.com/dev/docs/inventory-faqs; `orderFulfillmentEvent` is a KDS line event): `fulfillments` is empty.
- money, by Clover's documented arithmetic (docs.clover.com/docs/calculating-order-totals): a line is its price
  plus its modifications, less its discounts (percentage first, then amounts); order discounts come off what is
  left; the service charge is `percentageDecimal` (percent x 10000) of the discounted subtotal, rounded half up and
  untaxed (docs.clover.com/docs/update-app-to-support-multiple-service-charges); tax is what `total` holds beyond
  the discounted subtotal and the service charge. `fees` = service charge + tips on the payments (Square's fees
  are service charges and tips too). `tendered`: a successful payment is applied.
- A line is one unit (Clover has no quantity: "two of an item = two line items"); PER_UNIT lines carry `unitQty`
  (x 1000).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError

from posbridge.domain.money import Money
from posbridge.domain.pos_order import PosLine, PosModifier, PosOrderSnapshot, PosOrderSummary, PosPosition
from posbridge.errors import PermanentError
from posbridge.pos.clover.cart import MARKER_PREFIX

UNDONE = frozenset({"REFUNDED", "CREDITED"})
UNIT_QTY_SCALE = Decimal(1000)
SERVICE_CHARGE_SCALE = Decimal(1_000_000)  # percentageDecimal: percent x 10000


def moment(ms: Any) -> datetime:
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise ValueError("a Clover time must be Unix ms")
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def summary_from_clover(raw: dict[str, Any], merchant_id: str) -> PosOrderSummary:
    """The summary of an order as the list answers it (no version on Clover orders: its modifiedTime orders it)."""
    return PosOrderSummary(
        order_id=str(raw["id"]),
        location_id=merchant_id,
        state=_state(raw),
        position=PosPosition(updated_at=moment(raw["modifiedTime"])),
    )


def _state(raw: dict[str, Any]) -> str:
    return "CANCELED" if raw.get("paymentState") in UNDONE else "OPEN"


def _elements(value: Any) -> list[dict[str, Any]]:
    rows = value.get("elements") if isinstance(value, dict) else None
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _cents(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("money must be integer cents")
    return value


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _off(left: int, discount: dict[str, Any]) -> int:
    if discount.get("percentage") is not None:
        taken = _half_up(Decimal(left) * Decimal(_cents(discount["percentage"])) / 100)
    else:
        taken = -_cents(discount.get("amount"))
    return max(0, min(taken, left))


def _discounted(gross: int, discounts: list[dict[str, Any]]) -> int:
    """What the discounts take off `gross`: percentages first, then amounts, never below zero."""
    taken = 0
    for d in sorted(discounts, key=lambda d: d.get("percentage") is None):
        taken += _off(gross - taken, d)
    return taken


def snapshot_from_clover(raw: dict[str, Any], payments: Iterable[dict[str, Any]], merchant_id: str) -> PosOrderSnapshot:
    """The canonical POS order; PermanentError("invalid_pos_order") when Clover's JSON cannot be read."""
    try:
        return _snapshot(raw, list(payments), merchant_id)
    except (ValidationError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise PermanentError(
            "invalid_pos_order", f"the Clover order cannot be read: {type(exc).__name__}", {"order_id": raw.get("id")}
        ) from None


def _snapshot(raw: dict[str, Any], payments: list[dict[str, Any]], merchant_id: str) -> PosOrderSnapshot:
    currency = str(raw.get("currency") or "")
    if len(currency) != 3:
        raise ValueError("the order names no currency")

    def money(cents: int) -> Money:
        return Money.from_minor_units(cents, currency)

    lines: list[PosLine] = []
    line_net = discount = 0
    for line in _elements(raw.get("lineItems")):
        price = _cents(line.get("price"))
        mods = _elements(line.get("modifications"))
        gross = price + sum(_cents(m.get("amount")) for m in mods)
        taken = _discounted(gross, _elements(line.get("discounts")))
        line_net += gross - taken
        discount += taken
        unit_qty = line.get("unitQty")
        lines.append(
            PosLine(
                uid=str(line["id"]),
                name=str(line.get("name") or "Item"),
                quantity=Decimal(_cents(unit_qty)) / UNIT_QTY_SCALE if unit_qty is not None else Decimal(1),
                variation_id=(line.get("item") or {}).get("id") or None,
                unit_price=money(price),
                modifiers=tuple(
                    PosModifier(name=str(m.get("name") or "Modifier"), unit_price=money(_cents(m.get("amount"))))
                    for m in mods
                ),
                note=line.get("note") or None,
            )
        )
    order_off = _discounted(line_net, _elements(raw.get("discounts")))
    subtotal = line_net - order_off
    discount += order_off
    charge = raw.get("serviceCharge") or {}
    service = 0
    if charge.get("percentageDecimal") is not None and charge.get("enabled", True):
        service = _half_up(Decimal(subtotal) * Decimal(_cents(charge["percentageDecimal"])) / SERVICE_CHARGE_SCALE)
    settled = [p for p in payments if p.get("result", "SUCCESS") == "SUCCESS"]
    tips = sum(_cents(p.get("tipAmount")) for p in settled)
    total = _cents(raw.get("total"))
    note = str(raw.get("note") or "")
    updated = raw.get("modifiedTime") if raw.get("modifiedTime") is not None else raw["createdTime"]
    return PosOrderSnapshot(
        id=str(raw["id"]),
        location_id=merchant_id,
        state=_state(raw),  # type: ignore[arg-type]
        position=PosPosition(updated_at=moment(updated)),
        created_at=moment(raw["createdTime"]),
        currency=currency,
        lines=tuple(lines),
        ticket_name=raw.get("title") or None,
        made_by_bridge=note.rsplit("\n", 1)[-1].startswith(MARKER_PREFIX),
        tendered=bool(settled),
        discount=money(discount),
        tax=money(max(total - subtotal - service, 0)),
        fees=money(service + tips),
        total=money(total),
    )
