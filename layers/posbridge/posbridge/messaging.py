"""The FIFO work queue between ingest handlers and workers.

Group = tenant + entity, so one order's events apply in order while tenants and orders proceed in parallel;
dedup id = the provider's event id, so a webhook delivered twice within SQS's 5-minute window is enqueued once.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Any

import boto3
from pydantic import BaseModel, ConfigDict, Field

_SQS_ID_MAX = 128


class WorkMessage(BaseModel):
    """One unit of work for a worker; `source` + `event_type` tell the worker which flow handles it."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="provider that sent the event, e.g. 'wix' or 'square'")
    event_type: str
    event_id: str
    tenant_id: str
    entity_id: str
    payload: dict[str, Any]

    @property
    def group_id(self) -> str:
        return _sqs_id(f"{self.tenant_id}:{self.entity_id}")

    @property
    def dedup_id(self) -> str:
        return _sqs_id(f"{self.source}:{self.event_id}")


def _sqs_id(value: str) -> str:
    """SQS ids allow 128 chars; longer values are hashed so the id stays deterministic."""
    return value if len(value) <= _SQS_ID_MAX else hashlib.sha256(value.encode()).hexdigest()


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
            MessageDeduplicationId=_sqs_id(f"poison:{message_id}"),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason},
                "error": {"DataType": "String", "StringValue": error[:1000]},
            },
        )
