"""Flow 1's business rule (export_wix_order) over in-memory fakes, then a crash-retry against the Square sandbox."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from devstack.httpserver import BackgroundServer
from devstack.square_sandbox import SquareSandbox
from posbridge.domain.events import ORDER_APPROVED, ORDER_CREATED
from posbridge.domain.money import Money
from posbridge.domain.order import Buyer, Order
from posbridge.domain.order_catalog import CatalogLine, WixSoldAs
from posbridge.domain.order_mapping import OrderMapping
from posbridge.domain.pos_export import OrderPayment, PosOrder, PosOrderPage, PosRefund
from posbridge.domain.pos_order import PosOrderSnapshot
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import IdempotencyKeyReused, PermanentError, TransientError
from posbridge.flows.export_order import CANCELED_BEFORE_EXPORT, ExportResult, export_wix_order
from posbridge.idempotency import idempotency_key
from posbridge.ports.pos import CATALOG_REFERENCE_UNKNOWN, PosGateway
from posbridge.pos.square import SquareClient, SquarePos
from posbridge.pos.square.orders import to_square_order
from posbridge.wix import orders as wix_order_events
from tests.unit.pos_fakes import FakeCatalog, FakeTenants

EVENTS = Path(__file__).resolve().parents[2] / "events" / "wix_webhook"
TENANT_ID = "d3b0a5e2-7c1f-4e8a-9b2d-000000000001"  # the samples' instanceId
ORDER_ID = "5a2c7e4e-8f3b-4d1e-9a63-1c2b3d4e5f60"
LINE_IDS = ("00000000-0000-4000-8000-00000000a001", "00000000-0000-4000-8000-00000000a002")
STORES_APP_ID = "215238eb-22a5-4c36-9e7b-e7c08025e04e"


# ---- fakes ---------------------------------------------------------------------------------------------------------


@dataclass
class FakeMappings:
    """Mappings keyed by (tenant, Wix order id); `crashes` saves raise before anything is stored."""

    saved: dict[tuple[str, str], OrderMapping] = field(default_factory=dict)
    skips: dict[tuple[str, str], str] = field(default_factory=dict)
    crashes: int = 0
    save_calls: int = 0

    def by_wix_order(self, tenant_id: str, wix_order_id: str) -> OrderMapping | None:
        return self.saved.get((tenant_id, wix_order_id))

    def save(self, tenant_id: str, mapping: OrderMapping) -> None:
        self.save_calls += 1
        if self.crashes:
            self.crashes -= 1
            raise TransientError("the function died between the POS write and the mapping write")
        self.saved.setdefault((tenant_id, mapping.wix_order_id), mapping)

    def record_skip(self, tenant_id: str, wix_order_id: str, reason: str) -> None:
        self.skips[(tenant_id, wix_order_id)] = reason

    def skip_reason(self, tenant_id: str, wix_order_id: str) -> str | None:
        return self.skips.get((tenant_id, wix_order_id))

    def by_pos_order(self, tenant_id: str, pos_order_id: str) -> OrderMapping | None:
        raise AssertionError("not used by the export flow")

    def record_wix_refund(self, tenant_id: str, wix_order_id: str, payment_status: str, refunded_minor: int) -> bool:
        raise AssertionError("not used by the export flow")

    def record_pos_refund(self, tenant_id: str, wix_order_id: str, refund_id: str | None, refunded_minor: int) -> None:
        raise AssertionError("not used by the export flow")


def _replay(stored: dict[str, tuple[str, Any]], key: str, body: Any, make: Any) -> Any:
    """Square's idempotency: same key and body -> the first answer; same key, another body -> IDEMPOTENCY_KEY_REUSED."""
    fingerprint = json.dumps(body, sort_keys=True, default=str)
    if key in stored:
        if stored[key][0] != fingerprint:
            raise IdempotencyKeyReused("square_idempotency_key_reused", "key reused with another body")
        return stored[key][1]
    stored[key] = (fingerprint, make())
    return stored[key][1]


