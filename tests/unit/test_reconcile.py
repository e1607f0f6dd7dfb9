"""The reconciliation pass (posbridge/flows/reconcile.py) over fakes: what it queues, and when its cursors move."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from posbridge.domain.events import ORDER_CREATED
from posbridge.domain.order_sync import Cursors, PosOrderSync
from posbridge.domain.pos_order import PosPosition
from posbridge.errors import TransientError
from posbridge.flows.reconcile import PassResult, reconcile_tenant
from posbridge.pos.square.order_snapshot import parse_time
from tests.unit.pos_fakes import (
    TENANT_ID,
    FakeCursors,
    FakePos,
    FakeQueue,
    FakeSyncs,
    FakeWix,
    square_order,
    stamp,
    tenant,
)

NOW = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
START = Cursors(wix_since=stamp(0), pos_since=stamp(0))


class Pass:
    def __init__(self) -> None:
        self.wix, self.pos, self.syncs = FakeWix(), FakePos(), FakeSyncs()
        self.cursors, self.queue = FakeCursors(START), FakeQueue()

    def run(self) -> PassResult:
        return reconcile_tenant(tenant(), self.wix, self.pos, self.syncs, self.cursors, self.queue, NOW)

    def queued(self, source: str) -> list[str]:
        return [m.entity_id for m in self.queue.sent if m.source == source]


@pytest.fixture
def run() -> Pass:
    return Pass()


def test_a_wix_order_never_exported_is_queued_as_its_creation_and_others_are_left_alone(run: Pass) -> None:
    # Given a missed online order, an exported one, and one that was imported from the POS
    missed = run.wix.add_order()
    exported = run.wix.add_order()
    run.syncs.wix_known.add(exported)
    run.wix.add_order(external_id="POS-IMPORTED")
    # When a pass runs
    result = run.run()
    # Then only the missed one is queued, as an order_created carrying the order as it is now
    assert result.ok and run.queued("wix") == [missed]
    [sent] = run.queue.sent
    assert sent.event_type == ORDER_CREATED and sent.payload["createdEvent"]["entity"]["id"] == missed
    assert (result.wix_seen, result.wix_queued) == (3, 1)


def test_a_pos_order_never_applied_or_behind_is_queued_and_one_in_step_is_not(run: Pass) -> None:
    # Given a missed cashier order, an order whose latest change was missed, one in step, and a skipped one
    missed = run.pos.put(square_order(version=1))
    behind = run.pos.put(square_order(version=3))
    in_step = run.pos.put(square_order(version=2))
    skipped = run.pos.put(square_order(state="CANCELED"))
    for order, applied in ((behind, 2), (in_step, 2)):
        run.syncs.records[order["id"]] = PosOrderSync(
            pos_order_id=order["id"], wix_order_id="w", position=PosPosition(version=applied, updated_at=NOW)
        )
    run.syncs.skips[skipped["id"]] = "canceled on the POS before it was imported"
    # When a pass runs
    result = run.run()
    # Then the missed and the behind ones are queued as order.updated events for the worker
    assert result.ok and sorted(run.queued("square")) == sorted([missed["id"], behind["id"]])
    assert {m.event_type for m in run.queue.sent} == {"order.updated"}
    assert all(m.event_id.startswith("reconcile:") for m in run.queue.sent)


def test_the_cursors_advance_to_the_latest_change_seen_after_a_full_pass(run: Pass) -> None:
    for _ in range(5):  # more than a page each side: the walks follow cursors
        run.wix.add_order()
        run.pos.put(square_order())
    result = run.run()
    latest_pos = max(o["updated_at"] for o in run.pos.orders.values())
    latest_wix = max(o["updatedDate"] for o in run.wix.orders.values())
    assert result.ok and result.advanced and (result.wix_queued, result.pos_queued) == (5, 5)
    assert run.cursors.stored == Cursors(latest_wix, latest_pos)


def test_a_failed_pass_leaves_the_cursors_and_the_next_one_finds_the_missed_order(run: Pass) -> None:
    # Given a missed cashier order and a POS whose search fails after the Wix walk
    missed = run.pos.put(square_order())
    run.pos.fail_search.append(TransientError("Square POST /v2/orders/search failed after 4 attempts: HTTP 500"))
    # When a pass runs
    failed = run.run()
    # Then it reports the failure and does not move the cursors
    assert not failed.ok and not failed.advanced and "HTTP 500" in (failed.error or "")
    assert run.cursors.advances == 0 and run.cursors.stored == START
    # And the next pass (the POS back) queues the order and advances
    healed = run.run()
    assert healed.ok and healed.advanced and missed["id"] in run.queued("square")


def test_each_search_starts_a_little_before_its_cursor(run: Pass) -> None:
    # Given an order changed 30 s before the stored cursor (it became visible late)
    run.cursors.stored = Cursors(wix_since=stamp(100), pos_since=stamp(100))
    late = run.pos.put(square_order(updated=70))
    run.run()
    assert late["id"] in run.queued("square")


def test_the_first_pass_of_a_tenant_looks_back_a_day() -> None:
    run = Pass()
    run.cursors.stored = Cursors()
    old = run.pos.put(square_order())  # 2026-03-01T12:xx, an hour before NOW
    result = run.run()
    assert result.ok and old["id"] in run.queued("square")
    assert parse_time(run.cursors.stored.pos_since) == parse_time(old["updated_at"])


def test_a_paused_tenant_is_not_reconciled(run: Pass) -> None:
    run.pos.put(square_order())
    result = reconcile_tenant(tenant(status="paused"), run.wix, run.pos, run.syncs, run.cursors, run.queue, NOW)
    assert result.ok and run.queue.sent == [] and run.cursors.advances == 0
    assert result.tenant_id == TENANT_ID
