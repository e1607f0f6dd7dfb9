"""The order worker, run by the devstack's poller on the work queue, records what the reconciliation must know: an
order whose work it parked in the DLQ (the cursor may pass it; the redrive finishes it), and an order of a site with
no POS connected yet (kept as ids until the connection, never parked)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest

from devstack.app import Devstack
from posbridge.dlq import DeadLetterQueue
from posbridge.domain.events import ORDER_CREATED
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.domain.work_message import WorkMessage
from posbridge.messaging import WorkQueue
from posbridge.store.awaiting_pos import AwaitingPosOrders
from posbridge.store.order_sync import OrderSyncStore
from posbridge.store.tenants import TenantStore


def _wait_for(predicate: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def stack(devstack: Devstack) -> Any:
    assert devstack.stack is not None
    return devstack.stack


def wix_order_created(instance_id: str, order_id: str) -> WorkMessage:
    order = {"id": order_id, "status": "APPROVED", "updatedDate": "2026-03-01T12:00:00.000Z", "lineItems": []}
    return WorkMessage(
        source="wix",
        event_type=ORDER_CREATED,
        event_id=f"evt-{uuid.uuid4()}",
        tenant_id=instance_id,
        entity_id=order_id,
        payload={"id": "evt", "entityId": order_id, "createdEvent": {"entity": order}},
    )


def test_an_order_parked_in_the_dlq_is_known_to_the_reconciliation(stack: Any) -> None:
    # Given a paused tenant (its events are parked with reason tenant_paused, redriven after resuming)
    instance_id, order_id = f"inst-{uuid.uuid4().hex[:8]}", f"order-{uuid.uuid4()}"
    table = stack.output("MappingsTableName")
    TenantStore(table).put(
        Tenant(
            instance_id=instance_id,
            status="paused",
            pos=PosConnection(provider="square", merchant_id=f"M-{instance_id}", location_id="L-1"),
            settings=TenantSettings(),
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
        )
    )
    syncs = OrderSyncStore(table)
    assert syncs.known_wix_orders(instance_id, [order_id]) == set()

    # When one of its Wix orders reaches the worker
    WorkQueue(stack.output("WorkQueueUrl")).send(wix_order_created(instance_id, order_id))

    # Then it is parked in the DLQ, and the reconciliation knows the order's work is parked (so it does not hold its
    # cursor nor queue it again: the DLQ alarm and the redrive take it from there)
    _wait_for(lambda: syncs.known_wix_orders(instance_id, [order_id]) == {order_id})
    dlq = DeadLetterQueue(stack.output("WorkDeadLetterQueueUrl"), stack.output("WorkQueueUrl"))
    parked = _wait_for(lambda: dlq.find(tenant_id=instance_id))
    assert [p.reason for p in parked] == ["tenant_paused"]


def test_an_order_of_a_site_with_no_pos_connected_waits_as_ids_not_in_the_dlq(stack: Any) -> None:
    # Given a site that installed the app but never connected a POS, and one of its orders with buyer details
    instance_id, order_id = f"inst-{uuid.uuid4().hex[:8]}", f"order-{uuid.uuid4()}"
    message = wix_order_created(instance_id, order_id)
    entity = message.payload["createdEvent"]["entity"]
    entity["buyerInfo"] = {"email": "buyer@example.com", "contactId": "c-1"}
    waiting = AwaitingPosOrders(stack.output("MappingsTableName"))

    # When it reaches the worker
    WorkQueue(stack.output("WorkQueueUrl")).send(message)

    # Then it waits for the connection as its id and update time only (no buyer data) ...
    assert _wait_for(lambda: waiting.waiting(instance_id)) == {order_id: "2026-03-01T12:00:00.000Z"}
    item = (
        boto3.resource("dynamodb")
        .Table(stack.output("MappingsTableName"))
        .get_item(Key={"PK": f"TENANT#{instance_id}", "SK": f"AWAITPOS#WIX#{order_id}"})["Item"]
    )
    assert set(item) == {"PK", "SK", "since", "recorded_at", "expires_at"}
    # ... and nothing of it was parked in the DLQ (whose alarm it would trip)
    dlq = DeadLetterQueue(stack.output("WorkDeadLetterQueueUrl"), stack.output("WorkQueueUrl"))
    assert dlq.find(tenant_id=instance_id) == []