@dataclass
class FakeGateway:
    """Records every call; answers idempotency keys as Square does (the customer search always misses, as while
    Square's index lags)."""

    customer_calls: list[tuple[Buyer, str]] = field(default_factory=list)
    order_calls: list[tuple[Order, str | None, str]] = field(default_factory=list)
    customers: dict[str, tuple[str, Any]] = field(default_factory=dict)
    orders: dict[str, tuple[str, Any]] = field(default_factory=dict)
    catalog_calls: list[dict[str, CatalogLine]] = field(default_factory=list)
    stale_variations: set[str] = field(default_factory=set)  # POS variations deleted since the mapping was written
    payments: dict[str, tuple[str, Any]] = field(default_factory=dict)  # CreatePayment by key
    pays: dict[str, tuple[str, Any]] = field(default_factory=dict)  # PayOrder by key
    paid: dict[str, list[str]] = field(default_factory=dict)  # POS order id -> the payments applied to it
    payment_calls: list[tuple[PosOrder, OrderPayment]] = field(default_factory=list)
    crash_before_pay: int = 0  # the function dies after CreatePayment, before PayOrder

    def pay_order(self, order: PosOrder, payment: OrderPayment, payment_key: str, pay_key: str) -> str | None:
        """Square's rules where they matter: keys replay, and an order is paid once (a second PayOrder under
        another key is refused, as an already paid order is on Square)."""
        self.payment_calls.append((order, payment))
        made = f"PAY-{len(self.payments) + 1}"
        payment_id = str(_replay(self.payments, payment_key, payment.model_dump(mode="json"), lambda: made))
        if self.crash_before_pay:
            self.crash_before_pay -= 1
            raise TransientError("the function died between CreatePayment and PayOrder")

        def settle() -> str:
            if order.id in self.paid:
                raise PermanentError("square_bad_request", f"Order {order.id} is already paid.")
            self.paid[order.id] = [payment_id]
            return order.id

        _replay(self.pays, pay_key, {"order": order.id, "version": order.version, "payment": payment_id}, settle)
        return payment_id

    def find_or_create_customer(self, buyer: Buyer, idempotency_key: str) -> str | None:
        self.customer_calls.append((buyer, idempotency_key))
        if not (buyer.email or buyer.phone):
            return None
        made = f"CUST-{len(self.customers) + 1}"
        return str(_replay(self.customers, idempotency_key, buyer.model_dump(mode="json"), lambda: made))

    def create_order(
        self,
        order: Order,
        customer_id: str | None,
        idempotency_key: str,
        catalog: Mapping[str, CatalogLine] | None = None,
    ) -> PosOrder:
        self.order_calls.append((order, customer_id, idempotency_key))
        self.catalog_calls.append(dict(catalog or {}))
        if catalog and self.stale_variations & {c.variation_id for c in catalog.values()}:
            raise PermanentError(CATALOG_REFERENCE_UNKNOWN, "a catalog id the POS deleted")
        made = PosOrder(
            id=f"POS-{len(self.orders) + 1}",
            version=1,
            line_ids={line.id: f"uid-{line.id[-4:]}" for line in order.line_items},
            customer_id=customer_id,
        )
        body = to_square_order(order, "L1", customer_id, catalog)  # what Square would compare
        created = _replay(self.orders, idempotency_key, body, lambda: made)
        assert isinstance(created, PosOrder)
        return created

    def order_snapshot(self, order_id: str) -> PosOrderSnapshot:
        raise AssertionError("not used by the export flow")

    def cancel_order(self, order: PosOrderSnapshot, idempotency_key: str) -> None:
        raise AssertionError("not used by the export flow")

    def refund_payment(self, payment_id: str, idempotency_key: str, reason: str) -> PosRefund:
        raise AssertionError("not used by the export flow")

    def orders_updated_since(self, since: str, cursor: str | None = None) -> PosOrderPage:
        raise AssertionError("not used by the export flow")

    @property
    def created(self) -> list[PosOrder]:
        return [order for _, order in self.orders.values()]

    @property
    def order_keys(self) -> list[str]:
        return [key for _, _, key in self.order_calls]


@dataclass
class FakePosFactory:
    gateway: PosGateway
    tenants_seen: list[str] = field(default_factory=list)

    def for_tenant(self, tenant: Tenant) -> PosGateway:
        self.tenants_seen.append(tenant.instance_id)
        return self.gateway


def _tenant(
    instance_id: str = TENANT_ID,
    status: Literal["active", "paused"] = "active",
    export_on: Literal["approved", "created"] = "approved",
    location_id: str = "L1",
) -> Tenant:
    return Tenant(
        instance_id=instance_id,
        status=status,
        pos=PosConnection(provider="square", merchant_id="M1", location_id=location_id),
        settings=TenantSettings(export_on=export_on),
        created_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:00+00:00",
    )


@dataclass
class World:
    tenants: FakeTenants
    mappings: FakeMappings
    gateway: FakeGateway
    pos: FakePosFactory
    catalog: FakeCatalog = field(default_factory=FakeCatalog)

    def run(self, message: WorkMessage) -> ExportResult:
        return export_wix_order(
            message, self.tenants, self.mappings, self.pos, self.catalog, wix_orders=wix_order_events
        )


def _world(*tenants: Tenant) -> World:
    gateway = FakeGateway()
    registered = tenants or (_tenant(),)
    return World(FakeTenants({t.instance_id: t for t in registered}), FakeMappings(), gateway, FakePosFactory(gateway))


UNMAPPED = {line_id: "ad_hoc:not_mapped" for line_id in LINE_IDS}
NOT_CATALOG = {line_id: "ad_hoc:not_catalog" for line_id in LINE_IDS}  # the catalog mapping is not read


@pytest.fixture
def world() -> World:
    return _world()


# ---- messages ------------------------------------------------------------------------------------------------------


def _sample_event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text())["event"])


def _order_of(event: dict[str, Any]) -> dict[str, Any]:
    """The order inside the event itself (not a copy), so changes to it change the event."""
    order = event["createdEvent"]["entity"] if "createdEvent" in event else event["actionEvent"]["body"]["order"]
    assert isinstance(order, dict)
    return order


def _message(
    kind: Literal["created", "approved"] = "approved",
    tenant_id: str = TENANT_ID,
    event_id: str | None = None,
    **order_changes: Any,
) -> WorkMessage:
    """The sample event of that kind, with top-level order fields replaced (the order id follows `id`)."""
    event = copy.deepcopy(_sample_event(f"order_{kind}.json"))
    order = _order_of(event)
    order.update(order_changes)
    event["entityId"] = order["id"]
    if event_id is not None:
        event["id"] = event_id
    return WorkMessage(
        source="wix",
        event_type=ORDER_CREATED if kind == "created" else ORDER_APPROVED,
        event_id=event["id"],
        tenant_id=tenant_id,
        entity_id=order["id"],
        payload=event,
    )


def _sample_line_items() -> list[dict[str, Any]]:
    return list(_order_of(_sample_event("order_created.json"))["lineItems"])


def _store_line() -> dict[str, Any]:
    return {
        "id": "00000000-0000-4000-8000-00000000b001",
        "productName": {"original": "Mug"},
        "catalogReference": {"catalogItemId": "mug-1", "appId": STORES_APP_ID},
        "quantity": 1,
        "price": {"amount": "9.00"},
    }


