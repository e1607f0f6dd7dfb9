"""A Wix order canceled on Wix -> canceled on the POS once (cancel_wix_order) over in-memory fakes; then the Square
adapter's UpdateOrder against the Square sandbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import httpx
import pytest

from devstack.httpserver import BackgroundServer
from devstack.square_sandbox import SquareSandbox
from posbridge.domain.events import ORDER_APPROVED, ORDER_CANCELED
from posbridge.domain.money import Money
from posbridge.domain.order_mapping import OrderMapping
from posbridge.domain.pos_order import PosFulfillment, PosOrderSnapshot, PosOrderState, PosPosition
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError, TransientError
from posbridge.flows.cancel_order import CancelResult, cancel_wix_order
from posbridge.flows.export_order import CANCELED_BEFORE_EXPORT, export_wix_order
from posbridge.idempotency import idempotency_key
from posbridge.ports.pos import PosGateway
from posbridge.pos.square import SquareClient, SquarePos
from posbridge.wix import orders as wix_order_events
from tests.unit.pos_fakes import FakeTenants

EVENTS = Path(__file__).resolve().parents[2] / "events" / "wix_webhook"
TENANT_ID = "tenant-1"
WIX_ID = "5a2c7e4e-8f3b-4d1e-9a63-1c2b3d4e5f60"  # the sample events' order
POS_ID = "POS-ORDER-1"
USD0 = Money(amount=Decimal(0), currency="USD")


# ---- fakes ---------------------------------------------------------------------------------------------------------


def _snapshot(state: PosOrderState = "OPEN", version: int = 3, fulfillment: str = "PROPOSED") -> PosOrderSnapshot:
    return PosOrderSnapshot(
        id=POS_ID,
        location_id="L1",
        state=state,
        position=PosPosition(version=version, updated_at=datetime(2026, 1, 1, tzinfo=UTC)),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        currency="USD",
        lines=(),
        fulfillments=(PosFulfillment(uid="F1", type="PICKUP", state=fulfillment),),  # type: ignore[arg-type]
        reference_id=WIX_ID,
        made_by_bridge=True,
        discount=USD0,
        tax=USD0,
        fees=USD0,
        total=USD0,
    )


@dataclass
class FakePos:
    """One POS order; cancel_order behaves as Square's UpdateOrder: a stale version is a conflict, a key seen before
    replays, a final order cannot change."""

    current: PosOrderSnapshot = field(default_factory=_snapshot)
    cancels: list[tuple[int | None, str]] = field(default_factory=list)
    reads: int = 0
    kitchen_moves_first: int = 0  # times the kitchen changes the order between our read and our update
    tenants_seen: list[str] = field(default_factory=list)
    _keys: set[str] = field(default_factory=set)

    def for_tenant(self, tenant: Tenant) -> PosGateway:
        self.tenants_seen.append(tenant.instance_id)
        return self  # type: ignore[return-value]

    def order_snapshot(self, order_id: str) -> PosOrderSnapshot:
        assert order_id == POS_ID
        self.reads += 1
        return self.current

    def cancel_order(self, order: PosOrderSnapshot, key: str) -> None:
        self.cancels.append((order.position.version, key))
        if key in self._keys:
            return
        if self.kitchen_moves_first:
            self.kitchen_moves_first -= 1
            self._bump(self.current.state, "PREPARED")
        if order.position.version != self.current.position.version:
            raise TransientError("version conflict")
        assert self.current.state not in ("CANCELED", "COMPLETED"), "a final order cannot be updated"
        self._keys.add(key)
        self._bump("CANCELED", "CANCELED")

    def _bump(self, state: PosOrderState, fulfillment: str) -> None:
        version = (self.current.position.version or 0) + 1
        self.current = _snapshot(state, version, fulfillment)


@dataclass
class FakeMappings:
    """The export and cancel flows' view of the order mappings and skips."""

    saved: dict[str, OrderMapping] = field(default_factory=dict)
    skips: dict[str, str] = field(default_factory=dict)

    def by_wix_order(self, tenant_id: str, wix_order_id: str) -> OrderMapping | None:
        return self.saved.get(wix_order_id)

    def save(self, tenant_id: str, mapping: OrderMapping) -> None:
        self.saved.setdefault(mapping.wix_order_id, mapping)

    def record_skip(self, tenant_id: str, wix_order_id: str, reason: str) -> None:
        self.skips[wix_order_id] = reason

    def skip_reason(self, tenant_id: str, wix_order_id: str) -> str | None:
        return self.skips.get(wix_order_id)


def _tenant(status: Literal["active", "paused"] = "active") -> Tenant:
    return Tenant(
        instance_id=TENANT_ID,
        status=status,
        pos=PosConnection(provider="square", merchant_id="M1", location_id="L1"),
        settings=TenantSettings(),
        created_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:00+00:00",
    )


def _exported(origin: Literal["wix", "pos"] = "wix") -> FakeMappings:
    return FakeMappings(saved={WIX_ID: OrderMapping(wix_order_id=WIX_ID, pos_order_id=POS_ID, lines={}, origin=origin)})


