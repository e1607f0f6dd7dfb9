"""Flows 2 and 3 and the reconciliation through the devstack, counted with the Wix sandbox's per-route `calls`.

- Wix API calls per imported POS order: the first import of a tenant (token, Locations, Operations looked up) and
  the following ones (lookups cached), and per status change of an online order.
- Reconciliation pass time per 1,000 orders (search both sides, check against the tables, decide): 1,000 POS
  orders whose webhooks were lost, 1,000 Wix orders whose webhooks were lost, and 1,000 POS orders already in step,
  with the reconciler's own adapters against the sandboxes and moto; the work queue is counted, not timed (below).
- What the queued work then costs: imports per minute for one site through the worker. 30 orders (90 Wix calls) fit
  one window of the bridge's own rate limit (180 Wix requests a minute per instance); sustained, 3 calls per import
  cap one site at 60 imports a minute, so healing 1,000 lost imports of one site takes at least 17 minutes.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.stack import quiet_devstack
from devstack.app import Devstack
from devstack.kitchen import Kitchen, wait_for
from posbridge.domain.order_sync import PosOrderSync
from posbridge.domain.pos_order import PosPosition
from posbridge.domain.work_message import WorkMessage
from posbridge.flows.reconcile import PassResult, reconcile_tenant
from posbridge.pos.registry import PosGateways
from posbridge.pos.square.order_snapshot import parse_time
from posbridge.secrets import TenantSecrets
from posbridge.store.order_sync import OrderSyncStore
from posbridge.store.reconcile_state import ReconcileState
from posbridge.store.tenants import TenantStore
from posbridge.wix.client import WixClients
from posbridge.wix.orders_api import WixOrders
from posbridge.wix.rate_limit import DynamoRateLimiter

IMPORTS = 10
ORDERS = 1000
DRAIN = 30
SOUP = {"name": "Soup", "quantity": "1", "base_price_money": {"amount": 650, "currency": "USD"}}
ONLINE = {"kind": "restaurant", "name": "Soup", "price": "6.50", "quantity": 1}


def _calls(kitchen: Kitchen) -> int:
    return sum(kitchen.wix_calls().values())


class CountingQueue:
    """Stands in for the work queue during a timed pass: moto's SQS costs O(queue length) per message, which says
    nothing about AWS (SendMessageBatch, 10 a call: about 100 calls per 1,000 orders)."""

    def __init__(self) -> None:
        self.count = 0

    def send_many(self, messages: Sequence[WorkMessage]) -> None:
        self.count += len(messages)


def _timed_pass(devstack: Devstack, kitchen: Kitchen) -> tuple[float, PassResult]:
    """One reconciliation pass of the tenant with the function's own adapters (sandboxes, moto tables)."""
    assert devstack.stack is not None
    stack_name, table = devstack.stack.stack_name, devstack.stack.output("MappingsTableName")
    tenant = TenantStore(table).get(kitchen.instance_id)
    assert tenant is not None
    clients = WixClients(
        devstack.wix_url,
        devstack.options.wix_app_id,
        f"posbridge/{stack_name}/wix-app-secret",
        DynamoRateLimiter(table),
    )
    pos = PosGateways({"square": devstack.pos_url}, TenantSecrets(f"posbridge/{stack_name}/tenants"))
    started = time.perf_counter()
    result = reconcile_tenant(
        tenant,
        WixOrders(clients.for_instance(kitchen.instance_id)),
        pos,
        OrderSyncStore(table),
        ReconcileState(table),
        CountingQueue(),
        datetime.now(UTC),
    )
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise RuntimeError(f"reconciliation failed: {result}")
    return elapsed, result


def _reconcile(devstack: Devstack, kitchen: Kitchen) -> tuple[float, dict[str, Any]]:
    assert devstack.stack is not None
    started = time.perf_counter()
    payload, error = devstack.stack.invoke("ReconcilerFunction", {"instanceId": kitchen.instance_id})
    elapsed = time.perf_counter() - started
    if error or not payload["ok"]:
        raise RuntimeError(f"reconciliation failed: {payload}")
    return elapsed, payload["tenants"][0]