# ---- when an order is exported -------------------------------------------------------------------------------------


def test_created_then_approved_exports_exactly_once(world: World) -> None:
    # Given an order created INITIALIZED (not yet paid/accepted) for a tenant exporting on approval
    created = _message("created")
    # When its Created event arrives
    first = world.run(created)
    # Then nothing is sent to the POS yet
    assert first == ExportResult("awaiting_approval", ORDER_ID)
    assert world.gateway.order_calls == []
    assert world.mappings.saved == {}
    # When its Approved event follows, and then both are redelivered
    second = world.run(_message("approved"))
    replays = [world.run(created), world.run(_message("approved"))]
    # Then the order was created in the POS exactly once, and later events answer with that POS order
    assert second == ExportResult("exported", ORDER_ID, "POS-1", 2, UNMAPPED)
    assert len(world.gateway.order_calls) == 1
    assert [r.outcome for r in replays] == ["already_exported", "already_exported"]
    assert {r.pos_order_id for r in replays} == {"POS-1"}


def test_created_already_approved_is_exported(world: World) -> None:
    # Given an order whose Created event already says APPROVED
    message = _message("created", status="APPROVED")
    # When it is processed
    result = world.run(message)
    # Then it is exported without waiting for the Approved event
    assert result.outcome == "exported"
    assert len(world.gateway.order_calls) == 1
    # And the Approved event that follows is a no-op
    assert world.run(_message("approved")).outcome == "already_exported"
    assert len(world.gateway.order_calls) == 1


@pytest.mark.parametrize("status", ["INITIALIZED", "PENDING"])
def test_a_tenant_exporting_on_created_exports_on_created(status: str) -> None:
    # Given a tenant configured to export as soon as an order is created
    world = _world(_tenant(export_on="created"))
    # When an order's Created event arrives before approval, then its Approved event
    created = world.run(_message("created", status=status))
    approved = world.run(_message("approved"))
    # Then the Created event exports it and the Approved event is a no-op
    assert created.outcome == "exported"
    assert approved == ExportResult("already_exported", ORDER_ID, created.pos_order_id, 2)
    assert len(world.gateway.order_calls) == 1


def test_the_same_event_twice_creates_one_pos_order(world: World) -> None:
    # Given an Approved event
    message = _message("approved")
    # When it is delivered twice
    results = [world.run(message), world.run(message)]
    # Then the POS was called once and both answers name the same POS order
    assert [r.outcome for r in results] == ["exported", "already_exported"]
    assert results[0].pos_order_id == results[1].pos_order_id == "POS-1"
    assert len(world.gateway.order_calls) == 1
    assert world.mappings.save_calls == 1


# ---- what is not exported ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["created", "approved"])
def test_an_order_without_restaurant_lines_is_skipped_and_recorded(
    world: World, kind: Literal["created", "approved"]
) -> None:
    # Given an approved order containing only a Wix Stores product
    message = _message(kind, status="APPROVED", lineItems=[_store_line()])
    # When it is processed
    result = world.run(message)
    # Then it is skipped as not_restaurant, the skip is recorded for that order, and the POS is never reached
    assert result == ExportResult("not_restaurant", ORDER_ID)
    assert world.mappings.skips.keys() == {(TENANT_ID, ORDER_ID)}
    assert world.mappings.skips[(TENANT_ID, ORDER_ID)]  # a reason an operator can read
    assert world.pos.tenants_seen == []
    assert world.gateway.customer_calls == []
    assert world.gateway.order_calls == []
    assert world.mappings.saved == {}


def test_only_restaurant_lines_reach_the_pos(world: World) -> None:
    # Given an approved order mixing a Stores product with the two restaurant lines
    message = _message("approved", lineItems=[_store_line(), *_sample_line_items()])
    # When it is exported
    result = world.run(message)
    # Then the POS order and the mapping hold the restaurant lines only
    [(order, _, _)] = world.gateway.order_calls
    assert [line.id for line in order.line_items] == list(LINE_IDS)
    assert result.lines == 2
    assert set(world.mappings.saved[(TENANT_ID, ORDER_ID)].lines) == set(LINE_IDS)


@dataclass
class FakeAwaiting:
    recorded: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def record(self, tenant_id: str, wix_order_id: str, since: str | None) -> None:
        self.recorded[(tenant_id, wix_order_id)] = since

    def waiting(self, tenant_id: str) -> dict[str, str]:
        raise AssertionError("not used by the export flow")

    def forget(self, tenant_id: str, wix_order_ids: list[str]) -> None:
        raise AssertionError("not used by the export flow")


def test_an_order_of_a_site_with_no_pos_connected_is_recorded_by_id_not_parked(world: World) -> None:
    # Given an approved order (with its buyer's details) of a site that installed the app but connected no POS
    message = _message("approved", tenant_id="installed-not-connected", updatedDate="2026-03-01T12:00:00.000Z")
    assert "buyerInfo" in json.dumps(message.payload)
    awaiting = FakeAwaiting()
    # When it is processed
    result = export_wix_order(
        message, world.tenants, world.mappings, world.pos, world.catalog, awaiting, wix_orders=wix_order_events
    )
    # Then it is not poison: its outcome (the worker's metric WixOrders_awaiting_pos_connection) says it waits, and
    # only its id and update time are kept, for the reconciliation once the POS is connected
    assert result == ExportResult("awaiting_pos_connection", message.entity_id)
    assert awaiting.recorded == {("installed-not-connected", message.entity_id): "2026-03-01T12:00:00.000Z"}
    assert world.pos.tenants_seen == [] and world.mappings.saved == {} and world.mappings.skips == {}


