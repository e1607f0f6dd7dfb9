"""DynamoRateLimiter against the mappings table deployed from template.yaml into moto, and the Wix client under the
Wix sandbox's rate limit: the bridge's share of Wix's 200 requests/minute/instance holds across functions.

Clocks and sleeps are injected: a "sleep" moves the test's clock, so waiting for the next minute costs nothing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from devstack.app import TEMPLATE, Devstack
from devstack.httpserver import BackgroundServer
from devstack.template import load_sam
from devstack.wix_sandbox import WixSandbox
from posbridge.config import WixApiSettings
from posbridge.errors import TransientError
from posbridge.wix.client import WixClient, WixClients
from posbridge.wix.rate_limit import DynamoRateLimiter, NoRateLimit, RateLimiter
from posbridge.wix.tokens import TokenCache
from tests.fake_time import FakeTime

LOCATIONS = "/locations/v1/locations"
MINUTE = 31_666_667  # an epoch minute (2030-03-18); tests add seconds to MINUTE * 60


@pytest.fixture(scope="module")
def table_name(devstack: Devstack) -> str:
    assert devstack.stack is not None
    return devstack.stack.output("MappingsTableName")


@pytest.fixture(scope="module")
def dynamodb(devstack: Devstack) -> Any:
    assert devstack.stack is not None
    return devstack.stack.client("dynamodb")


@pytest.fixture
def instance_id() -> str:
    """A fresh instance per test: the table is shared by the whole session."""
    return f"inst-{uuid.uuid4()}"


def _window(dynamodb: Any, table_name: str, instance_id: str, minute: int) -> dict[str, int] | None:
    item = dynamodb.get_item(
        TableName=table_name, Key={"PK": {"S": f"RATELIMIT#{instance_id}"}, "SK": {"S": str(minute)}},
        ConsistentRead=True,
    ).get("Item")  # fmt: skip
    return None if item is None else {"count": int(item["count"]["N"]), "expires_at": int(item["expires_at"]["N"])}


# --- DynamoRateLimiter on the real table ------------------------------------------------------------------------------


def test_the_acquire_past_the_limit_waits_for_the_next_window(table_name: str, dynamodb: Any, instance_id: str) -> None:
    # Given a limit of 3 a minute, 10 s into a minute
    time = FakeTime(MINUTE * 60 + 10)
    limiter = DynamoRateLimiter(table_name, limit_per_minute=3, sleep=time.sleep, clock=time.clock)
    # When the instance acquires 4 slots
    for _ in range(4):
        limiter.acquire(instance_id)
    # Then the first 3 went straight through, the 4th slept the 50 s to the next minute and took a slot there
    assert time.sleeps == [50.0]
    assert _window(dynamodb, table_name, instance_id, MINUTE) == {"count": 3, "expires_at": (MINUTE + 2) * 60}
    assert _window(dynamodb, table_name, instance_id, MINUTE + 1) == {"count": 1, "expires_at": (MINUTE + 3) * 60}


def test_two_functions_share_one_budget(table_name: str, devstack: Devstack, instance_id: str) -> None:
    # Given two limiters with their own DynamoDB clients (two Lambda functions) on one clock, limit 4
    assert devstack.stack is not None
    time = FakeTime(MINUTE * 60 + 30)
    first, second = (
        DynamoRateLimiter(table_name, 4, time.sleep, time.clock, dynamodb=devstack.stack.client("dynamodb"))
        for _ in range(2)
    )
    # When each takes 2 slots, then each asks for one more
    for limiter in (first, second, first, second):
        limiter.acquire(instance_id)
    assert time.sleeps == []
    first.acquire(instance_id)
    second.acquire(instance_id)
    # Then the 5th waited for the next window (the two share the budget), and the 6th fit in that new window
    assert time.sleeps == [30.0]


def test_concurrent_callers_never_exceed_the_limit(table_name: str, devstack: Devstack, instance_id: str) -> None:
    # Given two "functions" with six threads each racing for a window of 5 (a full window ends a thread)
    assert devstack.stack is not None

    class WindowFull(Exception):
        pass

    def full(_: float) -> None:
        raise WindowFull

    limiters = [
        DynamoRateLimiter(table_name, 5, full, lambda: MINUTE * 60 + 1.0, dynamodb=devstack.stack.client("dynamodb"))
        for _ in range(2)
    ]
    granted: list[int] = []

    def race(limiter: DynamoRateLimiter) -> None:
        try:
            limiter.acquire(instance_id)
            granted.append(1)
        except WindowFull:
            pass

    threads = [threading.Thread(target=race, args=(limiters[i % 2],)) for i in range(12)]
    # When they all acquire at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly 5 got a slot: the conditional ADD is atomic across clients
    assert len(granted) == 5


def test_a_wait_longer_than_max_wait_is_transient(table_name: str, instance_id: str) -> None:
    # Given a full window of 1 and a caller that may wait 30 s at most, 10 s into the minute
    time = FakeTime(MINUTE * 60 + 10)
    limiter = DynamoRateLimiter(table_name, 1, time.sleep, time.clock, max_wait_s=30)
    limiter.acquire(instance_id)
    # When it asks again (the next window is 50 s away)
    # Then it gives up at once: the message goes back to its queue instead of a Lambda sleeping past its timeout
    with pytest.raises(TransientError):
        limiter.acquire(instance_id)
    assert time.sleeps == []


def test_windows_expire_through_the_tables_ttl(table_name: str, dynamodb: Any, instance_id: str) -> None:
    # Given windows used in two minutes
    time = FakeTime(MINUTE * 60 + 59)
    limiter = DynamoRateLimiter(table_name, 1, time.sleep, time.clock)
    limiter.acquire(instance_id)
    limiter.acquire(instance_id)  # sleeps 1 s into the next window
    # When DynamoDB's TTL sweep runs two minutes later (moto does not apply TTL: the sweep is emulated here)
    sweep_at = (MINUTE + 3) * 60
    _sweep_expired(dynamodb, table_name, instance_id, sweep_at)
    # Then the template declares TTL on expires_at, both windows carried it, and both are gone
    table = load_sam(TEMPLATE)["Resources"]["MappingsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert _window(dynamodb, table_name, instance_id, MINUTE) is None
    assert _window(dynamodb, table_name, instance_id, MINUTE + 1) is None
    # And a new window starts from zero
    time.now = sweep_at + 5
    limiter.acquire(instance_id)
    assert _window(dynamodb, table_name, instance_id, MINUTE + 3) == {"count": 1, "expires_at": (MINUTE + 5) * 60}


def _sweep_expired(dynamodb: Any, table_name: str, instance_id: str, now: int) -> None:
    """What DynamoDB's TTL does (lazily, within days): delete items whose expires_at (epoch s) is in the past."""
    items = dynamodb.query(
        TableName=table_name, KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"RATELIMIT#{instance_id}"}},
    )["Items"]  # fmt: skip
    assert items and all(int(item["expires_at"]["N"]) <= now for item in items)
    for item in items:
        dynamodb.delete_item(TableName=table_name, Key={"PK": item["PK"], "SK": item["SK"]})


