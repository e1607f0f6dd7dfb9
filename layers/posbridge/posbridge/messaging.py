"""The FIFO work queue between ingest handlers and workers.

Group = tenant + entity, so one order's events apply in order while tenants and orders proceed in parallel;
dedup id = the provider's event id, so a webhook delivered twice within SQS's 5-minute window is enqueued once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import boto3

from posbridge.domain.work_message import WorkMessage, sqs_id
from posbridge.errors import TransientError

# What makes two work messages the same event, for the workers' Powertools idempotency records: the provider's event
# id within its tenant. Event ids alone are not tenant-scoped (reconcile ids are built from order ids): one tenant's
# event must never look like a duplicate of another's.
IDEMPOTENCY_KEY_JMESPATH = "[tenant_id, source, event_id]"
_BATCH_MAX = 10  # SendMessageBatch entries
_BATCH_BYTES = 200_000  # of SendMessageBatch's 256 KiB, with room for the entries' other fields


class WorkQueue:
    def __init__(self, queue_url: str) -> None:
        self._queue_url = queue_url

    @cached_property
    def _sqs(self) -> Any:
        # Created on first use, not at import: keeps cold starts lean and lets tests point boto3 at moto first.
        return boto3.client("sqs")

    def send(self, message: WorkMessage) -> str:
        response = self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=message.model_dump_json(),
            MessageGroupId=message.group_id,
            MessageDeduplicationId=message.dedup_id,
        )
        return str(response["MessageId"])

    def send_many(self, messages: Sequence[WorkMessage]) -> None:
        """SendMessageBatch: up to 10 messages and 256 KB a call (the reconciliation queues hundreds at once).

        Entries SQS refuses are sent again once; any still refused raise TransientError, so the caller's pass fails
        (and is repeated) rather than losing them."""
        batch: list[dict[str, str]] = []
        size = 0
        for message in messages:
            body = message.model_dump_json()
            if batch and (len(batch) == _BATCH_MAX or size + len(body) > _BATCH_BYTES):
                self._send_batch(batch)
                batch, size = [], 0
            batch.append(
                {
                    "Id": str(len(batch)),
                    "MessageBody": body,
                    "MessageGroupId": message.group_id,
                    "MessageDeduplicationId": message.dedup_id,
                }
            )
            size += len(body)
        if batch:
            self._send_batch(batch)

    def _send_batch(self, entries: list[dict[str, str]]) -> None:
        for _ in range(2):
            answer = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            failed = {f["Id"] for f in answer.get("Failed", [])}
            entries = [e for e in entries if e["Id"] in failed]
            if not entries:
                return
        raise TransientError(f"SQS refused {len(entries)} of a batch of work messages")


class DeadLetters:
    """Parks a poison message in the DLQ at once, with its reason, instead of letting it fail maxReceiveCount times.

    The reason travels as message attributes, so an operator listing the DLQ sees why without reading logs."""

    def __init__(self, queue_url: str) -> None:
        self._queue_url = queue_url

    @cached_property
    def _sqs(self) -> Any:
        return boto3.client("sqs")

    def park(self, body: str, group_id: str, message_id: str, reason: str, error: str) -> None:
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageGroupId=group_id,
            MessageDeduplicationId=sqs_id(f"poison:{message_id}"),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason},
                "error": {"DataType": "String", "StringValue": error[:1000]},
            },
        )