def test_an_unknown_tenant_is_a_permanent_error(world: World) -> None:
    # Given an event for an instance no tenant is registered for
    message = _message("approved", tenant_id="not-registered")
    # When it is processed
    with pytest.raises(PermanentError) as caught:
        world.run(message)
    # Then it is poison with reason unknown_tenant, and nothing was read or written
    assert caught.value.reason == "unknown_tenant"
    assert world.pos.tenants_seen == [] and world.gateway.order_calls == []
    assert world.mappings.saved == {} and world.mappings.skips == {}


def test_a_paused_tenant_is_a_permanent_error() -> None:
    # Given a tenant that has been paused
    world = _world(_tenant(status="paused"))
    # When one of its orders is approved
    with pytest.raises(PermanentError) as caught:
        world.run(_message("approved"))
    # Then it is poison with reason tenant_paused and nothing reaches the POS
    assert caught.value.reason == "tenant_paused"
    assert world.pos.tenants_seen == [] and world.gateway.order_calls == []
    assert world.mappings.saved == {}


def test_an_event_without_an_order_is_a_permanent_error(world: World) -> None:
    # Given an Approved event whose body carries no order
    message = _message("approved")
    payload = {k: v for k, v in message.payload.items() if k != "actionEvent"}
    broken = message.model_copy(update={"payload": payload})
    # When it is processed
    with pytest.raises(PermanentError) as caught:
        world.run(broken)
    # Then it is poison, not a crash
    assert caught.value.reason == "invalid_wix_event"


def test_an_event_type_the_flow_does_not_handle_is_a_permanent_error(world: World) -> None:
    # Given an order_updated event routed to the export flow by mistake
    message = _message("approved").model_copy(update={"event_type": "wix.ecom.v1.order_updated"})
    # When it is processed
    with pytest.raises(PermanentError) as caught:
        world.run(message)
    # Then it is refused as unhandled and the POS is not called
    assert caught.value.reason == "unhandled_event"
    assert world.gateway.order_calls == []


# ---- the idempotency key -------------------------------------------------------------------------------------------


def _key_for(message: WorkMessage, export_on: Literal["approved", "created"] = "approved") -> str:
    """The idempotency key create_order received when `message` was exported into a fresh world."""
    world = _world(_tenant(export_on=export_on), _tenant("another-tenant", export_on=export_on))
    assert world.run(message).outcome == "exported"
    [key] = world.gateway.order_keys
    return key


def test_the_create_order_key_is_the_same_for_created_and_approved() -> None:
    # Given one order's Created (INITIALIZED, exported by an export-on-created tenant) and Approved payloads
    # When each is exported
    from_created = _key_for(_message("created"), export_on="created")
    from_approved = _key_for(_message("approved"))
    # Then the POS receives the same idempotency key: a race between the two cannot create two orders
    assert from_created == from_approved
    assert len(from_approved) == 64


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(lambda: _message("approved", id="6b3d8f5f-0000-4000-8000-000000000002"), id="another order"),
        pytest.param(lambda: _message("approved", tenant_id="another-tenant"), id="another tenant"),
    ],
)
def test_the_create_order_key_differs_for_another_order_or_tenant(other: Any) -> None:
    # Given the sample order's key
    sample = _key_for(_message("approved"))
    # When a different order, or the same order id for another tenant, is exported
    # Then its key differs (the POS must not answer it with the sample's order)
    assert _key_for(other()) != sample


def _edited_buyer() -> dict[str, Any]:
    buyer = dict(_order_of(_sample_event("order_approved.json"))["buyerInfo"])
    return {**buyer, "email": "ada.new@example.com"}


@pytest.mark.parametrize(
    "edited",
    [
        pytest.param(lambda: _message("approved", buyerNote="No cheese"), id="another note"),
        pytest.param(lambda: _message("approved", buyerInfo=_edited_buyer()), id="another buyer e-mail"),
        pytest.param(lambda: _message("approved", lineItems=_sample_line_items()[:1]), id="fewer lines"),
        pytest.param(
            lambda: _message(
                "approved", lineItems=[{**_sample_line_items()[0], "quantity": 3}, _sample_line_items()[1]]
            ),
            id="another quantity",
        ),
    ],
)
def test_the_create_order_key_is_the_orders_identity_not_its_content(edited: Any) -> None:
    # Given the sample order's key
    sample = _key_for(_message("approved"))
    # When the same order, edited since (as a reconciliation re-queues it), is exported
    # Then it carries the same key: the POS can never take it for another order
    assert _key_for(edited()) == sample


def test_the_key_is_stable_across_event_ids(world: World) -> None:
    # Given the same approved order delivered under two different event ids (Wix retry with a new id)
    first = _key_for(_message("approved", event_id="evt-1"))
    second = _key_for(_message("approved", event_id="evt-2"))
    # When both are exported into fresh worlds
    # Then the key depends on the order, not the delivery
    assert first == second


# ---- customers and the mapping -------------------------------------------------------------------------------------


def test_a_buyer_without_email_or_phone_gets_no_pos_customer(world: World) -> None:
    # Given an approved order from an anonymous buyer (no e-mail, no phone)
    message = _message("approved", buyerInfo={"visitorId": "v-1"}, billingInfo={"contactDetails": {"firstName": "A"}})
    # When it is exported
    result = world.run(message)
    # Then the POS customer lookup is not even attempted, and the order carries no customer
    assert result.outcome == "exported"
    assert world.gateway.customer_calls == []
    [(_, customer_id, _)] = world.gateway.order_calls
    assert customer_id is None
    mapping = world.mappings.saved[(TENANT_ID, ORDER_ID)]
    assert (mapping.wix_contact_id, mapping.pos_customer_id) == (None, None)


