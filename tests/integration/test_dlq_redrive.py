"""Redrive against FIFO queues in moto, which blocks a group while one of its messages is in flight, as SQS does: a
group with more parked messages than one receive returns is redriven whole, in order, and a group stops at its first
message that stays (moving later ones would reorder it)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from devstack.app import Devstack
from posbridge.dlq import DeadLetterQueue


@pytest.fixture
def queues(devstack: Devstack) -> tuple[Any, str, str]:
    sqs = boto3.client("sqs")
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    name = uuid.uuid4().hex[:12]
    dlq = sqs.create_queue(QueueName=f"dlq-{name}.fifo", Attributes=fifo)["QueueUrl"]
    work = sqs.create_queue(QueueName=f"work-{name}.fifo", Attributes=fifo)["QueueUrl"]
    return sqs, dlq, work


def _park(sqs: Any, dlq: str, group: str, n: int, reason: str) -> None:
    body = {"tenant_id": "inst-a", "event_id": f"{group}-{n}", "entity_id": group, "n": n}
    sqs.send_message(
        QueueUrl=dlq, MessageBody=json.dumps(body), MessageGroupId=group, MessageDeduplicationId=f"{group}-{n}",
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}},
    )  # fmt: skip


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_a_group_longer_than_one_receive_is_redriven_whole_and_in_order(queues: tuple[Any, str, str]) -> None:
    sqs, dlq, work = queues
    # Given one order's 13 parked events (one FIFO group: a receive returns at most 10, then the group is in flight)
    for n in range(13):
        _park(sqs, dlq, "inst-a:ORDER-1", n, "pos_unavailable")
    # When the operator redrives the tenant's messages
    moved = DeadLetterQueue(dlq, work).redrive(tenant_id="inst-a")
    # Then all 13 are back on the work queue in their order, and the DLQ is empty
    assert len(moved) == 13
    assert [b["n"] for b in _drain(sqs, work)] == list(range(13))
    assert _drain(sqs, dlq) == []


def test_a_group_stops_at_its_first_message_that_stays(queues: tuple[Any, str, str]) -> None:
    sqs, dlq, work = queues
    # Given a group whose second message has another reason than the rest
    for n, reason in enumerate(["pos_unavailable", "invalid_order", "pos_unavailable"]):
        _park(sqs, dlq, "inst-a:ORDER-2", n, reason)
    # When only pos_unavailable messages are redriven
    DeadLetterQueue(dlq, work).redrive(reason="pos_unavailable")
    # Then the first moves; the third stays behind the second, so the group keeps its order
    assert [b["n"] for b in _drain(sqs, work)] == [0]
    assert [b["n"] for b in _drain(sqs, dlq)] == [1, 2]


def test_a_redrive_waits_for_messages_a_concurrent_listing_holds(queues: tuple[Any, str, str]) -> None:
    sqs, dlq, work = queues
    # Given a parked message another browse (the restaurant's page polling the DLQ) holds hidden for a moment
    _park(sqs, dlq, "inst-a:ORDER-3", 0, "tenant_paused")
    (held,) = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=2)["Messages"]
    # When the owner retries meanwhile
    moved = DeadLetterQueue(dlq, work).redrive(tenant_id="inst-a")
    # Then the redrive waited for it and moved it, instead of answering that nothing was there
    assert [p.message_id for p in moved] == [held["MessageId"]]
    assert [b["n"] for b in _drain(sqs, work)] == [0]
