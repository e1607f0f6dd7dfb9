"""Settling an exported order on Square: an EXTERNAL payment for the order's total, then PayOrder.

Why pay at all: "Orders with fulfillment appear on Square first-party products (such as the Seller Dashboard and Point
of Sale application) only after they are paid for" (developer.squareup.com/docs/orders-api/fulfillments).

The calls (squareup 46.0.0.20260916, square/payments/raw_client.py `create`, square/orders/raw_client.py `pay`;
developer.squareup.com/docs/payments-api/take-payments/external-payments; docs/orders-api/pay-for-orders):
- CreatePayment with `source_id` "EXTERNAL" and `external_details {type, source, source_id}`: money "processed by
  external entities (not by Square or the seller)", recorded "for bookkeeping reasons". `amount_money` is "The amount
  of money to accept for this payment, not including `tip_money`", so it is the order's `total_money` as Square
  computed it, and `tip_money` the restaurant's tip ("The amount designated as a tip, in addition to
  `amount_money`"); a courier's tip is not a payment tip but a service charge on the order (the external payments
  guide: payment tips go to the seller's team tip pool). `autocomplete: false` leaves the payment APPROVED, as
  PayOrder takes approved (delayed capture) payments only.
- PayOrder with `payment_ids` = that payment: "The total of the `payment_ids` listed in the request must be equal to
  the order total"; "Orders with a total amount of `0` can be marked as paid by specifying an empty array of
  `payment_ids`" (no payment is made then). No `order_version`: "If not supplied, the latest version will be paid".
  The version CreateOrder answered goes stale as soon as anyone touches the order (the kitchen starting on it, a
  fulfillment update) and a redelivery replays CreateOrder's first answer, so a stale version would be refused
  (409) on every retry and the order never paid; the total check above still refuses to pay an order whose total
  changed since.

`external_details.type`: Wix took the money, so `EXTERNAL`, "A third-party application gathered this payment outside
of Square" (square/types/external_payment_details.py), rather than `CARD` ("A credit or debit card that Square does
not support": Wix may have taken any method) or `OTHER`. An order not paid on Wix is settled with `OTHER` ("A type
not listed here": nobody has the money yet) and says so in the payment's `note`: Square documents no pay-later state
for API orders that the POS shows, so this is the only documented way for the kitchen to see it (README, Flow 1).

Refunds (a Wix cancel or full refund of an exported order: flows/cancel_order.py): GetPayment, then RefundPayment
(POST /v2/refunds; squareup 46 square/refunds/raw_client.py `refund_payment`: "You can use this endpoint to refund a
card payment or record a refund of a cash or external payment"; developer.squareup.com/docs/refunds-api/
retrieve-refunds: "Regardless of the payment source (card, cash, or external payments) ... your application can
refund these payments by creating a Refund object using the RefundPayment endpoint"). `amount_money` "cannot be more
than the `total_money` value of the payment minus the total amount of all previously completed refunds", and
`total_money` is the amount plus the tip, so the refund is what is left of `total_money` (all of it, unless someone
refunded part on the Square Dashboard); `payment_id` links it, and `location_id`, `destination_id`,
`external_details` are for unlinked refunds only (same docstring). A payment with nothing left is not refunded again.

Crash safety rests on the two keys: a redelivery replays CreatePayment (the same payment back, never a second one)
and then PayOrder, which completes a payment recorded before the crash or replays the completed PayOrder.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from posbridge.domain.money import Money
from posbridge.domain.pos_export import OrderPayment, PosOrder, PosRefund
from posbridge.errors import PermanentError
from posbridge.pos.square.client import SquareClient, fit_idempotency_key

PAYMENT_KEY_MAX = 45  # CreatePayment's idempotency_key (square-python-sdk doc/models/create-payment-request.md)
PAY_KEY_MAX = 192  # PayOrder's idempotency_key (square-python-sdk doc/models/pay-order-request.md)
REFUND_KEY_MAX = 45  # RefundPayment's idempotency_key: "limited to a max of 45 characters" (refunds/raw_client.py)
REFUND_REASON_MAX = 192  # RefundPayment `reason` (square-python-sdk doc/models/refund-payment-request.md)
PAYMENT_NOTE_MAX = 500  # CreatePayment `note` (same page)
PAYMENT_SOURCE = "Wix"
PAID_ON_WIX = "EXTERNAL"
TO_COLLECT = "OTHER"
UNPAID = "UNPAID"  # the mark the staff read on the ticket name and the note


def to_collect_label(amount: Money) -> str:
    """What the staff read: "UNPAID: collect 12.50 USD"."""
    return f"{UNPAID}: collect {amount.decimal_string()} {amount.currency}"


def _money(money: Money) -> dict[str, Any]:
    try:
        return {"amount": money.minor_units(), "currency": money.currency}
    except ValueError as exc:
        raise PermanentError("amount_not_representable", str(exc)) from None


def payment_request(order: PosOrder, payment: OrderPayment, key: str, location_id: str) -> dict[str, Any]:
    """The CreatePayment body for the order's whole total (the caller checked it is not zero)."""
    assert order.total is not None
    details: dict[str, Any] = {
        "type": PAID_ON_WIX if payment.to_collect is None else TO_COLLECT,
        "source": PAYMENT_SOURCE,
        "source_id": payment.wix_order_id,
    }
    body: dict[str, Any] = {
        "idempotency_key": fit_idempotency_key(key, PAYMENT_KEY_MAX),
        "source_id": "EXTERNAL",
        "external_details": details,
        "amount_money": _money(order.total),
        "order_id": order.id,
        "location_id": location_id,
        "autocomplete": False,
    }
    if payment.tip is not None and payment.tip.amount > 0:
        body["tip_money"] = _money(payment.tip)
    if payment.to_collect is not None:
        body["note"] = f"Not paid on Wix. {to_collect_label(payment.to_collect)} at pickup or on delivery."[
            :PAYMENT_NOTE_MAX
        ]
    return body


