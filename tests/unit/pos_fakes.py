"""In-memory fakes of the ports Flows 2 and 3 and the reconciliation use, plus builders of Square order JSON.

They behave like the real adapters where it matters to the rules: Wix finds orders by externalOrderId and refuses a
second fulfillment of fulfilled lines (400), the sync record is written forward only, every Wix call is counted.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from posbridge.domain.order import Buyer, Order
from posbridge.domain.order_catalog import CatalogIds, CatalogLine, CatalogPlacement, WixSoldAs
from posbridge.domain.order_mapping import OrderMapping
from posbridge.domain.order_sync import Cursors, Known, PosOrderSync, SiteIds
from posbridge.domain.pos_export import OrderPayment, PosOrder, PosOrderPage, PosRefund
from posbridge.domain.pos_order import PosOrderSnapshot
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError
from posbridge.flows.pos_sync import PosSyncPorts
from posbridge.ports.wix import WixOrdersPage
from posbridge.pos.square.order_snapshot import snapshot_from_square, summary_from_order
from posbridge.pos.square.orders import SOURCE_NAME
from posbridge.wix import order_import
from posbridge.wix.orders_api import WixFulfillmentRef, WixOrderRef, order_ref

TENANT_ID = "inst-flow23"
LOCATION_ID = "L-FLOW23"
BRIDGE_APP_ID = "bridge-app-id"
_clock = itertools.count(1)


def tenant(
    instance_id: str = TENANT_ID,
    status: Literal["active", "paused"] = "active",
    unmapped: Literal["park", "custom"] = "park",
) -> Tenant:
    return Tenant(
        instance_id=instance_id,
        status=status,
        pos=PosConnection(provider="square", merchant_id="M-FLOW23", location_id=LOCATION_ID),
        settings=TenantSettings(unmapped_pos_lines=unmapped),
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )


def stamp(second: int) -> str:
    return f"2026-03-01T12:{second // 60:02d}:{second % 60:02d}.000Z"


def square_line(
    name: str = "Margherita", cents: int = 1250, quantity: str = "1", variation: str | None = "VAR-PIZZA", **extra: Any
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "uid": f"uid-{uuid.uuid4().hex[:8]}",
        "name": name,
        "quantity": quantity,
        "base_price_money": {"amount": cents, "currency": "USD"},
        **extra,
    }
    if variation:
        line["catalog_object_id"] = variation
    return line


def square_order(
    order_id: str | None = None,
    *,
    state: str = "OPEN",
    fulfillment: str | None = "PROPOSED",
    version: int | None = None,
    updated: int | None = None,
    lines: list[dict[str, Any]] | None = None,
    by_bridge: bool = False,
    reference_id: str | None = None,
    location_id: str = LOCATION_ID,
    fulfillment_type: str = "PICKUP",
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    lines = lines if lines is not None else [square_line()]
    total = sum(int(line["base_price_money"]["amount"]) * int(float(line["quantity"])) for line in lines)
    order: dict[str, Any] = {
        "id": order_id or f"POS-{uuid.uuid4().hex[:10]}",
        "location_id": location_id,
        "state": state,
        "created_at": stamp(0),
        "updated_at": stamp(updated if updated is not None else next(_clock)),
        "line_items": lines,
        "total_money": {"amount": total, "currency": "USD"},
        "source": {"name": SOURCE_NAME if by_bridge else "Square Point of Sale"},
    }
    if version is not None:
        order["version"] = version
    if reference_id:
        order["reference_id"] = reference_id
    if fulfillment:
        key = {"PICKUP": "pickup_details", "DELIVERY": "delivery_details"}[fulfillment_type]
        order["fulfillments"] = [
            {"uid": "ful-1", "type": fulfillment_type, "state": fulfillment, key: details or {"recipient": {}}}
        ]
    return order


def message(order: dict[str, Any], event_type: str = "order.updated", event_id: str | None = None) -> WorkMessage:
    summary = summary_from_order(order)
    return WorkMessage(
        source="square",
        event_type=event_type,
        event_id=event_id or str(uuid.uuid4()),
        tenant_id=TENANT_ID,
        entity_id=summary.order_id,
        payload=summary.model_dump(mode="json"),
    )


# ---- Wix ------------------------------------------------------------------------------------------------------------


def wix_error(status: int, code: str) -> PermanentError:
    """What the Wix client raises for a 4xx: a PermanentError whose details carry the status (like WixApiError)."""
    return PermanentError(f"wix_{code.lower()}", f"Wix answered {status} {code}", {"status": status, "code": code})


@dataclass
class FakeWix:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    ful: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # order id -> its fulfillments
    calls: Counter[str] = field(default_factory=Counter)
    fail: dict[str, list[Exception]] = field(default_factory=dict)  # method -> errors raised on its next calls
    canceled: list[tuple[str, bool]] = field(default_factory=list)
    created_bodies: list[dict[str, Any]] = field(default_factory=list)

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        pending = self.fail.get(name)
        if pending:
            raise pending.pop(0)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def add_order(self, *, external_id: str | None = None, lines: int = 1, restaurant: bool = True) -> str:
        order_id = str(uuid.uuid4())
        app_id = "9a5d83fd-8570-482e-81ab-cfa88942ee60" if restaurant else "stores"
        self.orders[order_id] = {
            "id": order_id,
            "status": "APPROVED",
            "channelInfo": {"type": "POS", "externalOrderId": external_id} if external_id else {"type": "WEB"},
            "lineItems": [{"id": str(uuid.uuid4()), "catalogReference": {"appId": app_id}} for _ in range(lines)],
            "updatedDate": stamp(next(_clock)),
        }
        self.ful[order_id] = []
        return order_id

    def find_by_external_id(self, external_order_id: str) -> WixOrderRef | None:
        self._call("find_by_external_id")
        for order in self.orders.values():
            if (order.get("channelInfo") or {}).get("externalOrderId") == external_order_id:
                return order_ref(order)
        return None

    def create_order(self, body: dict[str, Any]) -> WixOrderRef:
        self._call("create_order")
        self.created_bodies.append(body)
        order = {**body["order"], "id": str(uuid.uuid4())}
        order["lineItems"] = [{**line, "id": str(uuid.uuid4())} for line in order["lineItems"]]
        self.orders[order["id"]] = order
        self.ful[order["id"]] = []
        return order_ref(order)

    def get_order(self, order_id: str) -> WixOrderRef:
        self._call("get_order")
        return order_ref(self.orders[order_id])

    def cancel_order(self, order_id: str, *, notify_buyer: bool) -> None:
        self._call("cancel_order")
        self.orders[order_id]["status"] = "CANCELED"
        self.canceled.append((order_id, notify_buyer))

    def status_of(self, order_id: str) -> str | None:
        found = self.ful[order_id]
        return found[0]["status"] if found else None

    def fulfillments(self, order_id: str) -> list[WixFulfillmentRef]:
        self._call("fulfillments")
        return [WixFulfillmentRef(f["id"], f["status"], tuple(f["lines"])) for f in self.ful[order_id]]

    def create_fulfillment(self, order_id: str, line_ids: tuple[str, ...], status: str) -> str:
        self._call("create_fulfillment")
        if any(set(line_ids) & set(f["lines"]) for f in self.ful[order_id]):
            raise wix_error(400, "VALIDATION_ERROR")  # those lines are fulfilled already
        fulfillment_id = str(uuid.uuid4())
        self.ful[order_id].append({"id": fulfillment_id, "status": status, "lines": list(line_ids)})
        return fulfillment_id

    def update_fulfillment_status(self, order_id: str, fulfillment_id: str, status: str) -> None:
        self._call("update_fulfillment_status")
        next(f for f in self.ful[order_id] if f["id"] == fulfillment_id)["status"] = status

    def locations(self) -> list[dict[str, Any]]:
        self._call("locations")
        return [{"id": "wix-loc-1", "default": True}]

    def operations(self) -> list[dict[str, Any]]:
        self._call("operations")
        return [{"id": "wix-op-1", "default": True}]

    def search_restaurant_orders(self, updated_since: str, cursor: str | None = None) -> WixOrdersPage:
        self._call("search_restaurant_orders")
        found = sorted(
            (o for o in self.orders.values() if o["updatedDate"] >= updated_since), key=lambda o: o["updatedDate"]
        )
        start = int(cursor or 0)
        page = found[start : start + 2]  # tiny pages: the walk must follow cursors
        following = str(start + 2) if start + 2 < len(found) else None
        return WixOrdersPage(tuple(page), following)


# ---- POS ------------------------------------------------------------------------------------------------------------


@dataclass
class FakePos:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    fail_search: list[Exception] = field(default_factory=list)

    def put(self, order: dict[str, Any]) -> dict[str, Any]:
        self.orders[order["id"]] = order
        return order

    def for_tenant(self, tenant: Tenant) -> FakePos:
        return self

    def find_or_create_customer(self, buyer: Buyer, idempotency_key: str) -> str | None:
        raise AssertionError("not used by the POS-side flows")

    def create_order(
        self,
        order: Order,
        customer_id: str | None,
        idempotency_key: str,
        catalog: Mapping[str, CatalogLine] | None = None,
    ) -> PosOrder:
        raise AssertionError("not used by the POS-side flows")

    def pay_order(self, order: PosOrder, payment: OrderPayment, payment_key: str, pay_key: str) -> str | None:
        raise AssertionError("not used by the POS-side flows")

    def cancel_order(self, order: PosOrderSnapshot, idempotency_key: str) -> None:
        raise AssertionError("not used by the POS-side flows")

    def refund_payment(self, payment_id: str, idempotency_key: str, reason: str) -> PosRefund:
        raise AssertionError("not used by the POS-side flows")

    def order_snapshot(self, order_id: str) -> PosOrderSnapshot:
        self.calls["order_snapshot"] += 1
        return snapshot_from_square(self.orders[order_id])

    def orders_updated_since(self, since: str, cursor: str | None = None) -> PosOrderPage:
        self.calls["orders_updated_since"] += 1
        if self.fail_search:
            raise self.fail_search.pop(0)
        found = sorted((o for o in self.orders.values() if o["updated_at"] >= since), key=lambda o: o["updated_at"])
        start = int(cursor or 0)
        page = found[start : start + 2]
        following = str(start + 2) if start + 2 < len(found) else None
        return PosOrderPage(orders=tuple(summary_from_order(o) for o in page), cursor=following)


# ---- stores ---------------------------------------------------------------------------------------------------------


@dataclass
class FakeTenants:
    tenants: dict[str, Tenant] = field(default_factory=dict)

    def get(self, instance_id: str) -> Tenant | None:
        return self.tenants.get(instance_id)


@dataclass
class FakeMappings:
    by_wix: dict[str, OrderMapping] = field(default_factory=dict)

    def save(self, tenant_id: str, mapping: OrderMapping) -> None:
        self.by_wix.setdefault(mapping.wix_order_id, mapping)

    def by_wix_order(self, tenant_id: str, wix_order_id: str) -> OrderMapping | None:
        return self.by_wix.get(wix_order_id)

    def by_pos_order(self, tenant_id: str, pos_order_id: str) -> OrderMapping | None:
        return next((m for m in self.by_wix.values() if m.pos_order_id == pos_order_id), None)

    def record_skip(self, tenant_id: str, wix_order_id: str, reason: str) -> None:
        raise AssertionError("not used by these flows")

    def skip_reason(self, tenant_id: str, wix_order_id: str) -> str | None:
        raise AssertionError("not used by these flows")

    def record_wix_refund(self, tenant_id: str, wix_order_id: str, payment_status: str, refunded_minor: int) -> bool:
        raise AssertionError("not used by these flows")

    def record_pos_refund(self, tenant_id: str, wix_order_id: str, refund_id: str | None, refunded_minor: int) -> None:
        raise AssertionError("not used by these flows")


@dataclass
class FakeSyncs:
    records: dict[str, PosOrderSync] = field(default_factory=dict)
    skips: dict[str, str] = field(default_factory=dict)
    stale: Counter[str] = field(default_factory=Counter)
    wix_known: set[str] = field(default_factory=set)
    parked: set[str] = field(default_factory=set)  # POS orders whose work is parked in the DLQ

    def get(self, tenant_id: str, pos_order_id: str) -> PosOrderSync | None:
        return self.records.get(pos_order_id)

    def record(self, tenant_id: str, sync: PosOrderSync) -> bool:
        current = self.records.get(sync.pos_order_id)
        if current is not None and sync.position.is_older_than(current.position):
            return False
        self.records[sync.pos_order_id] = sync.model_copy(
            update={"stale_dropped": current.stale_dropped if current else 0}
        )
        return True

    def count_stale(self, tenant_id: str, pos_order_id: str) -> None:
        self.stale[pos_order_id] += 1

    def record_skip(self, tenant_id: str, pos_order_id: str, reason: str) -> None:
        self.skips[pos_order_id] = reason

    def skip_reason(self, tenant_id: str, pos_order_id: str) -> str | None:
        return self.skips.get(pos_order_id)

    def known(self, tenant_id: str, pos_order_ids: Iterable[str]) -> dict[str, Known]:
        found = {}
        for order_id in pos_order_ids:
            record = self.records.get(order_id)
            if record is not None or order_id in self.skips or order_id in self.parked:
                found[order_id] = Known(
                    record.position if record else None, order_id in self.skips, order_id in self.parked
                )
        return found

    def known_wix_orders(self, tenant_id: str, wix_order_ids: Iterable[str]) -> set[str]:
        return self.wix_known & set(wix_order_ids)


@dataclass
class FakeCatalog:
    """The catalog mapping both ways: POS variation -> Wix placement (Flow 2), Wix ids -> POS ids (Flow 1)."""

    placements: dict[str, CatalogPlacement] = field(default_factory=dict)
    sold_as: dict[WixSoldAs, str] = field(default_factory=dict)
    modifiers: dict[str, str] = field(default_factory=dict)
    id_reads: list[tuple[set[WixSoldAs], set[str]]] = field(default_factory=list)

    def variations(self, tenant_id: str, variation_ids: Iterable[str]) -> dict[str, CatalogPlacement]:
        return {v: self.placements[v] for v in variation_ids if v in self.placements}

    def pos_catalog_ids(self, tenant_id: str, sold: Iterable[WixSoldAs], modifiers: Iterable[str]) -> CatalogIds:
        wanted, wanted_modifiers = set(sold), set(modifiers)
        self.id_reads.append((wanted, wanted_modifiers))
        return CatalogIds(
            variations={s: self.sold_as[s] for s in wanted if s in self.sold_as},
            modifiers={m: self.modifiers[m] for m in wanted_modifiers if m in self.modifiers},
        )


@dataclass
class FakeSite:
    calls: int = 0

    def ids(self, tenant: Tenant, api: Any) -> SiteIds:
        self.calls += 1
        return SiteIds(location_id="wix-loc-1", operation_id="wix-op-1")


@dataclass
class FakeCursors:
    stored: Cursors = field(default_factory=Cursors)
    advances: int = 0

    def cursors(self, tenant_id: str) -> Cursors:
        return self.stored

    def advance(self, tenant_id: str, cursors: Cursors) -> bool:
        self.advances += 1
        self.stored = cursors
        return True


@dataclass
class FakeQueue:
    sent: list[WorkMessage] = field(default_factory=list)

    def send(self, message: WorkMessage) -> str:
        self.sent.append(message)
        return str(len(self.sent))

    def send_many(self, messages: Sequence[WorkMessage]) -> None:
        self.sent += messages


PIZZA = CatalogPlacement(wix_item_id="wix-item-pizza", wix_menu_id="wix-menu-1", wix_section_id="wix-section-1")


@dataclass
class World:
    """Everything Flows 2 and 3 talk to, wired as the worker wires the real adapters."""

    wix: FakeWix = field(default_factory=FakeWix)
    pos: FakePos = field(default_factory=FakePos)
    tenants: FakeTenants = field(default_factory=lambda: FakeTenants({TENANT_ID: tenant()}))
    mappings: FakeMappings = field(default_factory=FakeMappings)
    syncs: FakeSyncs = field(default_factory=FakeSyncs)
    catalog: FakeCatalog = field(default_factory=lambda: FakeCatalog({"VAR-PIZZA": PIZZA}))
    site: FakeSite = field(default_factory=FakeSite)

    def ports(self) -> PosSyncPorts:
        return PosSyncPorts(
            tenants=self.tenants,
            pos=self.pos,
            wix=lambda _instance: self.wix,
            mappings=self.mappings,
            syncs=self.syncs,
            catalog=self.catalog,
            site=self.site,
            bridge_app_id=BRIDGE_APP_ID,
            wix_format=order_import,
        )
