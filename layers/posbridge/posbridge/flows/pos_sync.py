"""A queued POS order event (a webhook, or the reconciliation) -> Flow 2 (import) or Flow 3 (status), idempotently.

1. The tenant must be registered and active (else the message is parked: `unknown_tenant` /
   `tenant_paused`; a removed tenant's event is acknowledged and ignored).
2. Out-of-order updates never move an order backwards: the event's position (POS version, else updated_at) is compared
   with the last one applied; an older one is dropped and counted (`stale_dropped`), an equal one is a duplicate
   (`already_applied`), and neither costs a POS or Wix call.
3. POS webhooks carry a summary, so the whole order is fetched (one POS call). A POS that answers with an older
   version than its webhook announced is read again later (TransientError).
4. Loop guard: an order the bridge itself created on the POS (Flow 1), recognised by its order mapping, by its source
   (the adapter's `made_by_bridge`) or by a `reference_id` naming a mapped Wix order, is never imported: its state goes
   to the Wix order it came from (Flow 3). Orders imported before (their mapping says `origin: pos`) get Flow 3 too.
   Everything else is imported (Flow 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from posbridge.domain.events import POS_ORDER_EVENTS
from posbridge.domain.order_sync import PosOrderSync
from posbridge.domain.pos_order import PosOrderSnapshot, PosOrderSummary
from posbridge.domain.tenant import Tenant
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError, TransientError
from posbridge.flows.apply_status import SyncResult, WixLink, apply_status
from posbridge.flows.import_order import import_pos_order
from posbridge.flows.lifecycle import require_active
from posbridge.ports.pos import PosGateways
from posbridge.ports.stores import CatalogPlacements, OrderMappingStore, OrderSyncRecords, SiteDirectory, TenantReader
from posbridge.ports.wix import WixOrderFormat, WixOrdersApi


@dataclass(frozen=True)
class PosSyncPorts:
    tenants: TenantReader
    pos: PosGateways
    wix: Callable[[str], WixOrdersApi]  # instance id -> that site's Wix orders API
    mappings: OrderMappingStore
    syncs: OrderSyncRecords
    catalog: CatalogPlacements
    site: SiteDirectory
    bridge_app_id: str  # the bridge's Wix app id: the catalogReference.appId of custom lines
    wix_format: WixOrderFormat  # the Create Order request of a POS order (wix/order_import.py)


def active_tenant(instance_id: str, tenants: TenantReader) -> Tenant:
    tenant = tenants.get(instance_id)
    if tenant is None:
        raise PermanentError("unknown_tenant", f"no tenant is registered for instance {instance_id}")
    require_active(tenant)
    return tenant


def sync_pos_order(message: WorkMessage, ports: PosSyncPorts) -> SyncResult:
    if message.event_type not in POS_ORDER_EVENTS:
        raise PermanentError("unhandled_event", f"{message.event_type} is not a POS order event")
    tenant = active_tenant(message.tenant_id, ports.tenants)
    try:
        summary = PosOrderSummary.model_validate(message.payload)
    except ValidationError:
        raise PermanentError("invalid_pos_event", f"{message.event_type} carries no readable order summary") from None
    tenant_id = tenant.instance_id

    previous = ports.syncs.get(tenant_id, summary.order_id)
    if previous is not None and not summary.position.is_newer_than(previous.position):
        return _not_newer(tenant_id, summary, previous, ports)
    if previous is None and ports.syncs.skip_reason(tenant_id, summary.order_id) is not None:
        return SyncResult("skipped", summary.order_id)

    order = ports.pos.for_tenant(tenant).order_snapshot(summary.order_id)
    if order.location_id != tenant.pos.location_id:
        raise PermanentError(
            "foreign_pos_location", f"POS order {order.id} is at a location not connected to {tenant_id}"
        )
    if summary.position_exact and summary.position.is_newer_than(order.position):
        raise TransientError(f"the POS answered POS order {order.id} older than its event announced; read it later")
    if previous is not None and not order.position.is_newer_than(previous.position):
        return SyncResult("already_applied", order.id, previous.wix_order_id, previous.wix_status)

    wix = ports.wix(tenant_id)
    link = wix_link(tenant_id, order, previous, wix, ports.mappings)
    if link is None:
        return import_pos_order(
            tenant,
            order,
            wix,
            ports.catalog,
            ports.site,
            ports.syncs,
            ports.mappings,
            ports.bridge_app_id,
            ports.wix_format,
        )
    return apply_status(tenant, order, link, previous, wix, ports.syncs)


def _not_newer(tenant_id: str, summary: PosOrderSummary, previous: PosOrderSync, ports: PosSyncPorts) -> SyncResult:
    if summary.position.is_older_than(previous.position):
        ports.syncs.count_stale(tenant_id, summary.order_id)
        return SyncResult("stale_dropped", summary.order_id, previous.wix_order_id, previous.wix_status)
    return SyncResult("already_applied", summary.order_id, previous.wix_order_id, previous.wix_status)


def wix_link(
    tenant_id: str,
    order: PosOrderSnapshot,
    previous: PosOrderSync | None,
    wix: WixOrdersApi,
    mappings: OrderMappingStore,
) -> WixLink | None:
    """The Wix order this POS order is shown on, or None when it has none yet (it is to be imported)."""
    mapping = mappings.by_pos_order(tenant_id, order.id)
    if mapping is not None:
        return WixLink(mapping.wix_order_id, tuple(mapping.lines), mapping.origin)
    from_wix = order.reference_id and mappings.by_wix_order(tenant_id, order.reference_id)
    if from_wix and from_wix.pos_order_id == order.id:
        return WixLink(from_wix.wix_order_id, tuple(from_wix.lines), "wix")
    if previous is not None:  # status shown before the mapping was written (below): same Wix order
        return WixLink(previous.wix_order_id, (), "wix")
    if order.made_by_bridge:
        # Flow 1 created it and has not written its mapping yet (this event overtook it). Its reference_id is the Wix
        # order id; the fulfillment covers that order's restaurant lines.
        if not order.reference_id:
            raise PermanentError("bridge_order_without_reference", f"POS order {order.id} names no Wix order")
        ref = wix.get_order(order.reference_id)
        return WixLink(ref.id, tuple(ref.restaurant_line_ids or ref.line_ids), "wix")
    return None