def test_a_buyer_with_only_a_phone_becomes_a_customer_without_personal_data_in_keys(world: World) -> None:
    # Given a buyer who left a phone number but no e-mail, and no Wix contact id
    message = _message("approved", buyerInfo={"visitorId": "v-1"})
    # When the order is exported
    world.run(message)
    # Then the customer is looked up with the buyer, and the order carries it; no contact mapping without a contact id
    [(buyer, _)] = world.gateway.customer_calls
    assert (buyer.email, buyer.phone) == (None, "+15555550100")
    mapping = world.mappings.saved[(TENANT_ID, ORDER_ID)]
    assert (mapping.wix_contact_id, mapping.pos_customer_id) == (None, "CUST-1")


def test_the_mapping_is_saved_with_lines_and_customer(world: World) -> None:
    # Given the approved sample order (buyer with e-mail and phone, two restaurant lines)
    # When it is exported
    result = world.run(_message("approved"))
    # Then the customer was resolved first and its id passed to the POS order
    [(buyer, customer_key)] = world.gateway.customer_calls
    assert buyer.email == "ada@example.com"
    [(order, customer_id, _)] = world.gateway.order_calls
    assert customer_id == "CUST-1"
    assert order.id == ORDER_ID and order.buyer_note == "Extra napkins, please"
    assert len(customer_key) == 64
    # And the mapping holds the POS order, version, every line and the customer, under the tenant
    assert world.mappings.saved == {
        (TENANT_ID, ORDER_ID): OrderMapping(
            wix_order_id=ORDER_ID,
            pos_order_id="POS-1",
            pos_version=1,
            lines={LINE_IDS[0]: "uid-a001", LINE_IDS[1]: "uid-a002"},
            wix_contact_id="c0ffee00-0000-4000-8000-000000000002",
            pos_customer_id="CUST-1",
            line_sources=UNMAPPED,
            pos_payment_id="PAY-1",
        )
    }
    assert result == ExportResult("exported", ORDER_ID, "POS-1", 2, UNMAPPED)
    assert world.pos.tenants_seen == [TENANT_ID]


def test_tenants_do_not_see_each_others_mappings() -> None:
    # Given two tenants, and the same Wix order id exported for tenant A
    world = _world(_tenant(), _tenant("tenant-b", location_id="L2"))
    world.run(_message("approved"))
    # When the same order id is approved for tenant B
    result = world.run(_message("approved", tenant_id="tenant-b"))
    # Then B exports its own order (A's mapping is not B's), under a different key
    assert result.outcome == "exported"
    assert world.pos.tenants_seen == [TENANT_ID, "tenant-b"]
    first_key, second_key = world.gateway.order_keys
    assert first_key != second_key
    assert set(world.mappings.saved) == {(TENANT_ID, ORDER_ID), ("tenant-b", ORDER_ID)}


def test_a_crash_after_the_pos_write_retries_into_the_same_order(world: World) -> None:
    # Given the mapping write fails once, after the POS order was created
    world.mappings.crashes = 1
    message = _message("approved")
    with pytest.raises(TransientError):
        world.run(message)
    # When the message is redelivered
    result = world.run(message)
    # Then the POS was called twice with the same key and returned the same order, which is now mapped
    first_key, second_key = world.gateway.order_keys
    assert first_key == second_key
    assert result.pos_order_id == "POS-1"
    assert world.mappings.saved[(TENANT_ID, ORDER_ID)].pos_order_id == "POS-1"


def test_an_edited_redelivery_after_a_lost_mapping_write_makes_no_second_pos_order(world: World) -> None:
    # Given the order was created on the POS and the mapping write was lost (the function died in between)
    world.mappings.crashes = 1
    with pytest.raises(TransientError):
        world.run(_message("approved"))
    # When the order, edited since (another note), is delivered again (a reconciliation re-queues it as it is now)
    edited = _message("approved", event_id="reconcile:edited", buyerNote="Ring twice")
    with pytest.raises(PermanentError) as caught:
        world.run(edited)
    # Then the POS refused the changed body under the same key: one POS order, and a poison message with its reason
    assert caught.value.reason == "square_idempotency_key_reused"
    assert isinstance(caught.value, IdempotencyKeyReused)
    assert [order.id for order in world.gateway.created] == ["POS-1"]
    first_key, second_key = world.gateway.order_keys
    assert first_key == second_key


def test_the_same_contact_ordering_twice_uses_one_customer_key() -> None:
    # Given two orders by the same Wix contact, and one by an anonymous visitor (no contact id)
    world = _world()
    world.run(_message("approved"))
    world.run(_message("approved", id="6b3d8f5f-0000-4000-8000-000000000002"))
    anonymous = world.run(_message("approved", id="6b3d8f5f-0000-4000-8000-000000000003", buyerInfo={"visitorId": "v"}))
    # Then both of the contact's orders carry the contact's key: while Square's search cannot see the first profile,
    # the second create replays it instead of making a second profile
    contact_key, again, visitor_key = [key for _, key in world.gateway.customer_calls]
    assert contact_key == again != visitor_key
    assert [order.customer_id for order in world.gateway.created] == ["CUST-1", "CUST-1", "CUST-2"]
    assert anonymous.outcome == "exported"


def test_a_contact_whose_details_changed_is_exported_without_a_customer_link() -> None:
    # Given a contact whose profile was created with other details by an earlier order, not yet searchable
    world = _world()
    world.run(_message("approved"))
    # When the same contact orders again with a new e-mail address
    second = world.run(_message("approved", id="6b3d8f5f-0000-4000-8000-000000000002", buyerInfo=_edited_buyer()))
    # Then Square refused the reused key, and the order still reached the POS, linked to no customer
    assert second.outcome == "exported"
    assert [order.customer_id for order in world.gateway.created] == ["CUST-1", None]
    mapping = world.mappings.saved[(TENANT_ID, "6b3d8f5f-0000-4000-8000-000000000002")]
    assert (mapping.wix_contact_id, mapping.pos_customer_id) == (None, None)


