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
from posbridge.domain.events import ORDER_APPROVED, ORDER_CANCELED, ORDER_PAYMENT_STATUS_UPDATED
from posbridge.domain.money import Money
from posbridge.domain.order_mapping import OrderMapping
from posbridge.domain.pos_export import PosRefund
from posbridge.domain.pos_order import PosFulfillment, PosOrderSnapshot, PosOrderState, PosPosition
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import EventIgnored, PermanentError, TransientError
from posbridge.flows.cancel_order import CancelResult, cancel_wix_order
from posbridge.flows.export_order import CANCELED_BEFORE_EXPORT, export_wix_order
from posbridge.idempotency import idempotency_key
from posbridge.ports.pos import REFUND_NOT_SUPPORTED, PosGateway
from posbridge.pos.square import SquareClient, SquarePos
from posbridge.wix import orders as wix_order_events
from tests.unit.pos_fakes import FakeTenants

EVENTS = Path(__file__).resolve().parents[2] / "events" / "wix_webhook"
TENANT_ID = "tenant-1"
WIX_ID = "5a2c7e4e-8f3b-4d1e-9a63-1c2b3d4e5f60"  # the sample events' order
POS_ID = "POS-ORDER-1"
USD0 = Money(amount=Decimal(0), currency="USD")


# ---- fakes ---------------------------------------------------------------------------------------------------------


