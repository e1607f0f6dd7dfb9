"""Operating the dead-letter queue: list parked messages with their reasons, redrive them to the work queue.

Listing shows ids and reasons only, never payloads (they may hold a buyer's personal data). Redrive re-sends each
chosen message to the work queue, then deletes it from the DLQ; the re-send's dedup id is derived from the DLQ
message id, so a redrive repeated after a crash between the two steps is deduplicated by SQS (5 minutes), and beyond
that the worker's idempotency makes the second copy a no-op. (SQS StartMessageMoveTask would move everything at once,
but it cannot filter by tenant or reason.)
"""

from __future__ import annotations

import json
import time
from functools import cached_property
from typing import Any

import boto3

from posbridge.domain.admin import ParkedMessage as Parked
from posbridge.domain.work_message import sqs_id

BROWSE_MAX = 500  # messages looked at per call
_HIDE_S = 30
# A concurrent listing (the restaurant's page polls every 5 s, an operator's `dlq list`) hides what it browses until it
# has read the whole DLQ; a redrive that finds nothing more while others hold messages waits this long for them.
HELD_ELSEWHERE_WAIT_S = 10.0


def _parse(message: dict[str, Any]) -> Parked:
    attributes = message.get("MessageAttributes") or {}
    system = message.get("Attributes") or {}
    try:
        body = json.loads(message.get("Body") or "")
    except json.JSONDecodeError:
        body = None
    body = body if isinstance(body, dict) else {}

    def text(key: str) -> str | None:
        value = body.get(key)
        return value if isinstance(value, str) else None

    sent = system.get("SentTimestamp")
    return Parked(
        message_id=str(message["MessageId"]),
        tenant_id=text("tenant_id"),
        source=text("source"),
        event_type=text("event_type"),
        event_id=text("event_id"),
        entity_id=text("entity_id"),
        # no attributes: SQS moved it here after maxReceiveCount failed attempts (transient errors that never cleared)
        reason=str(attributes.get("reason", {}).get("StringValue") or "retries_exhausted"),
        error=str(attributes.get("error", {}).get("StringValue") or ""),
        parked_at=str(sent) if sent else None,
        receive_count=int(system.get("ApproximateReceiveCount", "0")),
    )


class DeadLetterQueue:
    def __init__(self, dlq_url: str, work_queue_url: str) -> None:
        self._dlq_url = dlq_url
        self._work_queue_url = work_queue_url

    @cached_property
    def _sqs(self) -> Any:
        return boto3.client("sqs")

    def _browse(self, most: int = BROWSE_MAX) -> list[dict[str, Any]]:
        """Receive (hide) up to `most` messages, until the queue answers none. A FIFO queue hands out no message of a
        group while an earlier one of that group is in flight ("Inflight messages block delivery of available messages
        within the same message group": repost.aws/knowledge-center/sqs-fifo-messages-not-returned), so one browse
        sees each group only as far as one receive returned it; the rest of a group shows once those are deleted."""
        seen: list[dict[str, Any]] = []
        while len(seen) < most:
            batch = self._sqs.receive_message(
                QueueUrl=self._dlq_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=_HIDE_S,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            seen += batch
        return seen

    def _release(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self._sqs.change_message_visibility(
                QueueUrl=self._dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )

    def find(self, tenant_id: str | None = None, reason: str | None = None) -> list[Parked]:
        messages = self._browse()
        try:
            parked = [_parse(m) for m in messages]
            return [p for p in parked if _wanted(p, tenant_id, reason, None)]
        finally:
            self._release(messages)

    def redrive(
        self, tenant_id: str | None = None, reason: str | None = None, message_ids: set[str] | None = None
    ) -> list[Parked]:
        """Move the matching messages back to the work queue, in their groups' order; returns them. The others stay
        in the DLQ. Deleting what was moved unblocks the rest of its group, so the DLQ is browsed again until a pass
        moves nothing (a group stops at its first message that stays: moving later ones would reorder it) and no
        other browse holds messages."""
        moved: list[Parked] = []
        keep: list[dict[str, Any]] = []
        stopped: set[str] = set()  # groups with a message that stays
        waiting_since = time.monotonic()
        try:
            while len(moved) + len(keep) < BROWSE_MAX:
                passed = self._browse(BROWSE_MAX - len(moved) - len(keep))
                before = len(moved)
                for message in passed:
                    parked, group = _parse(message), _group(message)
                    if group not in stopped and _wanted(parked, tenant_id, reason, message_ids):
                        self._move(message, parked)
                        moved.append(parked)
                    else:
                        keep.append(message)
                        stopped.add(group)
                if len(moved) == before and not self._held_elsewhere(len(keep), waiting_since):
                    break
        finally:
            self._release(keep)
        return moved

    def _held_elsewhere(self, held_here: int, since: float) -> bool:
        """Messages hidden by another browse (they come back within moments): wait a little and look again, for at
        most HELD_ELSEWHERE_WAIT_S; messages we hold ourselves (`held_here`) do not count."""
        if time.monotonic() - since > HELD_ELSEWHERE_WAIT_S:
            return False
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._dlq_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        if int(attributes.get("ApproximateNumberOfMessagesNotVisible", "0")) <= held_here:
            return False
        time.sleep(0.2)
        return True

    def _move(self, message: dict[str, Any], parked: Parked) -> None:
        self._sqs.send_message(
            QueueUrl=self._work_queue_url,
            MessageBody=message["Body"],
            MessageGroupId=_group(message),
            MessageDeduplicationId=sqs_id(f"redrive:{parked.message_id}"),
        )
        self._sqs.delete_message(QueueUrl=self._dlq_url, ReceiptHandle=message["ReceiptHandle"])


def _group(message: dict[str, Any]) -> str:
    return str((message.get("Attributes") or {}).get("MessageGroupId") or "redrive")


def _wanted(parked: Parked, tenant_id: str | None, reason: str | None, message_ids: set[str] | None) -> bool:
    return (
        (tenant_id is None or parked.tenant_id == tenant_id)
        and (reason is None or parked.reason == reason)
        and (message_ids is None or parked.message_id in message_ids)
    )