# ---- canceled before it was exported -------------------------------------------------------------------------------


@pytest.mark.parametrize("export_on", ["approved", "created"])
def test_an_order_canceled_on_wix_is_never_exported(export_on: Literal["approved", "created"]) -> None:
    # Given an order a reconciliation finds already CANCELED on Wix, never exported
    world = _world(_tenant(export_on=export_on))
    # When it is processed
    result = world.run(_message("created", status="CANCELED"))
    # Then nothing reaches the POS, and the cancel is recorded as the order's skip
    assert result == ExportResult("canceled_before_export", ORDER_ID)
    assert world.pos.tenants_seen == [] and world.gateway.order_calls == []
    assert world.mappings.skips[(TENANT_ID, ORDER_ID)] == CANCELED_BEFORE_EXPORT


def test_a_late_approval_of_an_order_canceled_before_export_is_not_exported(world: World) -> None:
    # Given the cancel flow recorded the order as canceled before it was exported (its cancel overtook the approval)
    world.mappings.record_skip(TENANT_ID, ORDER_ID, CANCELED_BEFORE_EXPORT)
    # When the approval arrives, still saying APPROVED
    result = world.run(_message("approved"))
    # Then it is not exported
    assert result.outcome == "canceled_before_export"
    assert world.gateway.order_calls == []


# ---- lines from the POS catalog (issue 12, point 3) ----------------------------------------------------------------

PIZZA_ITEM, TIRAMISU_ITEM = "11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002"
LARGE = WixSoldAs(PIZZA_ITEM, "v-large")


def _pizza_in_large() -> WorkMessage:
    """The sample order with its pizza ordered in the Large variant (and its Basil modifier, Wix id m-1)."""
    lines = _sample_line_items()
    lines[0]["catalogReference"]["options"]["priceVariant"] = {"id": "v-large", "formattedPrice": "$11.50"}
    return _message("approved", lineItems=lines)


def test_a_mapped_line_goes_as_its_pos_variation_and_modifier_after_one_catalog_read(world: World) -> None:
    # Given a catalog mapping holding the large pizza, its Basil modifier and the tiramisu (one size: no variant)
    world.catalog.sold_as.update({LARGE: "VAR-PIZZA-L", WixSoldAs(TIRAMISU_ITEM): "VAR-TIRAMISU"})
    world.catalog.modifiers["m-1"] = "MOD-BASIL"
    # When the order is exported
    result = world.run(_pizza_in_large())
    # Then the mapping was read once for the whole order
    assert world.catalog.id_reads == [({LARGE, WixSoldAs(TIRAMISU_ITEM)}, {"m-1"})]
    # And both lines go to the POS as catalog lines, the Basil by its POS id
    [catalog] = world.gateway.catalog_calls
    assert catalog == {
        LINE_IDS[0]: CatalogLine(variation_id="VAR-PIZZA-L", modifier_ids=("MOD-BASIL",)),
        LINE_IDS[1]: CatalogLine(variation_id="VAR-TIRAMISU", modifier_ids=()),
    }
    # And the result and the mapping say so, per line
    sources = {LINE_IDS[0]: "catalog:mapped", LINE_IDS[1]: "catalog:mapped"}
    assert result.line_sources == sources
    assert world.mappings.saved[(TENANT_ID, ORDER_ID)].line_sources == sources


def test_a_line_whose_size_is_not_mapped_goes_ad_hoc(world: World) -> None:
    # Given a mapping that holds the pizza in Small only, and the tiramisu
    world.catalog.sold_as.update({WixSoldAs(PIZZA_ITEM, "v-small"): "VAR-PIZZA-S", WixSoldAs(TIRAMISU_ITEM): "VAR-T"})
    # When the pizza is ordered Large
    result = world.run(_pizza_in_large())
    # Then the pizza goes ad hoc (name and price, as before) and the tiramisu from the catalog
    [catalog] = world.gateway.catalog_calls
    assert set(catalog) == {LINE_IDS[1]}
    assert result.line_sources == {LINE_IDS[0]: "ad_hoc:not_mapped", LINE_IDS[1]: "catalog:mapped"}


def test_a_multi_size_item_without_the_chosen_size_goes_ad_hoc() -> None:
    # Given a pizza mapped only by size (it has several), and an order line that does not say which size
    world = _world()
    world.catalog.sold_as[LARGE] = "VAR-PIZZA-L"
    # When the order is exported
    result = world.run(_message("approved"))
    # Then the pizza is not guessed into a size: it goes ad hoc
    assert world.gateway.catalog_calls == [{}]
    assert result.line_sources[LINE_IDS[0]] == "ad_hoc:not_mapped"


def test_an_unmapped_modifier_goes_ad_hoc_on_a_catalog_line(world: World) -> None:
    # Given the large pizza mapped, but not its Basil modifier (added on Wix only)
    world.catalog.sold_as[LARGE] = "VAR-PIZZA-L"
    # When the order is exported
    result = world.run(_pizza_in_large())
    # Then the pizza keeps its catalog identity and only the Basil goes ad hoc
    [catalog] = world.gateway.catalog_calls
    assert catalog[LINE_IDS[0]] == CatalogLine(variation_id="VAR-PIZZA-L", modifier_ids=(None,))
    assert result.line_sources[LINE_IDS[0]] == "catalog:mapped_ad_hoc_modifiers"


