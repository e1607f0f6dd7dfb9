"""Time budgets that add up (issue 13): a queue batch works to a deadline from the invocation's remaining time, what
cannot finish goes back with a delay matched to its cause, and only poison reaches the DLQ.

Everything runs on a fake clock: the partner (a real SquareClient over an httpx MockTransport), the client's backoff
sleeps, the Wix rate limiter and the Lambda context all read or advance the same clock, so hours of outage take
milliseconds. The queue is a small model of SQS FIFO as AWS documents it (visibility, receive counts, groups, the
redrive after maxReceiveCount, the retention period), configured from template.yaml."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from devstack.app import TEMPLATE
from devstack.template import load_sam
from posbridge.deadline import SAFETY_MARGIN_S, Deadline
from posbridge.errors import PermanentError, TransientError
from posbridge.pos.square.client import SquareClient
from posbridge.wix.rate_limit import DynamoRateLimiter
from posbridge.work_batch import BACKOFF_CAP_S, MIN_START_S, BatchResult, backoff_s, process_batch

LAMBDA_TIMEOUT_S = 30.0


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Context:
    """Lambda's context as far as the worker reads it: the time left before the function's timeout."""

    clock: Clock
    timeout_s: float = LAMBDA_TIMEOUT_S

    def __post_init__(self) -> None:
        self.ends_at = self.clock() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends_at - self.clock()) * 1000)


@dataclass
class Visibility:
    changes: dict[str, int] = field(default_factory=dict)  # receipt handle -> seconds

    def change(self, delays: Any) -> None:
        self.changes.update(dict(delays))


@dataclass
class Partner:
    """Square as seen through the network: answers `status` after `latency_s`, or times out past the request's
    read timeout (httpx gives the transport the per-request timeout)."""

    clock: Clock
    latency_s: float = 0.2
    status: Callable[[], int] = lambda: 200
    headers: dict[str, str] = field(default_factory=dict)
    read_timeouts: list[float] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        read_timeout = request.extensions["timeout"]["read"]
        self.read_timeouts.append(read_timeout)
        if self.latency_s > read_timeout:
            self.clock.sleep(read_timeout)
            raise httpx.ReadTimeout("no answer in time", request=request)
        self.clock.sleep(self.latency_s)
        status = self.status()
        body = {"ok": True} if status < 400 else {"errors": [{"code": "SERVICE_UNAVAILABLE"}]}
        return httpx.Response(status, json=body, headers=self.headers if status >= 400 else {})

    def client(self) -> SquareClient:
        http = httpx.Client(transport=httpx.MockTransport(self))
        return SquareClient("https://square.test", "token", http=http, sleep=self.clock.sleep)


def record(message_id: str, group: str | None = None, receive_count: int = 1, body: str = "{}") -> SQSRecord:
    return SQSRecord(
        {
            "messageId": message_id,
            "receiptHandle": f"rh-{message_id}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": str(receive_count), "MessageGroupId": group or message_id},
        }
    )


def run(records: list[SQSRecord], handle: Callable[[SQSRecord], None], clock: Clock) -> tuple[BatchResult, Visibility]:
    visibility = Visibility()
    deadline = Deadline.from_context(Context(clock), clock=clock)
    return process_batch(records, handle, deadline, visibility), visibility


def one_square_call(client: SquareClient) -> Callable[[SQSRecord], None]:
    def handle(_record: SQSRecord) -> None:
        client.get("/v2/locations")

    return handle


# --- the deadline --------------------------------------------------------------------------------------------------


def test_a_slow_partner_stops_the_batch_before_the_timeout_and_returns_the_rest() -> None:
    # Given a 30 s invocation, a batch of 10, and Square answering each call after 9 s
    clock = Clock()
    partner = Partner(clock, latency_s=9.0)
    batch = [record(f"m{i}") for i in range(10)]
    # When the batch is worked
    result, visibility = run(batch, one_square_call(partner.client()), clock)
    # Then the invocation ends before its timeout, with time to report (the safety margin)
    assert clock.now <= LAMBDA_TIMEOUT_S - SAFETY_MARGIN_S
    # And the two messages that finished are kept; the third's call was cut to the 8 s left, then given up
    assert partner.read_timeouts == [10.0, 10.0, 8.0]
    assert set(result.delays) == {f"m{i}" for i in range(2, 10)}
    # And the rest go back with the partner's backoff (30 s for a first receive), not the queue's 180 s
    assert visibility.changes == {f"rh-m{i}": backoff_s(1) for i in range(2, 10)}
    assert result.response()["batchItemFailures"][0] == {"itemIdentifier": "m2"}


def test_messages_not_started_because_time_ran_out_come_back_at_once() -> None:
    # Given healthy calls of 6 s each: four messages fit the 26 s deadline, the fifth would start with 2 s left
    clock = Clock()
    partner = Partner(clock, latency_s=6.0)
    batch = [record(f"m{i}") for i in range(10)]
    # When the batch is worked
    result, visibility = run(batch, one_square_call(partner.client()), clock)
    # Then four are done and the six not started go back with no delay (nothing failed)
    assert set(result.delays) == {f"m{i}" for i in range(4, 10)}
    assert set(visibility.changes.values()) == {0}
    assert result.causes == {"NotStarted": 6}


def test_healthy_messages_in_a_failing_batch_are_kept_and_only_a_failed_group_waits() -> None:
    # Given a batch: a healthy order, a store conflict (transient) followed by the same order's next event,
    # another healthy order, then one whose POS is down, then one more
    clock = Clock()
    down = Partner(clock, status=lambda: 503).client()
    ok = Partner(clock).client()

    def handle(message: SQSRecord) -> None:
        if message.message_id == "conflict":
            raise TransientError("DynamoDB TransactionConflict")
        (down if message.message_id == "down" else ok).get("/v2/locations")

    batch = [
        record("healthy-1", "g1"),
        record("conflict", "g2", receive_count=3),
        record("conflict-next", "g2", receive_count=3),
        record("healthy-2", "g3"),
        record("down", "g4"),
        record("after", "g5"),
    ]
    # When the batch is worked
    result, visibility = run(batch, handle, clock)
    # Then the healthy messages are not charged again (deleted: not reported), even the one after a failure
    assert set(result.delays) == {"conflict", "conflict-next", "down", "after"}
    # And the conflicted group waits as one (FIFO), with the backoff of its third receive
    assert visibility.changes["rh-conflict"] == visibility.changes["rh-conflict-next"] == backoff_s(3) == 120
    # And the partner outage stops the batch: the rest waits the outage's backoff instead of failing the same way
    assert visibility.changes["rh-down"] == visibility.changes["rh-after"] == 30
    assert result.causes == {"TransientError": 1, "GroupWaiting": 1, "PartnerUnavailable": 2}


# --- the cause decides the delay ------------------------------------------------------------------------------------


def test_a_429_with_retry_after_sets_that_visibility_without_sleeping() -> None:
    # Given Square answering 429 with Retry-After: 40
    clock = Clock()
    partner = Partner(clock, status=lambda: 429, headers={"Retry-After": "40"})
    batch = [record("m0"), record("m1")]
    # When the batch is worked
    result, visibility = run(batch, one_square_call(partner.client()), clock)
    # Then the message and the rest of the batch come back in exactly 40 s, after one attempt and no sleep
    assert visibility.changes == {"rh-m0": 40, "rh-m1": 40}
    assert len(partner.read_timeouts) == 1 and clock.now == pytest.approx(0.2)
    assert result.causes == {"RateLimited": 2}


def test_a_full_wix_rate_window_sends_the_message_back_until_the_next_window() -> None:
    # Given the shared Wix window of this instance full, 20.5 s into the minute
    clock = Clock(60 * 28_000_000 + 20.5)

    class FullWindow:
        def update_item(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem")

    limiter = DynamoRateLimiter("table", clock=clock, sleep=clock.sleep, max_wait_s=15.0, dynamodb=FullWindow())
    # When a message needs a Wix call
    result, visibility = run([record("m0")], lambda _r: limiter.acquire("inst-1"), clock)
    # Then it comes back when the next window opens (39.5 s, rounded up), without a Lambda sleeping for it
    assert visibility.changes == {"rh-m0": 40}
    assert clock.now == 60 * 28_000_000 + 20.5
    assert result.causes == {"RateLimited": 1}


def test_the_backoff_doubles_from_30_seconds_to_a_five_minute_cap() -> None:
    assert [backoff_s(n) for n in range(1, 8)] == [30, 60, 120, 240, 300, 300, 300]
    assert backoff_s(10_000) == BACKOFF_CAP_S


# --- hours of outage, through a model of the queue ------------------------------------------------------------------


def _queue_settings() -> dict[str, Any]:
    resources = load_sam(TEMPLATE)["Resources"]
    queue = resources["WorkQueue"]["Properties"]
    worker = resources["OrderWorkerFunction"]["Properties"]
    return {
        "max_receive": int(queue["RedrivePolicy"]["maxReceiveCount"]),
        "visibility_s": int(queue["VisibilityTimeout"]),
        "retention_s": int(queue["MessageRetentionPeriod"]),
        "timeout_s": float(worker["Timeout"]),
        "batch_size": int(worker["Events"]["WorkQueue"]["Properties"]["BatchSize"]),
    }


@dataclass
class Queued:
    message_id: str
    group: str
    body: str
    sent_at: float
    receives: int = 0
    visible_at: float = 0.0


class FifoQueue:
    """SQS FIFO with a redrive policy, as AWS documents it: a receive hides a message for the visibility timeout and
    counts it; no message of a group is handed out while an earlier one is in flight; a message received more than
    maxReceiveCount times is moved to the DLQ instead; one older than the retention period is deleted (lost)."""

    def __init__(self, clock: Clock, max_receive: int, visibility_s: int, retention_s: int) -> None:
        self.clock, self.max_receive = clock, max_receive
        self.visibility_s, self.retention_s = visibility_s, retention_s
        self.messages: list[Queued] = []
        self.dead: list[Queued] = []
        self.expired: list[Queued] = []

    def send(self, message_id: str, group: str, body: dict[str, str]) -> None:
        self.messages.append(Queued(message_id, group, json.dumps(body), self.clock()))

    def receive(self, most: int) -> list[Queued]:
        now, taken, busy = self.clock(), list[Queued](), set[str]()
        for message in list(self.messages):
            if now - message.sent_at > self.retention_s:
                self.messages.remove(message)
                self.expired.append(message)
            elif message.group in busy or message.visible_at > now:
                busy.add(message.group)
            elif message.receives >= self.max_receive:
                self.messages.remove(message)
                self.dead.append(message)
            elif len(taken) < most:
                message.receives += 1
                message.visible_at = now + self.visibility_s
                busy.add(message.group)
                taken.append(message)
        return taken

    def next_visible(self) -> float | None:
        return min((m.visible_at for m in self.messages), default=None)

    def settle(self, taken: list[Queued], result: BatchResult, visibility: Visibility) -> None:
        for message in taken:
            if message.message_id not in result.delays:
                self.messages.remove(message)
            elif f"rh-{message.message_id}" in visibility.changes:
                message.visible_at = self.clock() + visibility.changes[f"rh-{message.message_id}"]


@dataclass
class Worker:
    """The order worker's shape: one Square call per order; poison parked in the DLQ by the handler, at once."""

    client: SquareClient
    clock: Clock
    done: dict[str, float] = field(default_factory=dict)  # message id -> when it was exported
    parked: dict[str, int] = field(default_factory=dict)  # message id -> the receive it was parked on

    def handle(self, message: SQSRecord) -> None:
        try:
            if json.loads(message.body)["kind"] == "poison":
                raise PermanentError("square_invalid_value", "Square refused the order")
            self.client.get("/v2/locations")
            self.done.setdefault(message.message_id, self.clock())
        except PermanentError:
            self.parked[message.message_id] = int(message.attributes.approximate_receive_count or 0)


