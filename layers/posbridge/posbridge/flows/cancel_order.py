"""Flow 1, undone: a Wix order canceled on Wix is canceled on the POS, once.

Wix sends `wix.ecom.v1.order_canceled` (@wix/auto_sdk_ecom_orders 1.0.300 `onOrderCanceled`, an action event:
`actionEvent.body` = {order, restockAllItems, sendOrderCanceledEmail, customMessage}). The rule, per event:

1. The tenant must be registered and active (else parked, as for Flow 1).
2. No order mapping: the order was never exported, or its export has not been processed yet (events can arrive out
   of order, and one order's events are serialised by the FIFO group, so nothing runs concurrently). The cancel is
   recorded as the order's skip (CANCELED_BEFORE_EXPORT): Flow 1 then never exports it, whatever event for it
   arrives later (a late `order_approved`, a reconciliation). Outcome `not_exported`; no POS call.
3. An order placed on the POS (mapping origin `pos`, Flow 2 imported it) is the POS's own: nothing is written back.
4. Otherwise the POS order is read now. CANCELED already: `already_canceled` (a duplicate delivery, a retry after a
   crash, or the kitchen canceled it first). COMPLETED: `completed_on_pos` (the food went out; a completed order can
   no longer be updated), reported in the result, not parked. Else it is canceled at its current version with the
   key (tenant, `cancel_order@v<version>`, Wix order id): a retry of the same attempt replays it, and a version
   changed meanwhile (the kitchen moved the order: the adapter raises TransientError on the POS's conflict) is a new
   attempt under its own key.

Refunding the external payment is not part of this flow yet (the POS payments are not modelled): see the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from posbridge.domain.events import ORDER_CANCELED
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError
from posbridge.flows.export_order import CANCELED_BEFORE_EXPORT
from posbridge.flows.lifecycle import require_active
from posbridge.idempotency import idempotency_key
from posbridge.ports.pos import PosGateways
from posbridge.ports.stores import OrderMappingStore, TenantReader

CancelOutcome = Literal["canceled", "already_canceled", "completed_on_pos", "not_exported", "placed_on_pos"]
CANCEL_STEP = "cancel_order"


@dataclass(frozen=True)
class CancelResult:
    outcome: CancelOutcome
    wix_order_id: str
    pos_order_id: str | None = None


def cancel_wix_order(
    message: WorkMessage, tenants: TenantReader, mappings: OrderMappingStore, pos: PosGateways
) -> CancelResult:
    if message.event_type != ORDER_CANCELED:
        raise PermanentError("unhandled_event", f"{message.event_type} is not an order cancel event")
    tenant = tenants.get(message.tenant_id)
    if tenant is None:
        raise PermanentError("unknown_tenant", f"no tenant is registered for instance {message.tenant_id}")
    require_active(tenant)

    order_id = _canceled_order_id(message)
    mapping = mappings.by_wix_order(tenant.instance_id, order_id)
    if mapping is None:
        mappings.record_skip(tenant.instance_id, order_id, CANCELED_BEFORE_EXPORT)
        return CancelResult("not_exported", order_id)
    if mapping.origin == "pos":
        return CancelResult("placed_on_pos", order_id, mapping.pos_order_id)

    gateway = pos.for_tenant(tenant)
    current = gateway.order_snapshot(mapping.pos_order_id)
    if current.state == "CANCELED":
        return CancelResult("already_canceled", order_id, current.id)
    if current.state == "COMPLETED":
        return CancelResult("completed_on_pos", order_id, current.id)
    step = f"{CANCEL_STEP}@v{current.position.version}"
    gateway.cancel_order(current, idempotency_key(tenant.instance_id, step, order_id))
    return CancelResult("canceled", order_id, current.id)


def _canceled_order_id(message: WorkMessage) -> str:
    body = (message.payload.get("actionEvent") or {}).get("body") or {}
    order = body.get("order") if isinstance(body, dict) else None
    order_id = order.get("id") if isinstance(order, dict) else None
    if not isinstance(order_id, str) or not order_id:
        raise PermanentError("invalid_wix_event", f"{message.event_type} carries no order id")
    if order_id != message.entity_id:
        raise PermanentError("invalid_wix_event", "the canceled order is not the event's entity")
    return order_id
