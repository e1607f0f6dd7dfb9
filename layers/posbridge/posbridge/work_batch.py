"""One SQS batch of a FIFO work queue, worked to a deadline; what cannot finish goes back with a delay matched to why.

Lambda (FunctionResponseTypes ReportBatchItemFailures) deletes every message not reported as failed; a reported one
becomes visible again when its visibility timeout runs out, and this module sets that timeout first
(ChangeMessageVisibilityBatch):
- RateLimited that says when (a Retry-After, the next Wix window): exactly that long.
- PartnerUnavailable, RateLimited without a hint, DeadlineReached inside a message, any other failure: backoff by the
  message's ApproximateReceiveCount, 30 s doubling to a 5-minute cap (never shorter than a partner's Retry-After).
- Not started because the deadline came: 0 s, back at once for the next invocation.

A RetryLater (rate limit full, partner down, time up) stops the batch: each unfinished message goes back with that
cause's delay on its own receive count, so a partner outage costs each message one receive per backoff step, not one
per batch it shares with a failing message, and no time is spent failing the same way ten times. Messages finished
before it are kept. Any other failure skips only the rest of its message group (FIFO order) and the batch goes on.
Poison is the handler's business: it parks the message in the DLQ with its reason and returns normally.

The arithmetic with the queues' maxReceiveCount (template.yaml): a message failing transiently on every receive
reaches the DLQ after 30 + 60 + 120 + 240 s, then 300 s per receive: 500 receives are about 41 hours of outage.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import boto3
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from posbridge.deadline import Deadline
from posbridge.errors import RateLimited, RetryLater, TransientError

BACKOFF_FIRST_S = 30
BACKOFF_CAP_S = 300  # after a partner comes back, a waiting message is retried within 5 minutes
MAX_DELAY_S = 900  # the longest a message is sent back for (SQS allows 12 h); it then asks again
NOT_STARTED_S = 0
MIN_START_S = 5.0  # a message is started only with this much of the deadline left (a few partner calls)

log = logging.getLogger(__name__)


def backoff_s(receive_count: int) -> int:
    """Seconds before a message that failed on its `receive_count`-th receive is tried again."""
    exponent: int = min(max(receive_count, 1), 16) - 1
    return min(BACKOFF_CAP_S, BACKOFF_FIRST_S << exponent)


def delay_s(cause: BaseException, receive_count: int) -> int:
    """The visibility delay that matches why the message could not finish."""
    hint: float | None = cause.retry_after_s if isinstance(cause, RetryLater) else None
    if isinstance(cause, RateLimited) and hint is not None:
        return min(MAX_DELAY_S, max(1, math.ceil(hint)))
    return min(MAX_DELAY_S, max(backoff_s(receive_count), math.ceil(hint or 0)))


class Visibility(Protocol):
    def change(self, delays: Sequence[tuple[str, int]]) -> None:
        """Set each (receipt handle, seconds) message's visibility timeout."""


class SqsVisibility:
    def __init__(self, queue_url: str) -> None:
        self._queue_url = queue_url

    @cached_property
    def _sqs(self) -> Any:
        return boto3.client("sqs")

    def change(self, delays: Sequence[tuple[str, int]]) -> None:
        """Best effort: a message whose change fails comes back after the queue's own VisibilityTimeout instead."""
        for start in range(0, len(delays), 10):  # ChangeMessageVisibilityBatch takes 10 entries
            entries = [
                {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                for index, (handle, seconds) in enumerate(delays[start : start + 10])
            ]
            try:
                answer = self._sqs.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries)
            except Exception as exc:  # the batch's outcome must still be reported
                log.warning("could not set the returned messages' visibility", extra={"error": type(exc).__name__})
                continue
            if answer.get("Failed"):
                log.warning("SQS refused some visibility changes", extra={"failed": len(answer["Failed"])})


@dataclass
class BatchResult:
    """Message id -> the delay it went back with; `causes`: how many went back per cause (metric names)."""

    delays: dict[str, int] = field(default_factory=dict)
    causes: Counter[str] = field(default_factory=Counter)

    def response(self) -> PartialItemFailureResponse:
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in self.delays]}


def process_batch(
    records: Sequence[SQSRecord],
    handle: Callable[[SQSRecord], None],
    deadline: Deadline,
    visibility: Visibility,
) -> BatchResult:
    """Handle the records in order, to `deadline` (applied to every client call); return what goes back and why."""
    result = BatchResult()
    receipts: dict[str, str] = {}
    stop: tuple[str, Callable[[int], int]] | None = None  # (cause, delay by receive count) for all that remain
    waiting_groups: dict[str, int] = {}  # a group after its failure: the rest of it waits as long (FIFO order)

    def give_back(record: SQSRecord, cause: str, seconds: int) -> None:
        result.delays[record.message_id] = seconds
        result.causes[cause] += 1
        receipts[record.message_id] = record.receipt_handle

    with deadline.applied():
        for record in records:
            count = int(record.attributes.approximate_receive_count or 1)
            group = record.attributes.message_group_id or record.message_id
            if group in waiting_groups:
                give_back(record, "GroupWaiting", waiting_groups[group])
                continue
            if stop is None and deadline.remaining() < MIN_START_S:
                stop = ("NotStarted", lambda _count: NOT_STARTED_S)
            if stop is not None:
                give_back(record, stop[0], stop[1](count))
                continue
            try:
                handle(record)
            except Exception as exc:  # each failure is classified, the message given back
                cause = type(exc).__name__
                seconds = delay_s(exc, count)
                give_back(record, cause, seconds)
                waiting_groups[group] = seconds
                log.warning(
                    "message returned to the queue",
                    extra={"message_id": record.message_id, "cause": cause, "delay_s": seconds, "receive": count},
                    exc_info=not isinstance(exc, TransientError),  # unforeseen: a bug, its traceback helps
                )
                if isinstance(exc, RetryLater):

                    def later(receive: int, failure: BaseException = exc) -> int:
                        return delay_s(failure, receive)

                    stop = (cause, later)
    if result.delays:
        visibility.change([(receipts[message_id], seconds) for message_id, seconds in result.delays.items()])
    return result