def pay_order(
    client: SquareClient, location_id: str, order: PosOrder, payment: OrderPayment, payment_key: str, pay_key: str
) -> str | None:
    """CreatePayment (unless the total is 0), then PayOrder; the payment id, or None for a $0 order."""
    if order.total is None:
        raise PermanentError("square_unexpected_response", f"Square's order {order.id} has no total_money.")
    payment_id: str | None = None
    if order.total.amount > 0:  # a $0 order (a 100% coupon) is settled with no payment, as PayOrder documents
        answer = client.post("/v2/payments", payment_request(order, payment, payment_key, location_id))
        made = answer.get("payment")
        payment_id = made.get("id") if isinstance(made, dict) else None
        if not isinstance(payment_id, str) or not payment_id:
            raise PermanentError("square_unexpected_response", "Square's payment answer has no payment id.")
    pay: dict[str, Any] = {
        "idempotency_key": fit_idempotency_key(pay_key, PAY_KEY_MAX),
        "payment_ids": [payment_id] if payment_id else [],
    }
    client.post(f"/v2/orders/{quote(order.id, safe='')}/pay", pay)
    return payment_id


def refund_payment(client: SquareClient, payment_id: str, key: str, reason: str) -> PosRefund:
    """GetPayment, then RefundPayment of what is left of its total_money (tip included); nothing when nothing is."""
    made = client.get(f"/v2/payments/{quote(payment_id, safe='')}").get("payment")
    if not isinstance(made, dict):
        raise PermanentError("square_unexpected_response", f"Square's answer has no payment {payment_id}.")
    try:
        total = Money.from_minor_units(int(made["total_money"]["amount"]), str(made["total_money"]["currency"]))
        done = made.get("refunded_money") or {"amount": 0}
        left = total.minor_units() - int(done["amount"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError("square_unexpected_response", f"Square's payment {payment_id}: {exc}") from None
    if left <= 0:  # refunded before: by an earlier attempt whose answer was lost, or on the Square Dashboard
        earlier = made.get("refund_ids") or []
        return PosRefund(refund_id=str(earlier[-1]) if earlier else None, refunded=total, new=False)
    body = {
        "idempotency_key": fit_idempotency_key(key, REFUND_KEY_MAX),
        "amount_money": {"amount": left, "currency": total.currency},
        "payment_id": payment_id,
        "reason": reason[:REFUND_REASON_MAX],
    }
    refund = client.post("/v2/refunds", body).get("refund")
    refund_id = refund.get("id") if isinstance(refund, dict) else None
    if not isinstance(refund_id, str) or not refund_id:
        raise PermanentError("square_unexpected_response", "Square's refund answer has no refund id.")
    return PosRefund(refund_id=refund_id, refunded=total, new=True)