def _canceled(event_id: str = "evt-cancel-1") -> WorkMessage:
    """The sample wix.ecom.v1.order_canceled (events/wix_webhook, checked against the SDK's OrderCanceledEnvelope) as
    ingest queues it, under `event_id`."""
    event = json.loads((EVENTS / "order_canceled.json").read_text())["event"]
    assert event["actionEvent"]["body"]["order"]["id"] == WIX_ID
    return WorkMessage(
        source="wix",
        event_type=ORDER_CANCELED,
        event_id=event_id,
        tenant_id=TENANT_ID,
        entity_id=event["entityId"],
        payload={**event, "id": event_id},
    )


def _run(message: WorkMessage, mappings: FakeMappings, pos: FakePos, tenant: Tenant | None = None) -> CancelResult:
    return cancel_wix_order(message, FakeTenants({TENANT_ID: tenant or _tenant()}), mappings, pos)


# ---- the rule ------------------------------------------------------------------------------------------------------


def test_an_exported_order_canceled_on_wix_is_canceled_on_the_pos_once() -> None:
    # Given an exported order, open on the POS at version 3 with a pickup the kitchen has not started
    mappings, pos = _exported(), FakePos()
    # When Wix's order_canceled arrives, then again under another event id (the FIFO dedup cannot drop that one)
    first = _run(_canceled(), mappings, pos)
    again = _run(_canceled("evt-cancel-2"), mappings, pos)
    # Then the POS order was canceled once, at version 3, under a key from (tenant, step + version, Wix order id)
    assert first == CancelResult("canceled", WIX_ID, POS_ID)
    assert again == CancelResult("already_canceled", WIX_ID, POS_ID)
    assert pos.cancels == [(3, idempotency_key(TENANT_ID, "cancel_order@v3", WIX_ID))]
    assert pos.current.state == "CANCELED" and pos.current.fulfillments[0].state == "CANCELED"


def test_a_cancel_racing_the_kitchen_is_retried_at_the_new_version() -> None:
    # Given the kitchen changes the order between the bridge's read and its update
    mappings, pos = _exported(), FakePos(kitchen_moves_first=1)
    # When the cancel is processed, fails on the stale version, and the queue redelivers it
    with pytest.raises(TransientError):
        _run(_canceled(), mappings, pos)
    result = _run(_canceled(), mappings, pos)
    # Then the second attempt read version 4 and canceled it under that version's own key
    assert result.outcome == "canceled"
    assert [version for version, _ in pos.cancels] == [3, 4]
    assert pos.cancels[1][1] == idempotency_key(TENANT_ID, "cancel_order@v4", WIX_ID) != pos.cancels[0][1]
    assert pos.current.state == "CANCELED"


@pytest.mark.parametrize(("state", "outcome"), [("CANCELED", "already_canceled"), ("COMPLETED", "completed_on_pos")])
def test_a_pos_order_already_final_is_left_as_it_is(state: PosOrderState, outcome: str) -> None:
    # Given the POS order was already canceled by the kitchen, or completed (the food went out)
    mappings, pos = _exported(), FakePos(current=_snapshot(state, 7, "COMPLETED"))
    # When Wix's cancel arrives
    result = _run(_canceled(), mappings, pos)
    # Then nothing is written to the POS, and the outcome says why
    assert result == CancelResult(outcome, WIX_ID, POS_ID)  # type: ignore[arg-type]
    assert pos.cancels == [] and pos.reads == 1


def test_an_order_never_exported_is_recorded_as_nothing_to_do() -> None:
    # Given an order the bridge never exported (no mapping)
    mappings, pos = FakeMappings(), FakePos()
    # When Wix's cancel arrives
    result = _run(_canceled(), mappings, pos)
    # Then the POS is not even looked at, and the cancel is recorded as the order's skip
    assert result == CancelResult("not_exported", WIX_ID)
    assert pos.tenants_seen == [] and pos.reads == 0
    assert mappings.skips == {WIX_ID: CANCELED_BEFORE_EXPORT}


def test_a_cancel_that_overtakes_the_approval_keeps_the_order_off_the_pos() -> None:
    # Given the cancel is processed before the order's approval (reordered delivery)
    mappings, pos = FakeMappings(), FakePos()
    _run(_canceled(), mappings, pos)
    # When the approval arrives late, its order still saying APPROVED
    event = json.loads((EVENTS / "order_approved.json").read_text())["event"]
    assert event["actionEvent"]["body"]["order"]["status"] == "APPROVED"
    approved = WorkMessage(
        source="wix",
        event_type=ORDER_APPROVED,
        event_id=event["id"],
        tenant_id=TENANT_ID,
        entity_id=WIX_ID,
        payload=event,
    )
    tenants = FakeTenants({TENANT_ID: _tenant()})
    result = export_wix_order(approved, tenants, mappings, pos, wix_orders=wix_order_events)  # type: ignore[arg-type]
    # Then it is not exported: the POS is never reached
    assert result.outcome == "canceled_before_export"
    assert pos.tenants_seen == [] and mappings.saved == {}


