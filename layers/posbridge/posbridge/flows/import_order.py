"""Flow 2: an order rung up on the POS becomes a Wix order, once, with a fulfillment so it shows in the dashboard.

Rules, in order:
1. Only real orders: a DRAFT waits for its next update; an order canceled before it was ever imported, or one without
   lines, is recorded as skipped (ORDERSKIP#POS#<id>) and never imported.
2. Lines go through the catalog mapping (the catalog publish writes it): a mapped POS item variation becomes a Wix
   Restaurants line (item, menu, section, plus the operation). A line with no mapping is never guessed: by default the
   order is parked in the DLQ with reason `unmapped_pos_line`; a tenant with `"unmappedPosLines": "custom"` gets it
   as a custom line of the bridge's own app instead. A fractional quantity (Wix takes whole units) is parked too.
3. No second Wix order, ever: before creating, Wix is searched by `channelInfo.externalOrderId` = the POS order id.
   If an earlier attempt created the order but its mapping write was lost, that order is adopted (and its fulfillment
   with it) instead of a new one being created.
4. The business location and the operation come from the Locations and Operations APIs (cached per tenant).
5. The order is created with `channelInfo {type: POS, externalOrderId}`, a complete priceSummary and notifications off
   (unless the tenant turned them on); then one fulfillment covering all its lines, with the status the POS order is at
   (Flow 3's table: "Pending" for a new order); then the two-way order mapping (`origin: pos`) and the sync record.

The loop guard, the other way round: orders the bridge created on the POS (Flow 1) never come here (see pos_sync),
and Wix orders with `channelInfo.type == POS` are never exported to the POS (export_order).
"""

from __future__ import annotations

from collections.abc import Sequence

from posbridge.domain.order_import import ImportLine, WixPlacement
from posbridge.domain.order_mapping import OrderMapping
from posbridge.domain.order_sync import PosOrderSync
from posbridge.domain.pos_order import PosOrderSnapshot
from posbridge.domain.tenant import Tenant
from posbridge.errors import PermanentError
from posbridge.flows.apply_status import SyncResult, WixLink, ensure_fulfillment, wix_target
from posbridge.ports.stores import CatalogPlacements, OrderMappingStore, OrderSyncRecords, SiteDirectory
from posbridge.ports.wix import WixImportApi, WixOrderFormat

REPORTED_IDS_MAX = 10  # ids named in a parked order's reason


def import_lines(
    tenant: Tenant, order: PosOrderSnapshot, catalog: CatalogPlacements, wix_format: WixOrderFormat
) -> list[ImportLine]:
    """Each POS line with its Wix placement; unmapped lines per the tenant's policy (park, or custom lines)."""
    variation_ids = [line.variation_id for line in order.lines if line.variation_id]
    placements = catalog.variations(tenant.instance_id, variation_ids) if variation_ids else {}
    lines: list[ImportLine] = []
    for line in order.lines:
        wix_format.whole_quantity(line)  # a weighed line is refused before anything is written
        found = placements.get(line.variation_id) if line.variation_id else None
        placement = WixPlacement(found.wix_item_id, found.wix_menu_id, found.wix_section_id) if found else None
        lines.append(ImportLine(line, placement))
    unmapped = [entry.line for entry in lines if entry.placement is None]
    if unmapped and tenant.settings.unmapped_pos_lines == "park":
        uids = [line.uid for line in unmapped][:REPORTED_IDS_MAX]
        variations = [line.variation_id or "ad hoc" for line in unmapped][:REPORTED_IDS_MAX]
        raise PermanentError(
            "unmapped_pos_line",
            f"POS order {order.id}: {len(unmapped)} of {len(order.lines)} lines have no catalog mapping "
            f"(line uids {uids}, POS variations {variations}); publish the POS catalog to Wix and redrive, or set "
            "the tenant setting unmappedPosLines to 'custom'",
            {"line_uids": uids, "variation_ids": variations},
        )
    return lines


def import_pos_order(
    tenant: Tenant,
    order: PosOrderSnapshot,
    wix: WixImportApi,
    catalog: CatalogPlacements,
    site: SiteDirectory,
    records: OrderSyncRecords,
    mappings: OrderMappingStore,
    bridge_app_id: str,
    wix_format: WixOrderFormat,
) -> SyncResult:
    if order.state == "DRAFT":
        return SyncResult("not_ready", order.id)
    if order.state == "CANCELED":
        return _canceled_before_import(tenant, order, wix, records)
    if not order.lines:
        records.record_skip(tenant.instance_id, order.id, "the POS order has no lines")
        return SyncResult("skipped", order.id)

    lines = import_lines(tenant, order, catalog, wix_format)
    status = wix_target(order).status or "Pending"
    existing = wix.find_by_external_id(order.id)
    if existing is None:
        ids = site.ids(tenant, wix)
        body = wix_format.create_order_body(
            order,
            lines,
            location_id=ids.location_id,
            operation_id=ids.operation_id,
            bridge_app_id=bridge_app_id,
            notify=tenant.settings.notify_on_import,
        )
        created = wix.create_order(body)
        _check_lines(order, created.line_ids)
        # ensure_fulfillment: a create whose answer was lost (processed, then 5xx or a timeout) makes the client's
        # retry refused as already fulfilled; the fulfillment it made is adopted rather than the order parked.
        fulfillment_id = ensure_fulfillment(wix, WixLink(created.id, created.line_ids, "pos"), status)
        wix_order = created
    else:  # an earlier attempt got this far: adopt its order (and its fulfillment, if it made one)
        wix_order = existing
        _check_lines(order, existing.line_ids)
        fulfillment_id = ensure_fulfillment(wix, WixLink(existing.id, existing.line_ids, "pos"), status)

    # The mapping first: a crash before the sync record is then healed by Flow 3 (it adopts the fulfillment).
    mappings.save(
        tenant.instance_id,
        OrderMapping(
            wix_order_id=wix_order.id,
            pos_order_id=order.id,
            pos_version=order.position.version,
            lines=dict(zip(wix_order.line_ids, (line.uid for line in order.lines), strict=True)),
            origin="pos",
        ),
    )
    records.record(
        tenant.instance_id,
        PosOrderSync(
            pos_order_id=order.id,
            wix_order_id=wix_order.id,
            position=order.position,
            wix_fulfillment_id=fulfillment_id,
            wix_status=status,
        ),
    )
    return SyncResult("imported", order.id, wix_order.id, status)


def _canceled_before_import(
    tenant: Tenant, order: PosOrderSnapshot, wix: WixImportApi, records: OrderSyncRecords
) -> SyncResult:
    """Never imported, so nothing to show, unless an earlier attempt did create the Wix order: then cancel it."""
    existing = wix.find_by_external_id(order.id)
    if existing is not None:
        wix.cancel_order(existing.id, notify_buyer=False)
        records.record(
            tenant.instance_id,
            PosOrderSync(pos_order_id=order.id, wix_order_id=existing.id, position=order.position, wix_canceled=True),
        )
        return SyncResult("canceled", order.id, existing.id)
    records.record_skip(tenant.instance_id, order.id, "canceled on the POS before it was imported")
    return SyncResult("skipped", order.id)


def _check_lines(order: PosOrderSnapshot, wix_line_ids: Sequence[str]) -> None:
    if len(wix_line_ids) != len(order.lines):
        raise PermanentError(
            "wix_order_lines_mismatch",
            f"Wix order for POS order {order.id} has {len(wix_line_ids)} lines, the POS order {len(order.lines)}",
        )
