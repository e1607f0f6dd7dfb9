"""The reconciliation pass (posbridge/flows/reconcile.py) over fakes: what it queues, and when its cursors move."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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


def test_the_cursors_stop_at_the_oldest_order_queued_and_pass_it_once_its_work_is_done(run: Pass) -> None:
    # Given more than a page of missed orders each side
    for _ in range(5):  # more than a page each side: the walks follow cursors
        run.wix.add_order()
        run.pos.put(square_order())
    # When a pass queues them all
    result = run.run()
    # Then the cursors stop at the oldest order queued (queued is not done: the worker may still fail it)
    oldest_pos = min(o["updated_at"] for o in run.pos.orders.values())
    oldest_wix = min(o["updatedDate"] for o in run.wix.orders.values())
    assert result.ok and result.advanced and (result.wix_queued, result.pos_queued) == (5, 5)
    assert run.cursors.stored == Cursors(oldest_wix, oldest_pos)

    # When the worker has done their work (exported, imported) and the next pass runs
    run.syncs.wix_known |= set(run.wix.orders)
    for order in run.pos.orders.values():
        position = PosPosition(version=order.get("version"), updated_at=parse_time(order["updated_at"]))
        run.syncs.records[order["id"]] = PosOrderSync(pos_order_id=order["id"], wix_order_id="w", position=position)
    again = run.run()
    # Then nothing is queued again and the cursors move to the latest change seen
    latest_pos = max(o["updated_at"] for o in run.pos.orders.values())
    latest_wix = max(o["updatedDate"] for o in run.wix.orders.values())
    assert again.ok and (again.wix_queued, again.pos_queued) == (0, 0)
    assert run.cursors.stored == Cursors(latest_wix, latest_pos)


def test_an_order_queued_but_not_done_is_seen_again_by_the_next_pass_however_old(run: Pass) -> None:
    # Given a missed Wix order and a missed POS order, each followed 10 minutes later by an order already handled
    stuck_wix, done_wix = run.wix.add_order(), run.wix.add_order()
    run.wix.orders[stuck_wix]["updatedDate"], run.wix.orders[done_wix]["updatedDate"] = stamp(60), stamp(660)
    run.syncs.wix_known.add(done_wix)
    stuck_pos = run.pos.put(square_order(updated=60))
    done_pos = run.pos.put(square_order(version=1, updated=660))
    run.syncs.records[done_pos["id"]] = PosOrderSync(
        pos_order_id=done_pos["id"], wix_order_id="w", position=PosPosition(version=1, updated_at=NOW)
    )
    # When a pass queues the missed ones, and their work does not get done (the partner is down: the messages end in
    # the DLQ after their receives, with no record)
    run.run()
    run.queue.sent.clear()
    second = run.run()
    # Then the next pass queues them again: the cursor did not move past them (10 minutes is beyond the overlap)
    assert second.ok and run.queued("wix") == [stuck_wix] and run.queued("square") == [stuck_pos["id"]]


def test_an_order_parked_in_the_dlq_is_left_to_the_redrive_and_does_not_hold_the_cursor(run: Pass) -> None:
    # Given a Wix order and a POS order whose work the worker parked in the DLQ (recorded: the alarm tells a person)
    parked_wix, later_wix = run.wix.add_order(), run.wix.add_order()
    run.syncs.wix_known |= {parked_wix, later_wix}  # known_wix_orders answers parked orders too (store/order_sync.py)
    parked_pos = run.pos.put(square_order(updated=60))
    run.syncs.parked.add(parked_pos["id"])
    # When a pass runs
    result = run.run()
    # Then neither is queued again, and the cursors pass them
    assert result.ok and run.queue.sent == []
    assert run.cursors.stored == Cursors(run.wix.orders[later_wix]["updatedDate"], parked_pos["updated_at"])


def test_an_order_held_longer_than_the_hold_limit_is_let_go(run: Pass) -> None:
    # Given a missed POS order changed an hour ago that stays undone (e.g. its work keeps failing), and one changed
    # 50 minutes ago
    run.cursors.stored = Cursors()
    old = run.pos.put(square_order(updated=0))
    newer = run.pos.put(square_order(updated=600))
    # When a pass with a 55-minute hold limit runs
    result = reconcile_tenant(
        tenant(), run.wix, run.pos, run.syncs, run.cursors, run.queue, NOW, max_hold=timedelta(minutes=55)
    )
    # Then both are queued, but only the recent one holds the cursor; the old one is counted as let go
    assert sorted(run.queued("square")) == sorted([old["id"], newer["id"]])
    assert result.let_go == 1 and run.cursors.stored.pos_since == newer["updated_at"]


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


@dataclass
class FakeAwaiting:
    orders: dict[str, str] = field(default_factory=dict)  # Wix order id -> since

    def waiting(self, tenant_id: str) -> dict[str, str]:
        return dict(self.orders)

    def forget(self, tenant_id: str, wix_order_ids: list[str]) -> None:
        for order_id in wix_order_ids:
            self.orders.pop(order_id, None)

    def record(self, tenant_id: str, wix_order_id: str, since: str | None) -> None:
        raise AssertionError("not used by the reconciliation")


def test_orders_that_arrived_before_the_pos_was_connected_are_queued_then_forgotten_once_done(run: Pass) -> None:
    # Given a site connected just now, with no cursors, and two orders recorded three days ago while it had no POS
    # (one a restaurant order, one the Wix search does not return: not a restaurant order)
    run.cursors.stored = Cursors()
    waiting = run.wix.add_order()
    run.wix.orders[waiting]["updatedDate"] = "2026-02-26T12:00:00.000Z"
    awaiting = FakeAwaiting({waiting: "2026-02-26T12:00:00.000Z", "not-a-restaurant-order": "2026-02-26T12:00:01.000Z"})

    # When a pass runs
    first = reconcile_tenant(tenant(), run.wix, run.pos, run.syncs, run.cursors, run.queue, NOW, awaiting=awaiting)

    # Then the search reached back to it (beyond the one-day first-pass lookback) and queued it for Flow 1; its record
    # stays until its work is done, the other one's is forgotten
    assert first.ok and run.queued("wix") == [waiting]
    assert awaiting.orders == {waiting: "2026-02-26T12:00:00.000Z"}

    # When the worker has exported it and the next pass runs
    run.syncs.wix_known.add(waiting)
    run.queue.sent.clear()
    reconcile_tenant(tenant(), run.wix, run.pos, run.syncs, run.cursors, run.queue, NOW, awaiting=awaiting)
    # Then nothing is queued and nothing waits any more
    assert run.queue.sent == [] and awaiting.orders == {}