def _drain(queue: FifoQueue, worker: Worker, clock: Clock, until: float, batch_size: int, timeout_s: float) -> None:
    """Lambda's poller: receive a batch, invoke, delete what succeeded; idle until the next message is visible."""
    while queue.messages and clock() < until:
        taken = queue.receive(batch_size)
        if not taken:
            upcoming = queue.next_visible()
            if upcoming is None:
                break
            clock.now = max(clock(), upcoming) + 0.001
            continue
        records = [record(m.message_id, m.group, m.receives, m.body) for m in taken]
        visibility = Visibility()
        deadline = Deadline.from_context(Context(clock, timeout_s), clock=clock)
        result = process_batch(records, worker.handle, deadline, visibility)
        queue.settle(taken, result, visibility)


@pytest.mark.parametrize("outage_h", [1, 24])
def test_a_partner_outage_of_hours_loses_nothing_and_only_poison_reaches_the_dlq(outage_h: int) -> None:
    # Given the work queue as template.yaml configures it, 30 orders in 30 groups and one poison message,
    # and Square down (503) for `outage_h` hours
    settings = _queue_settings()
    clock = Clock()
    outage_ends = outage_h * 3600.0
    partner = Partner(clock, status=lambda: 503 if clock() < outage_ends else 200)
    queue = FifoQueue(clock, settings["max_receive"], settings["visibility_s"], settings["retention_s"])
    for n in range(30):
        queue.send(f"order-{n}", f"g{n}", {"kind": "order"})
    queue.send("poison", "g-poison", {"kind": "poison"})
    worker = Worker(partner.client(), clock)
    # When the worker drains the queue through the outage and after it
    _drain(queue, worker, clock, outage_ends + 3600, settings["batch_size"], settings["timeout_s"])
    # Then the poison message was parked on its first receive, and nothing reached the DLQ or expired
    assert worker.parked == {"poison": 1}
    assert queue.dead == [] and queue.expired == [] and queue.messages == []
    # And every order was exported once Square came back, within one backoff step (5 minutes) and a few batches
    assert set(worker.done) == {f"order-{n}" for n in range(30)}
    assert all(outage_ends <= at <= outage_ends + BACKOFF_CAP_S + 60 for at in worker.done.values())


