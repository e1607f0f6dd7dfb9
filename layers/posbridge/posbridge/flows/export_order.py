"""Flow 1: a Wix restaurant order reaches the POS exactly once.

Exactly once rests on three guards, outermost first: the FIFO queue drops a redelivered webhook (dedup id = event id)
and serialises one order's events (group = tenant + order); the order mapping, checked before and written after the
POS call, turns any later event for an exported order into a no-op; and every POS write carries an idempotency key
derived from identity only, (tenant, step, Wix order id), never from the order's content. A retry after a crash
between the POS call and the mapping write gets the same POS order back; the same order edited since (a
reconciliation re-queues it as it is now) sends a different body under the same key, which the POS refuses
(IdempotencyKeyReused): that is parked with its reason, never retried under a new key, so no second ticket.

The customer step is keyed by the buyer's Wix contact id (by the order id when there is none): the same contact
ordering twice before Square's search index shows the first profile replays the first create instead of making a
second profile (which would also break the one-contact-one-customer mapping). If the contact's details changed in
between, Square refuses the key; the order is then exported without a customer link rather than parked (the ticket
matters, the profile link does not, and a new key could make a duplicate profile).

Paid: a POS may show an online order only once it is paid (Square does), so the created order is settled in full at
once, under keys of its own steps (create_payment, pay_order): a redelivery after a crash between the payment and
its application replays the payment (the same one, never a second) and completes it; an order whose mapping is
saved is never paid again. An order not paid on Wix is settled the same way but marked UNPAID with the amount the
staff collect, or not exported at all when the tenant says so (export_unpaid false: recorded as a skip).

An order canceled or fully refunded on Wix before it was exported is never exported: its status says CANCELED or its
payment status FULLY_REFUNDED, or the cancel flow recorded it (flows/cancel_order.py) before a late event for it
arrived.

A site that installed the app but has not connected a POS yet: its orders are not poison (nothing is wrong with
them) and must not sit in the DLQ with their buyer data. Only the order id and its update time are recorded
(store/awaiting_pos.py), counted (outcome `awaiting_pos_connection`), and the message is done; once the POS is
connected the reconciliation searches Wix from the oldest such order and queues them (flows/reconcile.py). Limit:
a record is kept two weeks (as the DLQ kept them before); a site connected later gets only its newer orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from posbridge.domain.events import ORDER_APPROVED
from posbridge.domain.money import Money
from posbridge.domain.order import LineItem, Order
from posbridge.domain.order_catalog import CatalogLine, LineSource, WixSoldAs
from posbridge.domain.order_mapping import OrderMapping
from posbridge.domain.pos_export import OrderPayment
from posbridge.domain.tenant import Tenant
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import IdempotencyKeyReused, PermanentError
from posbridge.flows.lifecycle import require_active
from posbridge.idempotency import idempotency_key
from posbridge.ports.pos import CATALOG_REFERENCE_UNKNOWN, PosGateway, PosGateways
from posbridge.ports.stores import AwaitingPos, CatalogIdsRead, OrderMappingStore, PosCatalogIds, TenantReader
from posbridge.ports.wix import WixOrderEvents

Outcome = Literal[
    "exported",
    "already_exported",
    "not_restaurant",
    "awaiting_approval",
    "from_pos",
    "canceled_before_export",
    "unpaid_not_exported",
    "awaiting_pos_connection",
]
# The skip the cancel flow records for an order canceled before it was exported; the export flow honours it.
CANCELED_BEFORE_EXPORT = "canceled on Wix before it was exported"
REFUNDED_BEFORE_EXPORT = "fully refunded on Wix before it was exported"
UNPAID_NOT_EXPORTED = "not paid on Wix and the tenant exports paid orders only (exportUnpaid false)"
CUSTOMER_STEP, ORDER_STEP, ORDER_AD_HOC_STEP = "create_customer", "create_order", "create_order_ad_hoc"
PAYMENT_STEP, PAY_STEP = "create_payment", "pay_order"


@dataclass(frozen=True)
class ExportResult:
    outcome: Outcome
    wix_order_id: str
    pos_order_id: str | None = None
    lines: int = 0
    # Wix line id -> "catalog:<reason>" | "ad_hoc:<reason>" (ids and codes only: no personal data)
    line_sources: dict[str, str] = field(default_factory=dict)


def export_wix_order(
    message: WorkMessage,
    tenants: TenantReader,
    mappings: OrderMappingStore,
    pos: PosGateways,
    catalog: PosCatalogIds | None = None,
    awaiting: AwaitingPos | None = None,
    *,
    wix_orders: WixOrderEvents,
) -> ExportResult:
    tenant = tenants.get(message.tenant_id)
    if tenant is None and awaiting is not None:
        awaiting.record(message.tenant_id, message.entity_id, wix_orders.order_updated_at(message))
        return ExportResult("awaiting_pos_connection", message.entity_id)
    if tenant is None:
        raise PermanentError("unknown_tenant", f"no tenant is registered for instance {message.tenant_id}")
    require_active(tenant)

    event = wix_orders.order_event(message)
    order = event.order
    existing = mappings.by_wix_order(tenant.instance_id, order.id)
    if existing is not None:
        return ExportResult("already_exported", order.id, existing.pos_order_id, len(existing.lines))
    if event.placed_on_pos:
        # Loop guard: an order rung up on a POS (Flow 2 imports them as channel POS) never goes to the POS again.
        mappings.record_skip(tenant.instance_id, order.id, "placed on the POS (channelInfo.type POS)")
        return ExportResult("from_pos", order.id)
    if not order.line_items:
        mappings.record_skip(tenant.instance_id, order.id, "no Wix Restaurants line items")
        return ExportResult("not_restaurant", order.id)
    skipped = mappings.skip_reason(tenant.instance_id, order.id)
    if order.status == "CANCELED" or skipped == CANCELED_BEFORE_EXPORT:
        mappings.record_skip(tenant.instance_id, order.id, CANCELED_BEFORE_EXPORT)
        return ExportResult("canceled_before_export", order.id)
    refunded = order.money is not None and order.money.payment_status == "FULLY_REFUNDED"
    if refunded or skipped == REFUNDED_BEFORE_EXPORT:
        mappings.record_skip(tenant.instance_id, order.id, REFUNDED_BEFORE_EXPORT)
        return ExportResult("canceled_before_export", order.id)
    if not _ready(message.event_type, order, tenant):
        return ExportResult("awaiting_approval", order.id)
    if not order.paid_online and not tenant.settings.export_unpaid:
        status = order.money.payment_status if order.money else "unknown"
        mappings.record_skip(tenant.instance_id, order.id, f"{UNPAID_NOT_EXPORTED} (paymentStatus {status})")
        return ExportResult("unpaid_not_exported", order.id)

    gateway = pos.for_tenant(tenant)
    customer_id = _customer(gateway, tenant.instance_id, order)
    catalog_lines, sources = catalog_lines_of(order, catalog.pos_catalog_ids if catalog else None, tenant.instance_id)
    try:
        # Identity only: Created and Approved, a redelivery, and the same order edited since all carry this one key.
        pos_order = gateway.create_order(
            order, customer_id, idempotency_key(tenant.instance_id, ORDER_STEP, order.id), catalog_lines
        )
    except PermanentError as refused:
        if refused.reason != CATALOG_REFERENCE_UNKNOWN or not catalog_lines:
            raise
        # The mapping names catalog objects the POS deleted since (a sync will catch up): the kitchen still gets the
        # order, every line ad hoc, under a step of its own (the refused request created nothing).
        sources = [LineSource(line_id=line.id, catalog=False, reason="stale_mapping") for line in order.line_items]
        pos_order = gateway.create_order(
            order, customer_id, idempotency_key(tenant.instance_id, ORDER_AD_HOC_STEP, order.id), {}
        )
    line_sources = {source.line_id: source.label for source in sources}
    to_collect = order.to_collect
    payment_id = gateway.pay_order(
        pos_order,
        OrderPayment(wix_order_id=order.id, tip=_tip(order), to_collect=to_collect),
        idempotency_key(tenant.instance_id, PAYMENT_STEP, order.id),
        idempotency_key(tenant.instance_id, PAY_STEP, order.id),
    )
    mappings.save(
        tenant.instance_id,
        OrderMapping(
            wix_order_id=order.id,
            pos_order_id=pos_order.id,
            pos_version=pos_order.version,
            lines=pos_order.line_ids,
            wix_contact_id=order.buyer.contact_id if customer_id else None,
            pos_customer_id=customer_id,
            line_sources=line_sources,
            adjustment_minor=pos_order.adjustment_minor,
            adjustment_name=pos_order.adjustment_name,
            pos_payment_id=payment_id,
            to_collect_minor=to_collect.minor_units() if to_collect is not None else None,
        ),
    )
    return ExportResult("exported", order.id, pos_order.id, len(order.line_items), line_sources)


def catalog_lines_of(
    order: Order, read: CatalogIdsRead | None, tenant_id: str
) -> tuple[dict[str, CatalogLine], list[LineSource]]:
    """Which lines go as POS catalog lines (by Wix line id), and how every line goes.

    A line is a catalog line when the mapping holds the POS variation of its Wix item and size; each of its modifiers
    goes by its POS modifier id when the mapping holds it, ad hoc (name and price) otherwise, so an unmapped extra
    never costs the line its catalog identity. Any other line goes ad hoc, as before. The price stays Wix's either
    way (the adapter sends it: see the README, Flow 1)."""
    wanted = [line for line in order.line_items if line.catalog_item_id]
    if read is None or not wanted:
        return {}, [LineSource(line_id=line.id, catalog=False, reason="not_catalog") for line in order.line_items]
    ids = read(
        tenant_id,
        [_sold_as(line) for line in wanted],
        [m.wix_id for line in wanted for m in line.modifiers if m.wix_id],
    )
    lines: dict[str, CatalogLine] = {}
    sources: list[LineSource] = []
    for line in order.line_items:
        variation = ids.variations.get(_sold_as(line)) if line.catalog_item_id else None
        if variation is None:
            reason: Literal["not_catalog", "not_mapped"] = "not_mapped" if line.catalog_item_id else "not_catalog"
            sources.append(LineSource(line_id=line.id, catalog=False, reason=reason))
            continue
        modifier_ids = tuple(ids.modifiers.get(m.wix_id) if m.wix_id else None for m in line.modifiers)
        lines[line.id] = CatalogLine(variation_id=variation, modifier_ids=modifier_ids)
        complete = all(modifier_ids)
        sources.append(
            LineSource(line_id=line.id, catalog=True, reason="mapped" if complete else "mapped_ad_hoc_modifiers")
        )
    return lines, sources


def _sold_as(line: LineItem) -> WixSoldAs:
    return WixSoldAs(item_id=line.catalog_item_id or "", variant_id=line.wix_variant_id)


def _customer(gateway: PosGateway, tenant_id: str, order: Order) -> str | None:
    if not (order.buyer.email or order.buyer.phone):
        return None
    key = idempotency_key(tenant_id, CUSTOMER_STEP, order.buyer.contact_id or f"order:{order.id}")
    try:
        return gateway.find_or_create_customer(order.buyer, key)
    except IdempotencyKeyReused:
        # The contact's profile was created before with other details and is not yet searchable: no link this time.
        return None


def _tip(order: Order) -> Money | None:
    """Wix's tip (Wix Tips' additional fee): the restaurant's, so it goes on the payment as its tip."""
    tip = order.money.tip if order.money else None
    return tip.price if tip is not None else None


def _ready(event_type: str, order: Order, tenant: Tenant) -> bool:
    """Export on approval by default (an approved order is paid or accepted); a tenant may export on creation."""
    if tenant.settings.export_on == "created":
        return True
    return event_type == ORDER_APPROVED or order.status == "APPROVED"