def _calls_per_import(devstack: Devstack, http: httpx.Client) -> list[dict[str, object]]:
    kitchen = Kitchen.open(devstack, http, {"unmappedPosLines": "custom"})
    before = _calls(kitchen)
    first = kitchen.ring_up([SOUP])
    kitchen.wait_pos_order(first["id"], wixStatus="Pending")
    cold = _calls(kitchen) - before
    before = _calls(kitchen)
    for _ in range(IMPORTS):
        order = kitchen.ring_up([SOUP])
        kitchen.wait_pos_order(order["id"], wixStatus="Pending")
    warm = (_calls(kitchen) - before) / IMPORTS
    changes, calls = 0, 0
    for _ in range(3):
        wix_id = str(kitchen.checkout([ONLINE])["id"])
        pos = wait_for(functools.partial(kitchen.pos_order_for, wix_id))
        kitchen.wait_pos_order(pos["id"], wixStatus="Pending")
        for state, status in (("RESERVED", "Accepted"), ("PREPARED", "Ready"), ("COMPLETED", "Fulfilled")):
            before = _calls(kitchen)
            kitchen.move(pos["id"], state)
            kitchen.wait_pos_order(pos["id"], wixStatus=status)
            calls += _calls(kitchen) - before
            changes += 1
    return [
        _row("Wix calls per imported POS order, first of a site (token, Locations, Operations)", cold, "calls"),
        _row(f"Wix calls per imported POS order, lookups cached ({IMPORTS} orders)", round(warm, 2), "calls"),
        _row(
            f"Wix calls per POS status change ({changes} changes of online orders)", round(calls / changes, 2), "calls"
        ),
    ]


def _passes(devstack: Devstack, http: httpx.Client) -> list[dict[str, object]]:
    assert devstack.stack is not None
    table = devstack.stack.output("MappingsTableName")
    pos_site = Kitchen.open(devstack, http, {"unmappedPosLines": "custom"})
    wix_site = Kitchen.open(devstack, http)
    pos_site.square_webhooks(drop=ORDERS)
    pos_orders = [pos_site.ring_up([SOUP]) for _ in range(ORDERS)]
    pos_site.square_webhooks(drop=0)
    wix_site.wix_webhooks(drop=2 * ORDERS)
    for _ in range(ORDERS):
        wix_site.checkout([ONLINE])
    wix_site.wix_webhooks(drop=0)

    pos_missed, result = _timed_pass(devstack, pos_site)
    assert result.pos_queued == ORDERS, result
    wix_missed, result = _timed_pass(devstack, wix_site)
    assert result.wix_queued == ORDERS, result

    # The same POS orders in step with Wix (sync records as the worker writes them), cursors reset: all rescanned
    syncs = OrderSyncStore(table)
    for order in pos_orders:
        position = PosPosition(updated_at=parse_time(order["updated_at"]))
        sync = PosOrderSync(pos_order_id=order["id"], wix_order_id="w", position=position, wix_status="Pending")
        syncs.record(pos_site.instance_id, sync)
    devstack.stack.client("dynamodb").delete_item(
        TableName=table, Key={"PK": {"S": f"TENANT#{pos_site.instance_id}"}, "SK": {"S": "CURSOR#RECONCILE"}}
    )
    in_step, result = _timed_pass(devstack, pos_site)
    assert result.pos_queued == 0 and result.pos_seen >= ORDERS, result
    return [
        _row(
            f"reconciliation pass per {ORDERS} POS orders whose webhooks were lost (search, check, decide)",
            round(pos_missed, 2),
            "s",
        ),
        _row(f"reconciliation pass per {ORDERS} Wix orders whose webhooks were lost", round(wix_missed, 2), "s"),
        _row(f"reconciliation pass per {ORDERS} POS orders already in step (nothing to queue)", round(in_step, 2), "s"),
    ]


def _drain(devstack: Devstack, http: httpx.Client) -> list[dict[str, object]]:
    kitchen = Kitchen.open(devstack, http, {"unmappedPosLines": "custom"})
    warmup = kitchen.ring_up([SOUP])
    kitchen.wait_pos_order(warmup["id"], wixStatus="Pending")
    kitchen.square_webhooks(drop=DRAIN)
    missed = [kitchen.ring_up([SOUP]) for _ in range(DRAIN)]
    kitchen.square_webhooks(drop=0)
    started = time.perf_counter()
    _reconcile(devstack, kitchen)
    for order in missed:
        kitchen.wait_pos_order(order["id"], timeout_s=180, wixStatus="Pending")
    elapsed = time.perf_counter() - started
    return [
        _row(
            f"missed POS orders imported per minute after a pass ({DRAIN} orders: one 180-call rate window)",
            round(DRAIN / elapsed * 60, 1),
            "/min",
        ),
    ]


def rows() -> list[dict[str, object]]:
    with quiet_devstack(60) as (devstack, http):
        return _calls_per_import(devstack, http) + _passes(devstack, http) + _drain(devstack, http)


def _row(metric: str, value: float, unit: str) -> dict[str, object]:
    return {"metric": metric, "value": value, "unit": unit, "ratio": None}