# --- The client under the Wix sandbox's rate limit --------------------------------------------------------------------

APP_ID = "rate-limit-app"
APP_SECRET = "rate-limit-secret"


@dataclass
class Wix:
    sandbox: WixSandbox
    url: str
    control: httpx.Client

    def now(self) -> float:
        return self.sandbox.clock.now().timestamp()

    def advance(self, seconds: float) -> None:
        self.sandbox.clock.advance(seconds)

    def rate_limited(self, instance_id: str) -> int:
        return int(self.control.get(f"/_sandbox/instances/{instance_id}/state").json()["rateLimited"])


@pytest.fixture(scope="module")
def wix() -> Iterator[Wix]:
    sandbox = WixSandbox(APP_ID, APP_SECRET)
    with BackgroundServer(sandbox.wsgi_app) as server, httpx.Client(base_url=server.url, timeout=5) as control:
        assert control.post("/_sandbox/rate-limit", json={"perMinute": 5}).status_code == 200
        yield Wix(sandbox, server.url, control)


def _client(wix: Wix, instance_id: str, limiter: RateLimiter, sleeps: list[float]) -> WixClient:
    wix.sandbox.add_instance(instance_id)
    # 1 s into a minute of the sandbox clock, so the first window is not cut short by the real clock
    wix.advance(61 - wix.now() % 60)
    return WixClient(
        wix.url, APP_ID, APP_SECRET, instance_id, tokens=TokenCache(), limiter=limiter, sleep=sleeps.append
    )


