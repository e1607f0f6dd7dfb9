"""Time budgets through the real path (issue 13): Square down -> the deployed order worker sends the message back to
the moto FIFO queue with the outage's backoff (ChangeMessageVisibility), the devstack's poller honours it as Lambda
does, nothing reaches the DLQ, and the order is exported once Square is back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from moto.sqs.models import Message, sqs_backends

from devstack.app import Devstack
from devstack.pollers import SqsPoller
from posbridge.work_batch import backoff_s
from tests.e2e.conftest import Restaurant, wait_for

SOUP = {"kind": "restaurant", "name": "Minestrone", "price": "7.25", "quantity": 1}


@pytest.fixture
def aws_timing(devstack: Devstack) -> Iterator[SqsPoller]:
    """The work queue's poller with AWS's timing: a delay the worker sets is honoured as set, not scaled."""
    assert devstack.stack is not None
    queue_name = devstack.stack.output("WorkQueueUrl").rsplit("/", 1)[1]
    [poller] = [p for p in devstack.stack.pollers if p.mapping.queue_arn.endswith(f":{queue_name}")]
    scale, poller.visibility_scale = poller.visibility_scale, 1.0
    yield poller
    poller.visibility_scale = scale


def _in_queue(devstack: Devstack, poller: SqsPoller, tenant_id: str) -> list[Message]:
    _, _, _, region, account, name = poller.mapping.queue_arn.split(":")
    queue = sqs_backends[account][region].queues[name]
    return [m for m in list(queue._messages) if json.loads(m.body).get("tenant_id") == tenant_id]


def test_a_partner_outage_sends_the_order_back_with_its_backoff_and_it_is_exported_when_square_returns(
    restaurant: Restaurant, aws_timing: SqsPoller
) -> None:
    # Given Square answering 503 to every order creation, and the poller at AWS timing
    restaurant.pos_fault(path="/v2/orders", method="POST", status=503, times=1000)
    # When an order comes in
    placed = restaurant.checkout([SOUP])
    devstack = restaurant.devstack

    # Then after one receive the worker sends its message back for the first backoff step (30 s), not the queue's
    # 180 s, nor at once
    def sent_back() -> Message | None:
        for message in _in_queue(devstack, aws_timing, restaurant.instance_id):
            left_s = message.visible_at / 1000 - time.time()
            if 5 < left_s <= backoff_s(1):
                return message
        return None

    message = wait_for(sent_back, timeout_s=30)
    receives = message.approximate_receive_count
    # And the poller leaves it there: it is not received again while its delay runs, and nothing is parked
    time.sleep(2)
    assert message.approximate_receive_count == receives
    assert restaurant.parked() == [] and restaurant.mapping(placed["order"]["id"]) is None
    # When Square is back and the delay has run out (here: cut short, instead of waiting 30 s)
    restaurant.http.delete(f"{devstack.pos_url}/_sandbox/faults").raise_for_status()
    message.change_visibility(0)
    # Then the order is exported, once
    restaurant.wait_mapping(placed["order"]["id"], timeout_s=30)
    assert len(restaurant.pos_orders(placed["order"]["id"])) == 1
    assert restaurant.parked() == []
