"""A restaurant per test, connected through the admin API to its own Square sandbox merchant."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from devstack import demo
from devstack.app import Devstack
from devstack.kitchen import Kitchen
from tests.table_access import Call, dynamodb_calls_recorded

T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], timeout_s: float = 20.0, interval_s: float = 0.1) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


@dataclass
class Restaurant:
    devstack: Devstack
    instance_id: str
    merchant_id: str
    http: httpx.Client

    def checkout(self, lines: list[dict[str, Any]], approve: bool = True, **extra: Any) -> dict[str, Any]:
        body = {
            "lines": lines,
            "buyer": {"firstName": "Grace", "lastName": "Test", "email": "grace@example.com", "phone": "+15555550111"},
            "approve": approve,
            **extra,
        }
        response = self.http.post(f"{self.devstack.wix_url}/_sandbox/instances/{self.instance_id}/checkout", json=body)
        response.raise_for_status()
        return dict(response.json())

    def pos_orders(self, wix_order_id: str) -> list[dict[str, Any]]:
        state = self.http.get(f"{self.devstack.pos_url}/_sandbox/merchants/{self.merchant_id}/state").json()
        return [o for o in state["orders"] if o.get("reference_id") == wix_order_id]

    def mapping(self, wix_order_id: str) -> dict[str, Any] | None:
        url = f"{self.devstack.gateway_url}/admin/tenants/{self.instance_id}/orders/{wix_order_id}"
        response = self.http.get(url)
        return dict(response.json()) if response.status_code == 200 else None

    def wait_mapping(self, wix_order_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
        return wait_for(lambda: self.mapping(wix_order_id), timeout_s)

    def pos_fault(self, **fault: Any) -> None:
        self.http.post(f"{self.devstack.pos_url}/_sandbox/faults", json=fault).raise_for_status()

    def parked(self) -> list[dict[str, Any]]:
        """This tenant's messages in the DLQ: browse the whole queue (hide, read, make visible again)."""
        assert self.devstack.stack is not None
        sqs = self.devstack.stack.client("sqs")
        queue_url = self.devstack.stack.output("WorkDeadLetterQueueUrl")
        seen: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
        ).get("Messages", []):
            seen += batch
        for message in seen:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [m for m in seen if json.loads(m["Body"]).get("tenant_id") == self.instance_id]


@pytest.fixture
def restaurant(devstack: Devstack) -> Iterator[Restaurant]:
    suffix = uuid.uuid4().hex[:10]
    http = httpx.Client(timeout=30)
    instance_id, merchant_id, token = f"inst-{suffix}", f"M{suffix.upper()}", f"tok-{suffix}"
    Kitchen(devstack, instance_id, merchant_id, f"L{suffix.upper()}", token, f"sig-{suffix}", http).set_up()
    yield Restaurant(devstack, instance_id, merchant_id, http)
    http.delete(f"{devstack.pos_url}/_sandbox/faults")  # a fault a test left unused must not hit the next one
    http.post(f"{devstack.wix_url}/_sandbox/webhooks/delivery", json={"duplicate": 1})


@dataclass(frozen=True)
class DemoRun:
    ok: bool
    output: str  # every log line and everything printed meanwhile
    dynamodb_calls: frozenset[Call]  # each DynamoDB call a function made, as the IAM action it is authorized as


@pytest.fixture(scope="session")
def demo_run(devstack: Devstack) -> DemoRun:
    """The whole demo on the session's devstack, run once: a second run would find the menu its first run changed.
    Shared by the tests that judge what it logs and which tables it touches."""
    buffer = io.StringIO()
    with (
        _log_handlers_into(buffer),
        redirect_stdout(buffer),
        redirect_stderr(buffer),
        dynamodb_calls_recorded(devstack) as calls,
    ):
        ok = demo.Demo(devstack).run()
    return DemoRun(ok, buffer.getvalue(), frozenset(calls))


@contextmanager
def _log_handlers_into(buffer: io.StringIO) -> Iterator[None]:
    """Point every existing log handler at `buffer`: loggers made before hold the stdout of their time."""
    handlers = {
        h
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
        for h in logger.handlers
    } | set(logging.getLogger().handlers)
    streams = [(h, h.setStream(buffer)) for h in handlers if type(h) is logging.StreamHandler]
    try:
        yield
    finally:
        for handler, stream in streams:
            if stream is not None:
                handler.setStream(stream)


def all_tenants(devstack: Devstack) -> list[dict[str, Any]]:
    """Every page of GET /admin/tenants (the session's devstack holds more tenants than one page)."""
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = httpx.get(devstack.gateway_url + "/admin/tenants", params=params, timeout=30).json()
        rows += page["tenants"]
        if not page["nextToken"]:
            return rows
        params["nextToken"] = page["nextToken"]