def test_an_endless_outage_parks_the_message_in_the_dlq_before_the_queue_would_drop_it() -> None:
    # Given Square down for good
    settings = _queue_settings()
    clock = Clock()
    partner = Partner(clock, status=lambda: 503)
    queue = FifoQueue(clock, settings["max_receive"], settings["visibility_s"], settings["retention_s"])
    queue.send("order-1", "g1", {"kind": "order"})
    worker = Worker(partner.client(), clock)
    # When the worker keeps trying for longer than the retention period
    _drain(queue, worker, clock, settings["retention_s"] + 3600.0, settings["batch_size"], settings["timeout_s"])
    # Then the message waited more than a day and a half, then reached the DLQ (operators are alarmed), never expired
    assert [m.message_id for m in queue.dead] == ["order-1"] and queue.expired == []
    assert 36 * 3600 < clock.now < settings["retention_s"]


@pytest.mark.parametrize(
    ("queue", "function"), [("WorkQueue", "OrderWorkerFunction"), ("CatalogSyncQueue", "CatalogSyncFunction")]
)
def test_the_template_budgets_add_up(queue: str, function: str) -> None:
    # Given each queue and the function that consumes it, as template.yaml deploys them
    resources = load_sam(TEMPLATE)["Resources"]
    props, timeout_s = resources[queue]["Properties"], float(resources[function]["Properties"]["Timeout"])
    # Then the deadline leaves the function time to report, and a message is hidden past a crashed invocation
    # (six timeouts, as AWS advises for SQS event sources)
    assert timeout_s - SAFETY_MARGIN_S > MIN_START_S
    assert int(props["VisibilityTimeout"]) >= 6 * timeout_s
    # And a message failing transiently waits more than a day and a half before the DLQ, and less than the
    # retention period (past it SQS would delete it: lost)
    waited_before_dlq = sum(backoff_s(n) for n in range(1, int(props["RedrivePolicy"]["maxReceiveCount"]) + 1))
    assert 36 * 3600 < waited_before_dlq < int(props["MessageRetentionPeriod"])