def test_an_order_placed_on_the_pos_is_not_canceled_from_wix() -> None:
    # Given a Wix order the bridge imported from a POS order (Flow 2: origin pos)
    mappings, pos = _exported(origin="pos"), FakePos()
    # When Wix reports it canceled (e.g. because the bridge itself canceled it after the POS did)
    result = _run(_canceled(), mappings, pos)
    # Then the POS, where the order lives, is not written to
    assert result == CancelResult("placed_on_pos", WIX_ID, POS_ID)
    assert pos.tenants_seen == [] and pos.cancels == []


def test_bad_cancel_events_are_poison_with_a_reason() -> None:
    mappings, pos = _exported(), FakePos()
    # Given an event without an order id, one for another entity, and one for an unknown or paused tenant
    no_order = _canceled().model_copy(update={"payload": {"actionEvent": {"body": {}}}})
    other_entity = _canceled().model_copy(update={"entity_id": "another-order"})
    unknown = _canceled().model_copy(update={"tenant_id": "stranger"})
    # When each is processed, Then each is a PermanentError naming why, and the POS is untouched
    for message, reason in ((no_order, "invalid_wix_event"), (other_entity, "invalid_wix_event")):
        with pytest.raises(PermanentError) as caught:
            _run(message, mappings, pos)
        assert caught.value.reason == reason
    with pytest.raises(PermanentError) as caught:
        _run(unknown, mappings, pos)
    assert caught.value.reason == "unknown_tenant"
    with pytest.raises(PermanentError) as caught:
        _run(_canceled(), mappings, pos, _tenant("paused"))
    assert caught.value.reason == "tenant_paused"
    assert pos.cancels == [] and pos.reads == 0


# ---- the Square adapter against the Square sandbox -----------------------------------------------------------------


@dataclass
class Seller:
    pos: SquarePos
    client: SquareClient
    location_id: str


@pytest.fixture(scope="module")
def square_url() -> Iterator[str]:
    with BackgroundServer(SquareSandbox().wsgi_app) as server:
        yield server.url


@pytest.fixture
def seller(square_url: str) -> Iterator[Seller]:
    suffix = uuid.uuid4().hex[:8].upper()
    token = f"EAAA-{suffix}-secret"
    httpx.post(
        f"{square_url}/_sandbox/merchants",
        json={"merchantId": f"M{suffix}", "locationId": f"L{suffix}", "accessToken": token, "signatureKey": "k"},
    ).raise_for_status()
    with SquareClient(square_url, token, sleep=lambda _s: None) as client:
        yield Seller(SquarePos(client, f"L{suffix}"), client, f"L{suffix}")


def _square_order(seller: Seller) -> str:
    pickup = {"recipient": {"display_name": "Ada"}, "schedule_type": "ASAP"}
    order = {
        "location_id": seller.location_id,
        "reference_id": WIX_ID,
        "line_items": [{"name": "Soup", "quantity": "1", "base_price_money": {"amount": 650, "currency": "USD"}}],
        "fulfillments": [{"type": "PICKUP", "pickup_details": pickup}],
    }
    created = seller.client.post("/v2/orders", {"idempotency_key": uuid.uuid4().hex, "order": order})
    return str(created["order"]["id"])


def test_square_cancels_the_order_and_its_fulfillment_at_its_version(seller: Seller) -> None:
    # Given an open Square order with a proposed pickup
    order_id = _square_order(seller)
    snapshot = seller.pos.order_snapshot(order_id)
    # When the adapter cancels it, and the same request is retried (same key)
    seller.pos.cancel_order(snapshot, "cancel-key-1")
    seller.pos.cancel_order(snapshot, "cancel-key-1")
    # Then the order and its fulfillment are CANCELED, one version later (the retry replayed, changed nothing)
    after = seller.pos.order_snapshot(order_id)
    assert after.state == "CANCELED" and [f.state for f in after.fulfillments] == ["CANCELED"]
    assert after.position.version == (snapshot.position.version or 0) + 1


def test_square_answers_a_stale_version_with_a_conflict_the_adapter_retries(seller: Seller) -> None:
    # Given the kitchen moved the pickup on after the bridge read the order
    order_id = _square_order(seller)
    stale = seller.pos.order_snapshot(order_id)
    fulfillment = {"uid": stale.fulfillments[0].uid, "state": "RESERVED"}
    seller.client.request(
        "PUT",
        f"/v2/orders/{order_id}",
        {
            "idempotency_key": "kitchen",
            "order": {
                "location_id": seller.location_id,
                "version": stale.position.version,
                "fulfillments": [fulfillment],
            },
        },
    )
    # When the adapter cancels at the version it read
    # Then it is a TransientError (read again later), not a poison message, and the order is still open
    with pytest.raises(TransientError):
        seller.pos.cancel_order(stale, "cancel-key-stale")
    assert seller.pos.order_snapshot(order_id).state == "OPEN"