def test_the_limiter_keeps_the_client_under_wix_rate_limit(
    wix: Wix, table_name: str, dynamodb: Any, instance_id: str
) -> None:
    # Given Wix allows 5 requests a minute and the client's limiter, on Wix's clock, allows 5 too
    sleeps: list[float] = []

    def sleep_on_wix_clock(seconds: float) -> None:
        sleeps.append(seconds)
        wix.advance(seconds)

    limiter = DynamoRateLimiter(table_name, 5, sleep_on_wix_clock, wix.now)
    client = _client(wix, instance_id, limiter, [])
    # When it makes 17 calls (18 slots with the token mint)
    answers = [client.get(LOCATIONS) for _ in range(17)]
    # Then every call succeeded without a single 429: the limiter waited for 3 new windows instead
    assert all("locations" in answer for answer in answers)
    assert wix.rate_limited(instance_id) == 0
    assert len(sleeps) == 3 and all(0 < s <= 60 for s in sleeps)
    counts = [
        window["count"]
        for minute in range(int(wix.now() // 60) - 3, int(wix.now() // 60) + 1)
        if (window := _window(dynamodb, table_name, instance_id, minute)) is not None
    ]
    assert counts == [5, 5, 5, 3]


def test_without_a_limiter_the_same_client_is_throttled(wix: Wix, instance_id: str) -> None:
    # Given the same Wix limit and a client without a limiter (its backoff sleeps are no-ops)
    sleeps: list[float] = []
    client = _client(wix, instance_id, NoRateLimit(), sleeps)
    # When it makes 6 calls in one minute
    for _ in range(5):
        client.get(LOCATIONS)
    # Then the 6th is throttled on every attempt and ends as a TransientError after backing off
    with pytest.raises(TransientError):
        client.get(LOCATIONS)
    assert wix.rate_limited(instance_id) == 4 and len(sleeps) == 3


# --- The deployed stack: settings, secret and table wired by template.yaml -------------------------------------------


def test_wix_clients_from_a_functions_environment(devstack: Devstack, dynamodb: Any, table_name: str) -> None:
    # Given the environment template.yaml gives the order worker, and an instance installed on the Wix sandbox
    assert devstack.stack is not None and devstack.wix is not None
    variables = devstack.stack.client("lambda").get_function_configuration(
        FunctionName=devstack.stack.function_name("OrderWorkerFunction")
    )["Environment"]["Variables"]
    instance_id = f"inst-{uuid.uuid4()}"
    devstack.wix.add_instance(instance_id)
    # When clients are built from those settings and one calls Wix
    settings = WixApiSettings.from_env(variables)
    answer = WixClients.from_settings(settings).for_instance(instance_id).get(LOCATIONS)
    # Then the app secret came from the stack's secret (by name, not from the environment), the call worked,
    # and its slots (token mint + call) were counted in the stack's mappings table
    assert settings.wix_app_secret_name == "posbridge/posbridge/wix-app-secret"
    assert devstack.options.wix_app_secret not in variables.values()
    assert "locations" in answer
    minute = int(datetime.now().timestamp() // 60)
    windows = [_window(dynamodb, table_name, instance_id, m) for m in (minute - 1, minute)]
    assert sum(w["count"] for w in windows if w is not None) == 2
