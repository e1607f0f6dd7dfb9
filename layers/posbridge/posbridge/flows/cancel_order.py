"""Flow 1, undone: a Wix order canceled (or fully refunded) on Wix is canceled and refunded on the POS, once.

Wix sends `wix.ecom.v1.order_canceled` (@wix/auto_sdk_ecom_orders 1.0.300 `onOrderCanceled`, an action event:
`actionEvent.body` = {order, restockAllItems, sendOrderCanceledEmail, customMessage}). The rule, per event:

1. The tenant must be registered and active (else parked, as for Flow 1).
2. No order mapping: the order was never exported, or its export has not been processed yet (events can arrive out
   of order, and one order's events are serialised by the FIFO group, so nothing runs concurrently). The cancel is
   recorded as the order's skip (CANCELED_BEFORE_EXPORT): Flow 1 then never exports it, whatever event for it
   arrives later (a late `order_approved`, a reconciliation). Outcome `not_exported`; no POS call.
3. An order placed on the POS (mapping origin `pos`, Flow 2 imported it) is the POS's own: nothing is written back.
4. Otherwise the POS order is read now. Canceled already (the order, or every fulfillment of a paid order, which the
   POS does not cancel: see the adapter): `already_canceled` (a duplicate delivery, a retry after a crash, or the
   kitchen canceled it first). COMPLETED: `completed_on_pos` (the food went out; a completed order can no longer be
   updated), reported in the result, not parked. Else it is canceled at its current version with the key (tenant,
   `cancel_order@v<version>`, Wix order id): a retry of the same attempt replays it, and a version changed meanwhile
   (the kitchen moved the order: the adapter raises TransientError on the POS's conflict) is a new attempt under its
   own key.
5. Then the order's POS payment (the mapping's posPaymentId) is refunded: all it took, tip included, under the key
   (tenant, `refund_payment`, Wix order id), identity only, so a cancel and a full refund of the same order, a
   duplicate, or a retry after a crash all make one refund (the adapter refunds only what is left of the payment, and
   nothing when nothing is). An order settled as UNPAID (an OTHER payment: nobody had the money) is refunded the same
   way: the payment was only the POS's record of a sale that is now not happening (README, Flow 1).

A full refund on Wix (`wix.ecom.v1.order_payment_status_updated`, @wix/auto_sdk_ecom_orders 1.0.300
`onOrderPaymentStatusUpdated`: `actionEvent.body` = PaymentStatusUpdated {order, previousPaymentStatus}) with
`order.paymentStatus` FULLY_REFUNDED takes the same path, except that an order the kitchen already COMPLETED still
has its payment refunded (Wix gave the money back; the food went out, nothing to cancel). PARTIALLY_REFUNDED writes
nothing to the POS (which lines or how much of the tip a partial refund covers is not for the bridge to guess): the
amount Wix refunded in all (`balanceSummary.refunded`) is recorded on the order mapping for operators. Any other
payment status is ignored. A full refund before the export is recorded as the order's skip, as a cancel is.

A POS whose API cannot refund the payment (ports.pos.REFUND_NOT_SUPPORTED; Clover: Flow 1 records Wix's money as an
external-tender payment, and Clover's REST API creates no refund of one) is not an error of the message: the order is
still canceled on the POS, Wix refunds the buyer, and what the POS shows refunded is recorded on the mapping with
`pos_refund_unsupported` set in the result (the worker counts it: PosRefundsNotSupported) so an operator can refund
the record at the till if the books need it. Retrying would never succeed, and parking it would hide the cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from posbridge.domain.events import ORDER_CANCELED, ORDER_PAYMENT_STATUS_UPDATED
from posbridge.domain.pos_order import PosOrderSnapshot
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import EventIgnored, PermanentError
from posbridge.flows.export_order import CANCELED_BEFORE_EXPORT, REFUNDED_BEFORE_EXPORT
from posbridge.flows.lifecycle import require_active
from posbridge.idempotency import idempotency_key
from posbridge.ports.pos import REFUND_NOT_SUPPORTED, PosGateways
from posbridge.ports.stores import OrderMappingStore, TenantReader
from posbridge.ports.wix import WixOrderEvents

CancelOutcome = Literal[
    "canceled",
    "already_canceled",
    "completed_on_pos",
    "refunded_completed_on_pos",
    "not_exported",
    "placed_on_pos",
    "partial_refund_recorded",
    "partial_refund_not_exported",
    "payment_status_ignored",
]
CANCEL_STEP = "cancel_order"
REFUND_STEP = "refund_payment"
# One reason for every refund of an order, whichever event made it: the key replays only the same body.
REFUND_REASON = "Canceled or refunded on Wix (posbridge)"
FULLY_REFUNDED, PARTIALLY_REFUNDED = "FULLY_REFUNDED", "PARTIALLY_REFUNDED"  # PaymentStatusEnumPaymentStatus


@dataclass(frozen=True)
class CancelResult:
    outcome: CancelOutcome
    wix_order_id: str
    pos_order_id: str | None = None
    # the POS refund of the order's payment (new or found), and its amount in minor units; Wix's refunded total
    pos_refund_id: str | None = None
    pos_refunded_minor: int | None = None
    wix_refunded_minor: int | None = None
    pos_refund_unsupported: bool = False  # the POS's API cannot refund the payment: an operator's job (see above)


def cancel_wix_order(
    message: WorkMessage,
    tenants: TenantReader,
    mappings: OrderMappingStore,
    pos: PosGateways,
    *,
    wix_orders: WixOrderEvents,
) -> CancelResult:
    """A Wix cancel or payment status change of an order (see the module docstring)."""
    if message.event_type not in (ORDER_CANCELED, ORDER_PAYMENT_STATUS_UPDATED):
        raise PermanentError("unhandled_event", f"{message.event_type} is not an order cancel or refund event")
    tenant = tenants.get(message.tenant_id)
    if tenant is None:  # no POS connected: nothing was exported, and the cancel carries buyer data the DLQ must not
        # keep; an order awaiting the connection is seen canceled by the reconciliation (flows/export_order.py)
        raise EventIgnored("awaiting_pos_connection", f"instance {message.tenant_id} has no POS connected")
    require_active(tenant)

    event = wix_orders.cancel_event(message)
    order_id = event.order_id
    refund_event = message.event_type == ORDER_PAYMENT_STATUS_UPDATED
    wix_refunded: int | None = None
    if refund_event:
        status, wix_refunded = event.payment_status, event.refunded_minor
        if status not in (FULLY_REFUNDED, PARTIALLY_REFUNDED):
            return CancelResult("payment_status_ignored", order_id)
        if status == PARTIALLY_REFUNDED:
            return _partial_refund(tenant.instance_id, order_id, wix_refunded, mappings)
    mapping = mappings.by_wix_order(tenant.instance_id, order_id)
    if mapping is None:
        reason = REFUNDED_BEFORE_EXPORT if refund_event else CANCELED_BEFORE_EXPORT
        mappings.record_skip(tenant.instance_id, order_id, reason)
        return CancelResult("not_exported", order_id, wix_refunded_minor=wix_refunded)
    if mapping.origin == "pos":
        return CancelResult("placed_on_pos", order_id, mapping.pos_order_id)
    if wix_refunded is not None:
        mappings.record_wix_refund(tenant.instance_id, order_id, FULLY_REFUNDED, wix_refunded)

    gateway = pos.for_tenant(tenant)
    current = gateway.order_snapshot(mapping.pos_order_id)
    if current.state == "COMPLETED" and not refund_event:
        return CancelResult("completed_on_pos", order_id, current.id)
    outcome: CancelOutcome = "already_canceled"
    if current.state == "COMPLETED":
        outcome = "refunded_completed_on_pos"
    elif not _kitchen_stopped(current):
        step = f"{CANCEL_STEP}@v{current.position.version}"
        gateway.cancel_order(current, idempotency_key(tenant.instance_id, step, order_id))
        outcome = "canceled"
    if mapping.pos_payment_id is None:  # a $0 order, or one exported before orders were paid: nothing to refund
        return CancelResult(outcome, order_id, current.id, wix_refunded_minor=wix_refunded)
    try:
        refund = gateway.refund_payment(
            mapping.pos_payment_id, idempotency_key(tenant.instance_id, REFUND_STEP, order_id), REFUND_REASON
        )
    except PermanentError as exc:
        if exc.reason != REFUND_NOT_SUPPORTED:
            raise
        refunded_before = exc.details.get("refunded_minor")
        shown = refunded_before if isinstance(refunded_before, int) else 0
        if shown != mapping.pos_refunded_minor:
            mappings.record_pos_refund(tenant.instance_id, order_id, None, shown)
        return CancelResult(outcome, order_id, current.id, None, shown, wix_refunded, pos_refund_unsupported=True)
    refunded = refund.refunded.minor_units()
    if (refund.refund_id, refunded) != (mapping.pos_refund_id, mapping.pos_refunded_minor):
        mappings.record_pos_refund(tenant.instance_id, order_id, refund.refund_id, refunded)
    return CancelResult(outcome, order_id, current.id, refund.refund_id, refunded, wix_refunded)


def _kitchen_stopped(order: PosOrderSnapshot) -> bool:
    """Canceled on the POS already: the order itself, or (a paid order, which the POS does not cancel) every one of
    its fulfillments."""
    if order.state == "CANCELED":
        return True
    return order.tendered and bool(order.fulfillments) and all(f.state == "CANCELED" for f in order.fulfillments)


def _partial_refund(tenant_id: str, order_id: str, refunded: int | None, mappings: OrderMappingStore) -> CancelResult:
    """Nothing on the POS; Wix's refunded total on the mapping (refunds only grow: a stale event changes nothing)."""
    if refunded is None:
        raise PermanentError("invalid_wix_event", "a PARTIALLY_REFUNDED order carries no balanceSummary.refunded")
    if mappings.by_wix_order(tenant_id, order_id) is None:
        return CancelResult("partial_refund_not_exported", order_id, wix_refunded_minor=refunded)
    mappings.record_wix_refund(tenant_id, order_id, PARTIALLY_REFUNDED, refunded)
    return CancelResult("partial_refund_recorded", order_id, wix_refunded_minor=refunded)
