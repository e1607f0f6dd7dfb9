"""What the seller's Square Point of Sale shows: the orders staff can see, with what they read on a ticket.

Visibility (developer.squareup.com/docs/orders-api/fulfillments):
- "Orders with fulfillment appear on Square first-party products (such as the Seller Dashboard and Point of Sale
  application) only after they are paid for": an API order with a fulfillment is listed once nothing is due.
- A `DELIVERY` fulfillment "is not available to a seller and not shown in the Square Point of Sale unless you have a
  formal partnership agreement with Square": listed only for a merchant flagged as a partner (control API).
- DRAFT orders are never shown: "Draft orders can be updated, but cannot be paid or fulfilled" (OrderState,
  square-php-sdk doc/models/order-state.md), so none is ever paid.
- API orders without a fulfillment are not documented as shown anywhere on the POS: the sandbox lists none of them
  (never more than Square shows). Orders rung up on the POS app itself are listed.
"""

from __future__ import annotations

from typing import Any

from devstack.square_sandbox.orders import DETAILS_KEY, POS_APP_SOURCE
from devstack.square_sandbox.state import Merchant

# the fulfillment times staff read on an order ticket, by fulfillment type (square/types/fulfillment_*_details.py)
_TIMES = {
    "PICKUP": ("schedule_type", "pickup_at", "pickup_window_duration", "prep_time_duration", "placed_at"),
    "DELIVERY": ("schedule_type", "deliver_at", "delivery_window_duration", "prep_time_duration", "placed_at"),
    "SHIPMENT": ("expected_shipped_at", "placed_at"),
}


def _hidden_reason(m: Merchant, order: dict[str, Any]) -> str | None:
    if order["state"] == "DRAFT":
        return "draft"
    from_pos_app = (order.get("source") or {}).get("name") == POS_APP_SOURCE and "version" not in order
    fulfillments = order.get("fulfillments", [])
    if not fulfillments:
        return None if from_pos_app else "no fulfillment"
    if order["id"] not in m.paid_orders:
        return "unpaid"
    if any(x["type"] == "DELIVERY" for x in fulfillments) and not m.pos_partner:
        return "DELIVERY without a partnership"
    return None


def _money(node: dict[str, Any], key: str) -> int:
    return int((node.get(key) or {}).get("amount", 0))


def _ticket(m: Merchant, order: dict[str, Any]) -> dict[str, Any]:
    fulfillments = []
    for x in order.get("fulfillments", []):
        details = x.get(DETAILS_KEY[x["type"]], {})
        recipient = details.get("recipient", {})
        fulfillments.append(
            {
                "type": x["type"],
                "state": x["state"],
                "recipient": {
                    k: recipient[k]
                    for k in ("display_name", "phone_number", "email_address", "address")
                    if k in recipient
                },
                "times": {k: details[k] for k in _TIMES[x["type"]] if k in details},
                "note": details.get("note"),
                **({"dropoffNotes": details["dropoff_notes"]} if "dropoff_notes" in details else {}),
            }
        )
    return {
        "orderId": order["id"],
        "state": order["state"],
        "ticketName": order.get("ticket_name"),
        "referenceId": order.get("reference_id"),
        "source": (order.get("source") or {}).get("name"),
        "createdAt": order["created_at"],
        "paid": order["id"] in m.paid_orders,
        "amountDue": _money(order, "net_amount_due_money"),
        "lines": [
            {
                "name": line.get("name"),
                "variationName": line.get("variation_name"),
                "catalogObjectId": line.get("catalog_object_id"),
                "quantity": line["quantity"],
                "modifiers": [
                    {
                        "name": x.get("name"),
                        "quantity": x.get("quantity", "1"),
                        "catalogObjectId": x.get("catalog_object_id"),
                    }
                    for x in line.get("modifiers", [])
                ],
                "note": line.get("note"),
                "gross": _money(line, "gross_sales_money"),
                "discount": _money(line, "total_discount_money"),
                "tax": _money(line, "total_tax_money"),
                "total": _money(line, "total_money"),
            }
            for line in order.get("line_items", [])
        ],
        "fulfillments": fulfillments,
        "discounts": [
            {"name": d.get("name"), "applied": _money(d, "applied_money")} for d in order.get("discounts", [])
        ],
        "taxes": [
            {
                "name": t.get("name"),
                "type": t["type"],
                "percentage": t["percentage"],
                "applied": _money(t, "applied_money"),
            }
            for t in order.get("taxes", [])
        ],
        "serviceCharges": [
            {"name": c.get("name"), "phase": c["calculation_phase"], "total": _money(c, "total_money")}
            for c in order.get("service_charges", [])
        ],
        "tenders": [
            {"type": t["type"], "amount": _money(t, "amount_money"), "tip": _money(t, "tip_money")}
            for t in order.get("tenders", [])
        ],
        # what the seller sees refunded on the order (Order.refunds), and in all
        "refunds": [
            {"amount": _money(r, "amount_money"), "status": r["status"], "reason": r.get("reason")}
            for r in order.get("refunds", [])
        ],
        "refunded": sum(_money(r, "amount_money") for r in order.get("refunds", []) if r["status"] == "COMPLETED"),
        "totals": {
            "total": _money(order, "total_money"),
            "tax": _money(order, "total_tax_money"),
            "discount": _money(order, "total_discount_money"),
            "serviceCharge": _money(order, "total_service_charge_money"),
            "tip": _money(order, "total_tip_money"),
        },
        "currency": order["total_money"]["currency"],
    }


def screen(m: Merchant) -> dict[str, Any]:
    """The orders the POS shows, newest first, and how many API orders it hides and why."""
    shown: list[dict[str, Any]] = []
    hidden: dict[str, int] = {}
    for order in sorted(m.orders.values(), key=lambda o: o["created_at"], reverse=True):
        reason = _hidden_reason(m, order)
        if reason is None:
            shown.append(_ticket(m, order))
        else:
            hidden[reason] = hidden.get(reason, 0) + 1
    return {"merchantId": m.merchant_id, "posPartner": m.pos_partner, "orders": shown, "hidden": hidden}