def _snapshot(
    state: PosOrderState = "OPEN", version: int = 3, fulfillment: str = "PROPOSED", tendered: bool = False
) -> PosOrderSnapshot:
    return PosOrderSnapshot(
        tendered=tendered,
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
    # RefundPayment as Square takes it: payment id -> (total_money incl. tip, refunded so far), minor units
    payments: dict[str, tuple[int, int]] = field(default_factory=dict)
    refunds: list[tuple[str, int, str]] = field(default_factory=list)  # (payment id, amount, key) per refund made
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
        # Square refuses to cancel an order with payments applied: only its fulfillments are canceled
        self._bump("OPEN" if self.current.tendered else "CANCELED", "CANCELED")

    def refund_payment(self, payment_id: str, key: str, reason: str) -> PosRefund:
        total, refunded = self.payments[payment_id]
        currency = "USD"
        if total - refunded <= 0:
            return PosRefund(refund_id=f"R-{payment_id}", refunded=Money.from_minor_units(total, currency), new=False)
        if key not in self._keys:  # a key seen before replays the first refund
            self._keys.add(key)
            self.refunds.append((payment_id, total - refunded, key))
            self.payments[payment_id] = (total, total)
        return PosRefund(refund_id=f"R-{payment_id}", refunded=Money.from_minor_units(total, currency), new=True)

    def _bump(self, state: PosOrderState, fulfillment: str) -> None:
        version = (self.current.position.version or 0) + 1
        self.current = _snapshot(state, version, fulfillment, self.current.tendered)


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

    def by_pos_order(self, tenant_id: str, pos_order_id: str) -> OrderMapping | None:
        raise AssertionError("not used by the export and cancel flows")

    def record_wix_refund(self, tenant_id: str, wix_order_id: str, payment_status: str, refunded_minor: int) -> bool:
        mapping = self.saved.get(wix_order_id)
        if mapping is None or (mapping.wix_refunded_minor or -1) >= refunded_minor:  # refunds only grow
            return False
        update = {"wix_payment_status": payment_status, "wix_refunded_minor": refunded_minor}
        self.saved[wix_order_id] = mapping.model_copy(update=update)
        return True

    def record_pos_refund(self, tenant_id: str, wix_order_id: str, refund_id: str | None, refunded_minor: int) -> None:
        update = {"pos_refund_id": refund_id, "pos_refunded_minor": refunded_minor}
        self.saved[wix_order_id] = self.saved[wix_order_id].model_copy(update=update)


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


PAYMENT_ID = "PAYMENT-1"
PAID_TOTAL = 3375 + 500  # what the payment took: the order's total (the sample order's 33.75) and a 5.00 tip


def _paid(to_collect_minor: int | None = None) -> tuple[FakeMappings, FakePos]:
    """An order exported and paid on the POS (Flow 1: an EXTERNAL payment, or OTHER for one not paid on Wix): its
    Square order has the payment applied (tendered), its pickup not started."""
    mapping = OrderMapping(
        wix_order_id=WIX_ID,
        pos_order_id=POS_ID,
        lines={},
        pos_payment_id=PAYMENT_ID,
        to_collect_minor=to_collect_minor,
    )
    pos = FakePos(current=_snapshot(tendered=True), payments={PAYMENT_ID: (PAID_TOTAL, 0)})
    return FakeMappings(saved={WIX_ID: mapping}), pos


def _payment_status(
    status: str = "FULLY_REFUNDED", refunded: str = "33.75", event_id: str = "evt-refund-1"
) -> WorkMessage:
    """The sample wix.ecom.v1.order_payment_status_updated (events/wix_webhook, checked against the SDK's
    OrderPaymentStatusUpdatedEnvelope) with the order's payment status and balanceSummary.refunded set."""
    event = json.loads((EVENTS / "order_payment_status_updated.json").read_text())["event"]
    order = event["actionEvent"]["body"]["order"]
    order["paymentStatus"] = status
    order["balanceSummary"]["refunded"] = {"amount": refunded}
    return WorkMessage(
        source="wix",
        event_type=ORDER_PAYMENT_STATUS_UPDATED,
        event_id=event_id,
        tenant_id=TENANT_ID,
        entity_id=event["entityId"],
        payload={**event, "id": event_id},
    )


def _run(message: WorkMessage, mappings: FakeMappings, pos: FakePos, tenant: Tenant | None = None) -> CancelResult:
    tenants = FakeTenants({TENANT_ID: tenant or _tenant()})
    return cancel_wix_order(message, tenants, mappings, pos, wix_orders=wix_order_events)


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
    result = export_wix_order(approved, tenants, mappings, pos, wix_orders=wix_order_events)
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
    # (a site with no POS connected: acknowledged, never parked with the order's buyer data)
    with pytest.raises(EventIgnored) as ignored:
        _run(unknown, mappings, pos)
    assert ignored.value.reason == "awaiting_pos_connection"
    with pytest.raises(PermanentError) as caught:
        _run(_canceled(), mappings, pos, _tenant("paused"))
    assert caught.value.reason == "tenant_paused"
    assert pos.cancels == [] and pos.reads == 0


# ---- refunds: the POS payment of a canceled or refunded order ------------------------------------------------------


REFUND_KEY = idempotency_key(TENANT_ID, "refund_payment", WIX_ID)


@pytest.mark.parametrize("to_collect", [None, 3375], ids=["paid_on_wix", "unpaid_settled_as_other"])
def test_a_paid_order_canceled_on_wix_has_its_pickup_canceled_and_its_payment_refunded_once(
    to_collect: int | None,
) -> None:
    # Given an exported order paid on the POS (an EXTERNAL payment of 38.75 with its tip; or an unpaid one settled
    # with an OTHER payment), its pickup not started
    mappings, pos = _paid(to_collect)
    # When Wix's order_canceled arrives, then again under another event id
    first = _run(_canceled(), mappings, pos)
    again = _run(_canceled("evt-cancel-2"), mappings, pos)
    # Then the pickup was canceled once (the order stays OPEN: Square does not cancel a paid order) and the payment
    # refunded once, all it took, under the key (tenant, refund_payment, Wix order id)
    assert first == CancelResult("canceled", WIX_ID, POS_ID, f"R-{PAYMENT_ID}", PAID_TOTAL)
    assert again.outcome == "already_canceled" and again.pos_refunded_minor == PAID_TOTAL
    assert len(pos.cancels) == 1
    assert pos.current.state == "OPEN" and [f.state for f in pos.current.fulfillments] == ["CANCELED"]
    assert pos.refunds == [(PAYMENT_ID, PAID_TOTAL, REFUND_KEY)]
    # And the order mapping shows the refund to operators
    saved = mappings.saved[WIX_ID]
    assert (saved.pos_refund_id, saved.pos_refunded_minor) == (f"R-{PAYMENT_ID}", PAID_TOTAL)


@pytest.mark.parametrize("refund_first", [True, False], ids=["refund_then_cancel", "cancel_then_refund"])
def test_a_full_refund_and_a_cancel_of_one_order_make_one_pos_cancel_and_one_refund(refund_first: bool) -> None:
    # Given an exported, paid order
    mappings, pos = _paid()
    # When Wix sends both its full refund (FULLY_REFUNDED) and its cancel, in either order, the refund twice
    events = [_payment_status(), _canceled(), _payment_status(event_id="evt-refund-2")]
    if not refund_first:
        events.reverse()
    results = [_run(message, mappings, pos) for message in events]
    # Then the POS got one cancel and one refund of all the payment took
    assert [r.outcome for r in results] == ["canceled", "already_canceled", "already_canceled"]
    assert len(pos.cancels) == 1 and pos.refunds == [(PAYMENT_ID, PAID_TOTAL, REFUND_KEY)]
    # And Wix's refunded total is on the mapping, exactly
    saved = mappings.saved[WIX_ID]
    assert (saved.wix_payment_status, saved.wix_refunded_minor) == ("FULLY_REFUNDED", 3375)


def test_a_full_refund_after_the_food_went_out_still_refunds_the_payment() -> None:
    # Given an exported, paid order the kitchen completed
    mappings, pos = _paid()
    pos.current = _snapshot("COMPLETED", 5, "COMPLETED", tendered=True)
    # When Wix refunds it in full
    result = _run(_payment_status(), mappings, pos)
    # Then nothing is canceled, but the payment is refunded (Wix gave the money back)
    assert result.outcome == "refunded_completed_on_pos"
    assert pos.cancels == [] and pos.refunds == [(PAYMENT_ID, PAID_TOTAL, REFUND_KEY)]


@dataclass
class NoRefundPos(FakePos):
    """A POS whose API cannot refund the payment (Clover: an external-tender record), 200 of it refunded at the till."""

    def refund_payment(self, payment_id: str, key: str, reason: str) -> PosRefund:
        raise PermanentError(REFUND_NOT_SUPPORTED, "cannot refund", {"refunded_minor": 200, "taken_minor": PAID_TOTAL})


def test_a_pos_that_cannot_refund_has_the_order_canceled_and_the_refund_left_to_an_operator() -> None:
    # Given an exported, paid order on a POS whose API cannot refund its payment
    mappings, paid = _paid()
    pos = NoRefundPos(current=paid.current, payments=paid.payments)
    # When Wix's order_canceled arrives, then again
    first = _run(_canceled(), mappings, pos)
    again = _run(_canceled("evt-cancel-2"), mappings, pos)
    # Then the order is canceled once, no error is raised (nothing parked, no retry that could never succeed), and
    # the result says the refund is an operator's, with what the POS shows refunded
    assert first == CancelResult("canceled", WIX_ID, POS_ID, None, 200, pos_refund_unsupported=True)
    assert again.outcome == "already_canceled" and again.pos_refund_unsupported
    assert len(pos.cancels) == 1
    # And the mapping shows operators what the POS refunded (200 at the till), no refund id
    saved = mappings.saved[WIX_ID]
    assert (saved.pos_refund_id, saved.pos_refunded_minor) == (None, 200)


def test_any_other_refusal_of_a_refund_still_parks_the_message() -> None:
    # Given a POS that refuses the refund for another reason
    class Refusing(FakePos):
        def refund_payment(self, payment_id: str, key: str, reason: str) -> PosRefund:
            raise PermanentError("pos_payment_not_found", "no such payment")

    mappings, paid = _paid()
    pos = Refusing(current=paid.current, payments=paid.payments)
    # When the cancel arrives, Then the refusal is raised (parked with its reason)
    with pytest.raises(PermanentError, match="no such payment"):
        _run(_canceled(), mappings, pos)


def test_a_partial_refund_is_recorded_for_operators_and_not_applied_on_the_pos() -> None:
    # Given an exported, paid order
    mappings, pos = _paid()
    # When Wix refunds 5.25 of it, then 12.00 in all, delivered out of order and one of them twice
    later = _run(_payment_status("PARTIALLY_REFUNDED", "12.00", "evt-2"), mappings, pos)
    earlier = _run(_payment_status("PARTIALLY_REFUNDED", "5.25", "evt-1"), mappings, pos)
    _run(_payment_status("PARTIALLY_REFUNDED", "12.00", "evt-2b"), mappings, pos)
    # Then the POS is not touched at all (a partial refund is not guessed onto lines)
    assert pos.tenants_seen == [] and pos.cancels == [] and pos.refunds == []
    # And the mapping keeps Wix's refunded total, exactly, never lowered by the stale event
    assert (later.outcome, later.wix_refunded_minor) == ("partial_refund_recorded", 1200)
    assert earlier.outcome == "partial_refund_recorded"
    saved = mappings.saved[WIX_ID]
    assert (saved.wix_payment_status, saved.wix_refunded_minor) == ("PARTIALLY_REFUNDED", 1200)


def test_a_full_refund_that_overtakes_the_approval_keeps_the_order_off_the_pos() -> None:
    # Given an order refunded in full on Wix before its export was processed
    mappings, pos = FakeMappings(), FakePos()
    assert _run(_payment_status(), mappings, pos).outcome == "not_exported"
    # When its approval arrives late
    event = json.loads((EVENTS / "order_approved.json").read_text())["event"]
    approved = WorkMessage(
        source="wix", event_type=ORDER_APPROVED, event_id=event["id"], tenant_id=TENANT_ID, entity_id=WIX_ID,
        payload=event,
    )  # fmt: skip
    tenants = FakeTenants({TENANT_ID: _tenant()})
    result = export_wix_order(approved, tenants, mappings, pos, wix_orders=wix_order_events)
    # Then it is never exported
    assert result.outcome == "canceled_before_export"
    assert pos.tenants_seen == [] and mappings.saved == {}


def test_other_payment_status_changes_write_nothing() -> None:
    # Given an exported, paid order; When Wix reports its payment status PAID (e.g. after a pending payment)
    mappings, pos = _paid()
    result = _run(_payment_status("PAID", "0"), mappings, pos)
    # Then nothing is written anywhere
    assert result.outcome == "payment_status_ignored"
    assert pos.tenants_seen == [] and mappings.saved[WIX_ID].wix_refunded_minor is None


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


def _paid_square_order(seller: Seller, tip: int = 100) -> tuple[str, str]:
    """A Square order paid as Flow 1 pays it: an EXTERNAL payment of its total with a tip, then PayOrder."""
    order_id = _square_order(seller)
    payment = seller.client.post(
        "/v2/payments",
        {
            "idempotency_key": uuid.uuid4().hex[:40],
            "source_id": "EXTERNAL",
            "external_details": {"type": "EXTERNAL", "source": "Wix", "source_id": WIX_ID},
            "amount_money": {"amount": 650, "currency": "USD"},
            "tip_money": {"amount": tip, "currency": "USD"},
            "order_id": order_id,
            "location_id": seller.location_id,
            "autocomplete": False,
        },
    )["payment"]
    seller.client.post(
        f"/v2/orders/{order_id}/pay", {"idempotency_key": uuid.uuid4().hex, "payment_ids": [payment["id"]]}
    )
    return order_id, str(payment["id"])


def test_square_refuses_to_cancel_a_paid_order_so_the_adapter_cancels_its_pickup(seller: Seller) -> None:
    # Given a Square order paid with an external payment, its pickup not started
    order_id, _ = _paid_square_order(seller)
    snapshot = seller.pos.order_snapshot(order_id)
    assert snapshot.tendered
    # When the order itself is set CANCELED, Then Square refuses: a paid order is never canceled
    with pytest.raises(PermanentError) as refused:
        seller.client.request(
            "PUT",
            f"/v2/orders/{order_id}",
            {"order": {"location_id": seller.location_id, "version": snapshot.position.version, "state": "CANCELED"}},
        )
    assert refused.value.details.get("field") == "order.state"
    # When the adapter cancels it
    seller.pos.cancel_order(snapshot, "cancel-paid-1")
    # Then its pickup is CANCELED and the order stays OPEN
    after = seller.pos.order_snapshot(order_id)
    assert after.state == "OPEN" and [f.state for f in after.fulfillments] == ["CANCELED"]


def test_square_refunds_all_the_external_payment_took_once(seller: Seller) -> None:
    # Given a Square order paid with an external payment of 6.50 and a 1.00 tip
    order_id, payment_id = _paid_square_order(seller, tip=100)
    # When the adapter refunds it, then again under the same key and under another (a replay, a second event)
    first = seller.pos.refund_payment(payment_id, "refund-key-1", "Canceled or refunded on Wix (posbridge)")
    again = seller.pos.refund_payment(payment_id, "refund-key-1", "Canceled or refunded on Wix (posbridge)")
    other = seller.pos.refund_payment(payment_id, "refund-key-2", "Canceled or refunded on Wix (posbridge)")
    # Then one refund of 7.50 (the amount and the tip) was made, and later calls report it without a second one
    assert first.new and first.refunded.minor_units() == 750
    assert not again.new and not other.new and again.refund_id == other.refund_id == first.refund_id
    payment = seller.client.get(f"/v2/payments/{payment_id}")["payment"]
    assert payment["refunded_money"]["amount"] == 750 and len(payment["refund_ids"]) == 1
    # And the refund is an EXTERNAL one on the order
    order = seller.client.get(f"/v2/orders/{order_id}")["order"]
    assert [r["amount_money"]["amount"] for r in order["refunds"]] == [750]
    assert seller.client.get(f"/v2/refunds/{first.refund_id}")["refund"]["destination_type"] == "EXTERNAL"
