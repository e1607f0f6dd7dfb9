"""Flow 3: what the kitchen does on the POS shows on the Wix order, for online orders and imported ones alike.

The one table from POS state to Wix (README "Flows 2 and 3" shows it too):

    POS order / fulfillment state                                   Wix
    order CANCELED                                                  the order is canceled (Cancel Order)
    fulfillment PROPOSED                                            fulfillment "Pending"
    fulfillment RESERVED                                            fulfillment "Accepted"
    fulfillment PREPARED                                            fulfillment "Ready"
    fulfillment PREPARED, out for delivery (*)                      fulfillment "In_Delivery"
    fulfillment COMPLETED                                           fulfillment "Fulfilled"
    no fulfillment: order OPEN / COMPLETED                          "Pending" / "Fulfilled"
    order DRAFT; fulfillment CANCELED or FAILED, order still open   no change

    (*) Square has no such state: a DELIVERY fulfillment whose courier has it (`courier_pickup_at`), or a SHIPMENT
        that has shipped (`shipped_at`), while still PREPARED.

The Wix order gets one fulfillment covering its restaurant lines ("fulfillments are always for the full order"):
created on the first change, updated afterwards (one Wix call per change). Never backwards: the caller drops POS
updates older than the last applied position, and the sync record is only ever written forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from posbridge.domain.order_sync import PosOrderSync
from posbridge.domain.pos_order import PosOrderSnapshot
from posbridge.domain.tenant import Tenant
from posbridge.errors import PermanentError
from posbridge.ports.stores import OrderSyncRecords
from posbridge.ports.wix import WixStatusApi

FULFILLMENT_STATUS: dict[str, str] = {
    "PROPOSED": "Pending",
    "RESERVED": "Accepted",
    "PREPARED": "Ready",
    "COMPLETED": "Fulfilled",
}
IN_DELIVERY = "In_Delivery"
NO_FULFILLMENT_STATUS: dict[str, str] = {"OPEN": "Pending", "COMPLETED": "Fulfilled"}

Outcome = Literal[
    "imported", "status_applied", "canceled", "unchanged", "stale_dropped", "already_applied", "skipped", "not_ready"
]


@dataclass(frozen=True)
class WixTarget:
    cancel: bool = False
    status: str | None = None  # None: nothing to show


def wix_target(order: PosOrderSnapshot) -> WixTarget:
    """The table above, in code."""
    if order.state == "CANCELED":
        return WixTarget(cancel=True)
    if order.state == "DRAFT":
        return WixTarget()
    fulfillment = order.main_fulfillment()
    if fulfillment is None:
        return WixTarget(status=NO_FULFILLMENT_STATUS.get(order.state))
    if fulfillment.out_for_delivery:
        return WixTarget(status=IN_DELIVERY)
    return WixTarget(status=FULFILLMENT_STATUS.get(fulfillment.state))


@dataclass(frozen=True)
class SyncResult:
    outcome: Outcome
    pos_order_id: str
    wix_order_id: str | None = None
    wix_status: str | None = None


@dataclass(frozen=True)
class WixLink:
    """The Wix order a POS order is shown on, and the Wix lines its fulfillment covers."""

    wix_order_id: str
    line_ids: tuple[str, ...]
    origin: Literal["wix", "pos"]  # "wix": an online order (Flow 1); "pos": imported from the POS (Flow 2)


def apply_status(
    tenant: Tenant,
    order: PosOrderSnapshot,
    link: WixLink,
    previous: PosOrderSync | None,
    wix: WixStatusApi,
    syncs: OrderSyncRecords,
) -> SyncResult:
    """Show the POS order's state on its Wix order; `previous` is the last applied state (older than `order`)."""
    target = wix_target(order)
    fulfillment_id = previous.wix_fulfillment_id if previous else None
    status = previous.wix_status if previous else None
    canceled = previous.wix_canceled if previous else False
    outcome: Outcome = "unchanged"
    if target.cancel and not canceled:
        # An online customer must hear that the kitchen canceled; an order rung up on the POS needs no e-mail.
        wix.cancel_order(link.wix_order_id, notify_buyer=link.origin == "wix")
        canceled, outcome = True, "canceled"
    elif target.status is not None and target.status != status and not canceled:
        if fulfillment_id is not None:
            wix.update_fulfillment_status(link.wix_order_id, fulfillment_id, target.status)
        else:
            fulfillment_id = ensure_fulfillment(wix, link, target.status)
        status, outcome = target.status, "status_applied"
    sync = PosOrderSync(
        pos_order_id=order.id,
        wix_order_id=link.wix_order_id,
        position=order.position,
        wix_fulfillment_id=fulfillment_id,
        wix_status=status,
        wix_canceled=canceled,
    )
    if not syncs.record(tenant.instance_id, sync):  # a newer position was recorded meanwhile: this one is stale
        syncs.count_stale(tenant.instance_id, order.id)
        return SyncResult("stale_dropped", order.id, link.wix_order_id)
    return SyncResult(outcome, order.id, link.wix_order_id, status)


def ensure_fulfillment(wix: WixStatusApi, link: WixLink, status: str) -> str:
    """Create the order's fulfillment (one call). If Wix refuses because the lines are already fulfilled (an earlier
    attempt created it and crashed before recording it, or staff did), adopt the existing one instead."""
    if not link.line_ids:
        raise PermanentError("wix_order_without_lines", f"Wix order {link.wix_order_id} has no lines to fulfill")
    try:
        return wix.create_fulfillment(link.wix_order_id, link.line_ids, status)
    except PermanentError as exc:
        if exc.details.get("status") not in (400, 409, 428):
            raise
        existing = wix.fulfillments(link.wix_order_id)
        if not existing:
            raise
        found = existing[0]
        if found.status != status:
            wix.update_fulfillment_status(link.wix_order_id, found.id, status)
        return found.id
