"""Payments API (external payments only), PayOrder and RefundPayment.

Sources: developer.squareup.com/docs/payments-api/take-payments/external-payments (`source_id` "EXTERNAL" with
`external_details`), developer.squareup.com/docs/orders-api/pay-for-orders (CreatePayment with `order_id`: "The
payment amount must match the order total"; several payments: `autocomplete: false`, then PayOrder, which "also sets
the order state to COMPLETED, provided that: the sum of all these payments is equal to the order total; the order
doesn't include fulfillments"), developer.squareup.com/reference/square/orders-api/pay-order ("Any approved payments
that reference the same order_id not specified in the payment_ids will be canceled"; "Orders with a total amount of 0
can be marked as paid by specifying an empty array of payment_ids"), and the squareup 46 client's docstrings
(square/payments/raw_client.py, square/refunds/raw_client.py, square/types/external_payment_details.py).

The sandbox models money collected elsewhere: any other `source_id` (cards, CASH) is refused.
"""

from __future__ import annotations

import copy
from typing import Any

from devstack.square_sandbox import fields as f
from devstack.square_sandbox import orders
from devstack.square_sandbox.errors import (
    INVALID_REQUEST,
    SquareError,
    bad_request,
    missing,
    not_found,
    unknown_reference,
)
from devstack.square_sandbox.state import Merchant, new_id, new_order_id

CREATE_SCOPE = "POST /v2/payments"
PAY_SCOPE = "POST /v2/orders/{order_id}/pay"
REFUND_SCOPE = "POST /v2/refunds"
# square/types/external_payment_details.py: "It can be one of the following"
EXTERNAL_TYPES = (
    "CHECK",
    "BANK_TRANSFER",
    "OTHER_GIFT_CARD",
    "CRYPTO",
    "SQUARE_CASH",
    "SOCIAL",
    "EXTERNAL",
    "EMONEY",
    "CARD",
    "STORED_BALANCE",
    "FOOD_VOUCHER",
    "OTHER",
)
# CreatePayment fields for card, cash or fee scenarios: an EXTERNAL payment takes none of them
# (delay_duration: "only supported for card payments"; cash_details is for source_id CASH; app fees need a permission)
_NOT_FOR_EXTERNAL = (
    "app_fee_money",
    "app_fee_allocations",
    "delay_duration",
    "delay_action",
    "verification_token",
    "accept_partial_authorization",
    "cash_details",
    "customer_details",
    "offline_payment_details",
)
AMOUNT_MISMATCH = "The total of the requested payments does not match the total of the sale order."


def _payment_error(code: str, detail: str, field: str | None = None) -> SquareError:
    return SquareError(400, INVALID_REQUEST, code, detail, field)


def _external_details(raw: Any, currency: str) -> dict[str, Any]:
    """type (one of EXTERNAL_TYPES) and source are required; source_id and source_fee_money optional. Lengths:
    square-java-sdk doc/models/external-payment-details.md (type <= 50, source <= 255, source_id <= 255)."""
    raw = f.as_object(raw, "external_details")
    details: dict[str, Any] = {
        "type": f.enum(f.req_str(raw, "type", "external_details.type", 50), EXTERNAL_TYPES, "external_details.type"),
        "source": f.req_str(raw, "source", "external_details.source", 255),
    }
    source_id = f.opt_str(raw, "source_id", "external_details.source_id", 255)
    if source_id is not None:
        details["source_id"] = source_id
    if raw.get("source_fee_money") is not None:
        details["source_fee_money"] = f.money(raw["source_fee_money"], "external_details.source_fee_money", currency)
    return details