def test_a_mapping_to_a_deleted_variation_sends_the_order_again_ad_hoc(world: World) -> None:
    # Given a mapping naming a POS variation the seller has deleted since
    world.catalog.sold_as[LARGE] = "VAR-DELETED"
    world.gateway.stale_variations.add("VAR-DELETED")
    # When the order is exported
    result = world.run(_pizza_in_large())
    # Then the POS refused the catalog order, and the same order went again with every line ad hoc, under its own key
    first_key, second_key = world.gateway.order_keys
    assert world.gateway.catalog_calls == [
        {LINE_IDS[0]: CatalogLine(variation_id="VAR-DELETED", modifier_ids=(None,))},
        {},
    ]
    assert first_key != second_key
    # And the kitchen has the order, its lines reported ad hoc because the mapping was stale
    assert result.outcome == "exported" and result.pos_order_id == "POS-1"
    assert result.line_sources == {line_id: "ad_hoc:stale_mapping" for line_id in LINE_IDS}
    assert world.mappings.saved[(TENANT_ID, ORDER_ID)].line_sources == result.line_sources


def test_another_pos_refusal_is_not_retried_ad_hoc(world: World) -> None:
    # Given a POS that refuses the order for another reason
    world.catalog.sold_as[LARGE] = "VAR-PIZZA-L"

    def refuse(*_args: Any, **_kwargs: Any) -> PosOrder:
        raise PermanentError("square_invalid_value", "something else")

    world.gateway.create_order = refuse  # type: ignore[method-assign]
    # When the order is exported, Then the refusal is poison as before (no second order attempt)
    with pytest.raises(PermanentError) as caught:
        world.run(_pizza_in_large())
    assert caught.value.reason == "square_invalid_value"
    assert world.mappings.saved == {}


# ---- crash-retry against the real Square sandbox -------------------------------------------------------------------


@dataclass
class SquareMerchant:
    url: str
    merchant_id: str
    location_id: str
    token: str
    control: httpx.Client

    def state(self) -> dict[str, Any]:
        return dict(self.control.get(f"/_sandbox/merchants/{self.merchant_id}/state").json())


@dataclass
class SquareFactory:
    """PosFactory over HTTP to the sandbox: a real SquarePos whose client never sleeps."""

    merchant: SquareMerchant
    clients: list[SquareClient] = field(default_factory=list)

    def for_tenant(self, tenant: Tenant) -> PosGateway:
        client = SquareClient(self.merchant.url, self.merchant.token, sleep=lambda _seconds: None)
        self.clients.append(client)
        return SquarePos(client, tenant.pos.location_id)


@pytest.fixture(scope="module")
def square() -> Iterator[tuple[SquareSandbox, str]]:
    sandbox = SquareSandbox()
    with BackgroundServer(sandbox.wsgi_app) as server:
        yield sandbox, server.url


@pytest.fixture
def merchant(square: tuple[SquareSandbox, str]) -> Iterator[SquareMerchant]:
    sandbox, url = square
    suffix = uuid.uuid4().hex[:8].upper()
    with httpx.Client(base_url=url, timeout=5) as control:
        m = SquareMerchant(url, f"M{suffix}", f"L{suffix}", f"EAAA-{suffix}-secret", control)
        sandbox.add_merchant(m.merchant_id, m.location_id, m.token, f"key-{suffix}", None)
        yield m


def test_a_crash_between_pos_and_mapping_writes_leaves_one_square_order(merchant: SquareMerchant) -> None:
    # Given a tenant on the Square sandbox, and a mapping store that crashes once after the POS write
    tenants = FakeTenants({TENANT_ID: _tenant(location_id=merchant.location_id)})
    mappings = FakeMappings(crashes=1)
    factory = SquareFactory(merchant)
    message = _message("approved")
    # When the approved order is processed, crashes, and is processed again (the queue redelivers it)
    with pytest.raises(TransientError):
        export_wix_order(message, tenants, mappings, factory, wix_orders=wix_order_events)
    result = export_wix_order(message, tenants, mappings, factory, wix_orders=wix_order_events)
    for client in factory.clients:
        client.close()
    # Then Square holds exactly one order for the Wix order, and it is the one now mapped
    state = merchant.state()
    orders = [o for o in state["orders"] if o.get("reference_id") == ORDER_ID]
    assert len(orders) == 1
    assert result == ExportResult("exported", ORDER_ID, orders[0]["id"], 2, NOT_CATALOG)
    mapping = mappings.saved[(TENANT_ID, ORDER_ID)]
    assert mapping.pos_order_id == orders[0]["id"]
    assert set(mapping.lines) == set(LINE_IDS)
    # And one customer, the one the order and the mapping name
    [customer] = state["customers"]
    assert orders[0]["customer_id"] == customer["id"] == mapping.pos_customer_id
    assert state["calls"]["POST /v2/orders"] == 2


def test_an_edited_redelivery_after_a_lost_mapping_write_is_refused_by_square(merchant: SquareMerchant) -> None:
    # Given a tenant on the Square sandbox whose mapping write was lost after the POS created the order
    tenants = FakeTenants({TENANT_ID: _tenant(location_id=merchant.location_id)})
    mappings = FakeMappings(crashes=1)
    factory = SquareFactory(merchant)
    with pytest.raises(TransientError):
        export_wix_order(_message("approved"), tenants, mappings, factory, wix_orders=wix_order_events)
    # When the order, its note edited since, is delivered again
    edited = _message("approved", event_id="reconcile:edited", buyerNote="Ring twice")
    with pytest.raises(PermanentError) as caught:
        export_wix_order(edited, tenants, mappings, factory, wix_orders=wix_order_events)
    for client in factory.clients:
        client.close()
    # Then Square answered IDEMPOTENCY_KEY_REUSED (a reason to park, never retried) and holds one order for it
    assert caught.value.reason == "square_idempotency_key_reused"
    assert caught.value.details["status"] == 400
    state = merchant.state()
    assert len([o for o in state["orders"] if o.get("reference_id") == ORDER_ID]) == 1
    assert state["calls"]["POST /v2/orders"] == 2


