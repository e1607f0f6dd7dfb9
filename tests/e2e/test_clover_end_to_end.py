"""A Clover restaurant end to end over the devstack, beside the Square ones: the same functions, the provider chosen by
the tenant's registration (devstack/demo_clover.py plays the scenarios; here each is checked, plus a Wix cancel)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from devstack.app import Devstack
from devstack.demo import Demo
from devstack.demo_clover import CloverRestaurant
from tests.e2e.conftest import wait_for


@pytest.fixture
def clover(devstack: Devstack) -> CloverRestaurant:
    # Given a Wix site connected to a Clover merchant of its own (its token pair, the app's Clover Auth Code)
    restaurant = CloverRestaurant(Demo(devstack), instance_id=f"e2e-clover-{uuid.uuid4().hex[:12]}")
    restaurant.clover_restaurant_connected()
    return restaurant


def _rows(restaurant: CloverRestaurant) -> dict[str, tuple[str, bool]]:
    return {row.scenario: (row.result, row.ok) for row in restaurant.demo.rows}


def test_a_clover_restaurant_runs_every_flow_beside_square(clover: CloverRestaurant) -> None:
    # When an online order is paid on Wix, the inventory imported, a cashier rings up an order of it, and the online
    # order's payment is refunded at the till
    clover.wix_order_paid_on_clover()
    clover.clover_inventory_imported()
    clover.clover_cashier_order_in_wix()
    clover.clover_till_refund_cancels_wix_order()
    # Then each step did what it says, as the demo's rows check: paid on Clover's POS screen to the cent of Wix, the
    # menu on Wix through the draft publish, the cashier's order in Wix, the Wix order canceled
    rows = _rows(clover)
    assert all(ok for _, ok in rows.values()), rows
    # And the Clover order is the bridge's (its POS screen shows the money Wix took, tip included, as one payment)
    screen = [o for o in clover._screen() if o["id"] == clover.exported["pos_id"]]
    assert len(screen) == 1 and len(screen[0]["payments"]) == 1


def test_a_wix_cancel_deletes_the_clover_order_and_leaves_the_refund_to_an_operator(clover: CloverRestaurant) -> None:
    # Given an online order exported and paid on Clover
    clover.wix_order_paid_on_clover()
    wix_id, pos_id = clover.exported["wix_id"], clover.exported["pos_id"]
    devstack = clover.demo.devstack
    http: httpx.Client = clover.demo.http
    opts = devstack.options
    token = http.post(
        f"{devstack.wix_url}/oauth2/token",
        json={"grant_type": "client_credentials", "client_id": opts.wix_app_id,
              "client_secret": opts.wix_app_secret, "instance_id": clover.instance_id},
    ).json()["access_token"]  # fmt: skip
    # When the restaurant cancels it on Wix
    http.post(
        f"{devstack.wix_url}/ecom/v1/orders/{wix_id}/cancel",
        headers={"Authorization": f"Bearer {token}"},
        json={"sendOrderCanceledEmail": False},
    ).raise_for_status()
    # Then the Clover order is deleted (Clover's one documented way off the Orders app), nothing is parked, and the
    # order's mapping keeps what Clover shows refunded (nothing: its REST API cannot refund an external payment)
    wait_for(lambda: not [o for o in clover._screen() if o["id"] == pos_id])
    state = clover._control("GET", f"/merchants/{clover.merchant_id}/state")
    assert [o["id"] for o in state["deletedOrders"]] == [pos_id]
    mapping: dict[str, Any] = wait_for(lambda: _with_refund(clover, wix_id))
    assert mapping["posRefundedMinor"] == 0 and mapping.get("posRefundId") is None
    assert _parked(devstack, clover.instance_id) == []


def _with_refund(clover: CloverRestaurant, wix_id: str) -> dict[str, Any] | None:
    found = clover._admin(f"/orders/{wix_id}")
    return found if found and found.get("posRefundedMinor") is not None else None


def _parked(devstack: Devstack, instance_id: str) -> list[dict[str, Any]]:
    assert devstack.stack is not None
    sqs = devstack.stack.client("sqs")
    queue_url = devstack.stack.output("WorkDeadLetterQueueUrl")
    seen = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [m for m in seen if json.loads(m["Body"]).get("tenant_id") == instance_id]