def _open_order(m: Merchant, order_id: str, field: str) -> dict[str, Any]:
    """Only an OPEN order is paid: "Draft orders ... cannot be paid or fulfilled", COMPLETED and CANCELED are
    terminal (OrderState, square-php-sdk doc/models/order-state.md)."""
    order = m.orders.get(order_id)
    if order is None:
        raise unknown_reference(f"Order `{order_id}` not found.", field)
    if order["state"] != "OPEN":
        raise bad_request("BAD_REQUEST", f"Order `{order_id}` is {order['state']}: only an OPEN order is paid.", field)
    if order.get("tenders") or order_id in m.paid_orders:
        raise bad_request("BAD_REQUEST", f"Order `{order_id}` is already paid.", field)
    return order


def create(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    """Limits: square-python-sdk doc/models/create-payment-request.md (idempotency_key <= 45, reference_id <= 40,
    note <= 500). `amount_money` is optional there (other sources derive it); an external payment records an amount,
    so the sandbox requires it."""
    key = f.req_str(body, "idempotency_key", "idempotency_key", 45)
    replayed = m.replay(CREATE_SCOPE, key, body)
    if replayed is not None:
        return replayed[1]
    source_id = f.req_str(body, "source_id", "source_id")
    if source_id != "EXTERNAL":
        raise _payment_error(
            "UNSUPPORTED_SOURCE_TYPE", "The sandbox records external payments only: `source_id` must be EXTERNAL."
        )
    for name in _NOT_FOR_EXTERNAL:
        if body.get(name) is not None:
            raise bad_request("BAD_REQUEST", f"`{name}` does not apply to an EXTERNAL payment.", name)
    if body.get("external_details") is None:
        raise missing("external_details")
    details = _external_details(body["external_details"], m.currency)
    if body.get("amount_money") is None:
        raise missing("amount_money")
    amount = f.money(body["amount_money"], "amount_money", m.currency)
    tip = f.money(body["tip_money"], "tip_money", m.currency) if body.get("tip_money") is not None else None
    location_id = f.opt_str(body, "location_id", "location_id")
    if location_id is not None and location_id != m.location_id:
        raise unknown_reference(f"Location `{location_id}` not found.", "location_id")
    customer_id = f.opt_str(body, "customer_id", "customer_id")
    if customer_id is not None and customer_id not in m.customers:
        raise unknown_reference(f"Customer `{customer_id}` not found.", "customer_id")
    autocomplete = f.opt_bool(body, "autocomplete", "autocomplete")
    autocomplete = True if autocomplete is None else autocomplete
    order_id = f.opt_str(body, "order_id", "order_id")
    order = _open_order(m, order_id, "order_id") if order_id is not None else None
    if order is not None and autocomplete and amount["amount"] != order["total_money"]["amount"]:
        # pay-for-orders: a single payment for an order "must match the order total"
        raise _payment_error("PAYMENT_AMOUNT_MISMATCH", AMOUNT_MISMATCH, "amount_money")

    total = amount["amount"] + (tip["amount"] if tip else 0)
    now = m.now()
    payment: dict[str, Any] = {
        "id": new_order_id(),
        "created_at": now,
        "updated_at": now,
        "amount_money": amount,
        **({"tip_money": tip} if tip else {}),
        "total_money": {"amount": total, "currency": m.currency},
        "approved_money": {"amount": total, "currency": m.currency},
        "status": "COMPLETED" if autocomplete else "APPROVED",
        "source_type": "EXTERNAL",
        "external_details": details,
        "location_id": m.location_id,
        "capabilities": ["EDIT_TIP_AMOUNT", "EDIT_TIP_AMOUNT_UP", "EDIT_TIP_AMOUNT_DOWN"],
        "receipt_number": "",
        "version_token": new_id(40),
    }
    payment["receipt_number"] = payment["id"][:4]
    if not autocomplete:
        payment["delay_action"] = "CANCEL"
    for name, limit in (("reference_id", 40), ("note", 500)):
        value = f.opt_str(body, name, name, limit)
        if value is not None:
            payment[name] = value
    if customer_id is not None:
        payment["customer_id"] = customer_id
    if order_id is not None:
        payment["order_id"] = order_id
    m.payments[payment["id"]] = payment
    m.emit("payment.created", "payment", payment["id"], {"payment": copy.deepcopy(payment)})
    if order is not None and autocomplete:
        orders.add_tenders(m, order["id"], [payment])
    response = {"payment": copy.deepcopy(payment)}
    m.remember(CREATE_SCOPE, key, body, 200, response)
    return response


def retrieve(m: Merchant, payment_id: str) -> dict[str, Any]:
    payment = m.payments.get(payment_id)
    if payment is None:
        raise not_found(f"Payment `{payment_id}` not found.")
    return {"payment": copy.deepcopy(payment)}


def _touch(m: Merchant, payment: dict[str, Any], **changes: Any) -> None:
    payment.update(changes, updated_at=m.now(), version_token=new_id(40))
    m.emit("payment.updated", "payment", payment["id"], {"payment": copy.deepcopy(payment)})


def pay_order(m: Merchant, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """PayOrder: capture the approved payments that add up to the order's total."""
    if order_id not in m.orders:
        raise not_found(f"Order `{order_id}` not found.")
    key = f.req_str(body, "idempotency_key", "idempotency_key", 192)
    request = {"order_id": order_id, "body": body}
    replayed = m.replay(PAY_SCOPE, key, request)
    if replayed is not None:
        return replayed[1]
    order = _open_order(m, order_id, "order_id")
    version = f.opt_int(body, "order_version", "order_version")
    if version is not None and version != order.get("version"):
        raise SquareError(
            409,
            INVALID_REQUEST,
            "CONFLICT",
            f"Order version {version} is not the current {order.get('version')}.",
            "order_version",
        )
    ids = f.opt_list(body, "payment_ids", "payment_ids")
    if len(set(ids)) != len(ids):
        raise bad_request("INVALID_VALUE", "Each payment id may be listed once.", "payment_ids")
    chosen = []
    for k, payment_id in enumerate(ids):
        payment = m.payments.get(payment_id) if isinstance(payment_id, str) else None
        if payment is None:
            raise unknown_reference(f"Payment `{payment_id}` not found.", f"payment_ids[{k}]")
        if payment.get("order_id") != order_id:
            raise bad_request(
                "BAD_REQUEST", f"Payment `{payment_id}` does not reference this order.", f"payment_ids[{k}]"
            )
        if payment["status"] != "APPROVED":
            raise bad_request(
                "BAD_REQUEST",
                f"Payment `{payment_id}` is {payment['status']}: PayOrder takes approved (delayed capture) payments.",
                f"payment_ids[{k}]",
            )
        chosen.append(payment)
    if sum(p["amount_money"]["amount"] for p in chosen) != order["total_money"]["amount"]:
        raise _payment_error("PAYMENT_AMOUNT_MISMATCH", AMOUNT_MISMATCH, "payment_ids")
    for payment in chosen:
        _touch(m, payment, status="COMPLETED")
        payment.pop("delay_action", None)
    for payment in m.payments.values():  # approved payments on the order that were not named are canceled
        if payment.get("order_id") == order_id and payment["status"] == "APPROVED":
            _touch(m, payment, status="CANCELED")
            payment.pop("receipt_number", None)
    paid = orders.add_tenders(m, order_id, chosen)
    response = {"order": paid}
    m.remember(PAY_SCOPE, key, request, 200, response)
    return response


def refund(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    """RefundPayment of an external payment: at most the payment's total_money minus earlier completed refunds
    (square/refunds/raw_client.py); idempotency_key <= 45 (same docstring), reason <= 192 (square-python-sdk
    doc/models/refund-payment-request.md)."""
    key = f.req_str(body, "idempotency_key", "idempotency_key", 45)
    replayed = m.replay(REFUND_SCOPE, key, body)
    if replayed is not None:
        return replayed[1]
    if f.opt_bool(body, "unlinked", "unlinked"):
        raise bad_request(
            "BAD_REQUEST",
            "The sandbox records refunds of its payments only (unlinked refunds are not modeled).",
            "unlinked",
        )
    for name in ("destination_id", "location_id", "customer_id", "cash_details", "external_details"):
        if body.get(name) is not None:  # raw_client: location_id / customer_id only with unlinked=true
            raise bad_request("BAD_REQUEST", f"`{name}` applies to unlinked refunds only.", name)
    for name in ("app_fee_money", "app_fee_allocations"):
        if body.get(name) is not None:  # only when the payment took an app fee, which external payments here never do
            raise bad_request("BAD_REQUEST", f"`{name}` needs a payment that took an application fee.", name)
    payment_id = f.req_str(body, "payment_id", "payment_id")  # "Required when unlinked=false"
    if body.get("amount_money") is None:  # RefundPaymentRequest: amount_money is required
        raise missing("amount_money")
    payment = m.payments.get(payment_id)
    if payment is None:
        raise unknown_reference(f"Payment `{payment_id}` not found.", "payment_id")
    token = f.opt_str(body, "payment_version_token", "payment_version_token")
    if token is not None and token != payment["version_token"]:
        raise SquareError(
            409, INVALID_REQUEST, "CONFLICT", "The payment changed since that version token.", "payment_version_token"
        )
    if payment["status"] != "COMPLETED":
        raise _payment_error(
            "REFUND_ERROR_PAYMENT_NEEDS_COMPLETION", f"Payment `{payment_id}` is {payment['status']}, not COMPLETED."
        )
    amount = f.money(body["amount_money"], "amount_money", m.currency)
    reason = f.opt_str(body, "reason", "reason", 192)
    refunded = payment.get("refunded_money", {}).get("amount", 0)
    if amount["amount"] <= 0 or amount["amount"] > payment["total_money"]["amount"] - refunded:
        raise _payment_error(
            "REFUND_AMOUNT_INVALID",
            "The refund amount must be positive and at most the payment's total minus what was already refunded.",
            "amount_money.amount",
        )
    now = m.now()
    record: dict[str, Any] = {
        "id": f"{payment_id}_{new_id(20).lower()}",
        "status": "COMPLETED",
        "location_id": m.location_id,
        "destination_type": "EXTERNAL",
        "amount_money": amount,
        "payment_id": payment_id,
        "created_at": now,
        "updated_at": now,
    }
    if "order_id" in payment:
        record["order_id"] = payment["order_id"]
    if reason is not None:
        record["reason"] = reason
    m.refunds[record["id"]] = record
    m.emit("refund.created", "refund", record["id"], {"refund": copy.deepcopy(record)})
    if "order_id" in payment and payment["order_id"] in m.orders:
        # Order.refunds: "The refunds that are part of this order" (square/types/order.py; a square/types/refund.py
        # Refund, whose `reason` is required). Square also books the refund as a return order (`source_order_id`,
        # per its forum): not modeled, the sandbox only shows the refund on the order.
        order = m.orders[payment["order_id"]]
        order.setdefault("refunds", []).append(
            {
                "id": record["id"],
                "location_id": m.location_id,
                "transaction_id": payment["order_id"],
                "tender_id": payment_id,
                "created_at": now,
                "reason": reason or "",
                "amount_money": dict(amount),
                "status": "COMPLETED",
            }
        )
    _touch(
        m,
        payment,
        refunded_money={"amount": refunded + amount["amount"], "currency": m.currency},
        refund_ids=[*payment.get("refund_ids", []), record["id"]],
    )
    response = {"refund": copy.deepcopy(record)}
    m.remember(REFUND_SCOPE, key, body, 200, response)
    return response


def retrieve_refund(m: Merchant, refund_id: str) -> dict[str, Any]:
    found = m.refunds.get(refund_id)
    if found is None:
        raise not_found(f"Refund `{refund_id}` not found.")
    return {"refund": copy.deepcopy(found)}
