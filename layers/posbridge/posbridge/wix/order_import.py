"""A POS order -> the body of Wix's Create Order (wix-api.md section 1, "Import from POS"). Pure mapping, no I/O.

- `channelInfo {type: POS, externalOrderId: <POS order id>}`: what Search Orders finds the order by, and what Flow 1
  and the reconciliation read to never send an imported order back to the POS.
- Lines: a mapped POS item becomes a Wix Restaurants line, `catalogReference {catalogItemId, appId (Restaurants),
  options {operationId, menuId, sectionId}}`; an unmapped one (only when the tenant chose custom lines) a line of the
  bridge's own app, `catalogReference {appId: <bridge app id>, catalogItemId: <POS variation id or line digest>}`.
  Prices are per unit with the modifiers included (as on Wix's own restaurant lines); modifiers, the variation and the
  line note become `descriptionLines` (Wix's `modifierGroups` are read-only).
- `priceSummary` complete: subtotal (lines), discount, tax, additional fees (service charges, tips), shipping 0, and
  the total the POS charged.
- Notifications to the buyer and the business are off unless the tenant turned them on.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from posbridge import RESTAURANTS_APP_ID
from posbridge.domain.money import Money
from posbridge.domain.order_import import ImportLine
from posbridge.domain.pos_order import PosLine, PosOrderSnapshot
from posbridge.errors import PermanentError

MAX_LINES = 300
MAX_QUANTITY = 100_000
NAME_MAX = 200
CATALOG_ITEM_ID_MAX = 36
DESCRIPTION_LINES_MAX = 20
DESCRIPTION_TEXT_MAX = 200


def whole_quantity(line: PosLine) -> int:
    """Wix quantities are whole numbers 1-100000; a weighed POS line (1.5 kg) cannot be imported as it is."""
    if line.quantity != line.quantity.to_integral_value() or not 1 <= line.quantity <= MAX_QUANTITY:
        raise PermanentError(
            "pos_quantity_not_importable",
            f"POS line {line.uid} has quantity {line.quantity}; Wix takes whole quantities from 1 to {MAX_QUANTITY}",
            {"line_uid": line.uid},
        )
    return int(line.quantity)


def custom_item_id(line: PosLine) -> str:
    """A stable id for a custom line, within Wix's 36 characters: the POS variation id, else a digest of the line."""
    if line.variation_id and len(line.variation_id) <= CATALOG_ITEM_ID_MAX:
        return line.variation_id
    source = line.variation_id or f"{line.name}|{line.unit_price.amount}"
    return "pos-" + hashlib.sha256(source.encode()).hexdigest()[: CATALOG_ITEM_ID_MAX - 4]


def _price(money: Money) -> dict[str, str]:
    return {"amount": money.decimal_string()}


def _description_lines(line: PosLine) -> list[dict[str, Any]]:
    entries: list[tuple[str, str]] = []
    if line.variation_name:
        entries.append(("Variation", line.variation_name))
    for modifier in line.modifiers:
        count = "" if modifier.quantity == 1 else f"{modifier.quantity.normalize():f} x "
        entries.append(("Modifier", f"{count}{modifier.name}"))
    if line.note:
        entries.append(("Note", line.note))
    if len(entries) > DESCRIPTION_LINES_MAX:  # keep the first 19 and say how many more there were
        rest = len(entries) - DESCRIPTION_LINES_MAX + 1
        entries = [*entries[: DESCRIPTION_LINES_MAX - 1], ("More", f"{rest} more modifiers or notes on the POS")]
    return [
        {"name": {"original": name}, "plainText": {"original": text[:DESCRIPTION_TEXT_MAX]}} for name, text in entries
    ]


def wix_line(entry: ImportLine, operation_id: str, bridge_app_id: str) -> dict[str, Any]:
    line = entry.line
    if entry.placement is not None:
        reference: dict[str, Any] = {
            "appId": RESTAURANTS_APP_ID,
            "catalogItemId": entry.placement.item_id,
            "options": {
                "operationId": operation_id,
                "menuId": entry.placement.menu_id,
                "sectionId": entry.placement.section_id,
            },
        }
    else:
        reference = {"appId": bridge_app_id, "catalogItemId": custom_item_id(line)}
    body: dict[str, Any] = {
        "quantity": whole_quantity(line),
        "productName": {"original": line.name[:NAME_MAX] or "Item"},
        "itemType": {"preset": "PHYSICAL"},
        "price": _price(line.unit_total()),
        "catalogReference": reference,
    }
    description = _description_lines(line)
    if description:
        body["descriptionLines"] = description
    return body


def create_order_body(
    order: PosOrderSnapshot,
    lines: list[ImportLine],
    *,
    location_id: str,
    operation_id: str,
    bridge_app_id: str,
    notify: bool,
) -> dict[str, Any]:
    """The Create Order request for a POS order (lines in POS order, so Wix line i is POS line i)."""
    if not lines:
        raise PermanentError("pos_order_without_lines", f"POS order {order.id} has no lines to import")
    if len(lines) > MAX_LINES:
        raise PermanentError(
            "pos_order_too_large", f"POS order {order.id} has {len(lines)} lines; Wix orders hold at most {MAX_LINES}"
        )
    currency = order.currency
    subtotal = sum((e.line.unit_total().amount * whole_quantity(e.line) for e in lines), Decimal(0))
    zero = Money(amount=Decimal(0), currency=currency)
    summary = {
        "subtotal": _price(Money(amount=subtotal, currency=currency)),
        "shipping": _price(zero),
        "tax": _price(order.tax),
        "discount": _price(order.discount),
        "totalAdditionalFees": _price(order.fees),
        "total": _price(order.total),
    }
    return {
        "order": {
            "channelInfo": {"type": "POS", "externalOrderId": order.id},
            "businessLocation": {"id": location_id},
            "currency": currency,
            "status": "APPROVED",  # it was rung up: there is nothing left to approve
            "paymentStatus": "PAID" if order.state == "COMPLETED" else "NOT_PAID",
            "lineItems": [wix_line(e, operation_id, bridge_app_id) for e in lines],
            "priceSummary": summary,
        },
        "settings": {
            "notifications": {"sendNotificationToBuyer": notify, "sendNotificationsToBusiness": notify},
        },
    }