# ---- paid on the POS (issue 12 point 1) ----------------------------------------------------------------------------


def _unpaid_tenant(export_unpaid: bool) -> Tenant:
    return _tenant().model_copy(update={"settings": TenantSettings(export_unpaid=export_unpaid)})


def test_a_paid_order_is_settled_on_the_pos_with_wixs_tip_under_keys_from_identity(world: World) -> None:
    # Given an approved order paid on Wix, with a 4.00 tip (a Wix Tips fee: its code is the tip's GUID)
    tip = {"code": str(uuid.uuid4()), "name": "Tip", "price": {"amount": "4.00"}}
    message = _message("approved")
    order = _order_of(message.payload)
    order["additionalFees"] = [tip]
    summary = order["priceSummary"]
    summary["totalAdditionalFees"] = {"amount": "4.00"}
    summary["total"] = {"amount": str(Decimal(summary["total"]["amount"]) + 4)}
    # When it is exported
    result = world.run(message)
    # Then the created POS order was paid once: Wix collected it (no amount to collect), the tip on the payment
    [(paid_order, payment)] = world.gateway.payment_calls
    assert paid_order.id == result.pos_order_id == "POS-1"
    assert payment == OrderPayment(wix_order_id=ORDER_ID, tip=Money(amount=Decimal("4.00"), currency="USD"))
    assert world.gateway.paid == {"POS-1": ["PAY-1"]}
    # And the keys are the identity's (tenant, step, order), never the content's
    assert set(world.gateway.payments) == {idempotency_key(TENANT_ID, "create_payment", ORDER_ID)}
    assert set(world.gateway.pays) == {idempotency_key(TENANT_ID, "pay_order", ORDER_ID)}
    # And the mapping records the payment
    mapping = world.mappings.saved[(TENANT_ID, ORDER_ID)]
    assert (mapping.pos_payment_id, mapping.to_collect_minor) == ("PAY-1", None)


@pytest.mark.parametrize("status", ["NOT_PAID", "PENDING", "PARTIALLY_PAID"])
def test_an_unpaid_order_is_exported_marked_with_the_amount_to_collect(status: str) -> None:
    # Given a tenant exporting unpaid orders (the default) and an order the buyer pays at pickup
    world = _world(_unpaid_tenant(True))
    message = _message("approved", paymentStatus=status)
    # When it is exported
    result = world.run(message)
    # Then it reaches the POS, settled so that the kitchen sees it, with the whole total to collect (Wix sent no
    # balance) on the payment, and the mapping says what the staff collect
    assert result.outcome == "exported"
    [(_, payment)] = world.gateway.payment_calls
    assert payment.to_collect == Money(amount=Decimal("33.75"), currency="USD")
    assert world.mappings.saved[(TENANT_ID, ORDER_ID)].to_collect_minor == 3375


def test_an_unpaid_order_is_skipped_with_its_reason_when_the_tenant_exports_paid_orders_only() -> None:
    # Given a tenant with exportUnpaid false and a cash-on-delivery order
    world = _world(_unpaid_tenant(False))
    # When it is exported
    result = world.run(_message("approved", paymentStatus="NOT_PAID"))
    # Then nothing reached the POS and the skip says why
    assert result.outcome == "unpaid_not_exported"
    assert world.gateway.order_calls == [] and world.gateway.payment_calls == []
    assert world.mappings.skips[(TENANT_ID, ORDER_ID)] == (
        "not paid on Wix and the tenant exports paid orders only (exportUnpaid false) (paymentStatus NOT_PAID)"
    )
    # And the same order paid later is exported (the skip does not block it)
    assert world.run(_message("approved")).outcome == "exported"


def test_a_crash_between_the_payment_and_payorder_completes_the_payorder_on_redelivery(world: World) -> None:
    # Given the function dies after CreatePayment, before PayOrder
    world.gateway.crash_before_pay = 1
    message = _message("approved")
    with pytest.raises(TransientError):
        world.run(message)
    assert world.gateway.paid == {} and world.mappings.saved == {}
    # When the message is redelivered
    result = world.run(message)
    # Then the same order and the same payment were replayed (one of each) and the payment was applied
    assert len(world.gateway.orders) == 1 and len(world.gateway.payments) == 1
    assert world.gateway.paid == {"POS-1": ["PAY-1"]}
    assert result.outcome == "exported"
    assert world.mappings.saved[(TENANT_ID, ORDER_ID)].pos_payment_id == "PAY-1"


def test_a_redelivery_after_the_order_was_paid_pays_nothing_again(world: World) -> None:
    # Given an order paid on the POS whose mapping write was lost, then the same order paid and mapped
    world.mappings.crashes = 1
    message = _message("approved")
    with pytest.raises(TransientError):
        world.run(message)
    assert world.gateway.paid == {"POS-1": ["PAY-1"]}
    # When it is redelivered (PayOrder replays under its key: no second payment, no "already paid" refusal),
    # and redelivered again once mapped
    assert world.run(message).outcome == "exported"
    assert world.run(message).outcome == "already_exported"
    # Then one payment was made and applied once; the mapped redelivery did not call the POS at all
    assert len(world.gateway.payments) == 1 and world.gateway.paid == {"POS-1": ["PAY-1"]}
    assert len(world.gateway.payment_calls) == 2
