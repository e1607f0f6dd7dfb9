"""Chaos in the sandboxes (devstack/faults.py, devstack/webhooks.py): what `make soak` relies on to be true."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from devstack.faults import Chaos
from devstack.httpserver import BackgroundServer
from devstack.square_sandbox import SquareSandbox
from devstack.webhooks import DeliveryPlan, WebhookDispatcher

TOKEN = "chaos-token"


@pytest.fixture
def square() -> Iterator[tuple[httpx.Client, SquareSandbox]]:
    sandbox = SquareSandbox()
    sandbox.add_merchant("MCHAOS", "LCHAOS", TOKEN, "sig", None)
    with BackgroundServer(sandbox.wsgi_app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        yield http, sandbox


def _create_customer(http: httpx.Client, name: str) -> httpx.Response:
    return http.post(
        "/v2/customers",
        json={"idempotency_key": uuid.uuid4().hex, "given_name": name},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


def _customers(http: httpx.Client) -> list[str]:
    state = http.get("/_sandbox/merchants/MCHAOS/state").json()
    return [c.get("given_name") for c in state["customers"]]


def test_processed_then_500_applies_the_request_and_loses_the_answer(
    square: tuple[httpx.Client, SquareSandbox],
) -> None:
    # Given chaos that answers every API request "processed, then 500"
    http, _ = square
    http.post("/_sandbox/chaos", json={"rate": 1, "kinds": ["processed_then_500"]}).raise_for_status()
    # When the bridge creates a customer
    answer = _create_customer(http, "Ada")
    # Then it sees a 500 in Square's error format, yet the customer exists on the POS
    assert answer.status_code == 500
    assert answer.json()["errors"][0]["category"] == "API_ERROR"
    assert _customers(http) == ["Ada"]
    assert http.get("/_sandbox/chaos").json()["applied"] == {"processed_then_500": 1}


def test_a_timeout_closes_the_connection_without_an_answer(square: tuple[httpx.Client, SquareSandbox]) -> None:
    # Given chaos that lets every API request time out (processed or not: a seeded coin toss)
    http, _ = square
    http.post("/_sandbox/chaos", json={"rate": 1, "kinds": ["timeout"], "timeoutMs": 0, "seed": 3}).raise_for_status()
    # When the bridge creates customers
    for n in range(8):
        # Then each call ends in a transport error, as a read timeout does, never in an HTTP answer
        with pytest.raises(httpx.TransportError):
            _create_customer(http, f"Guest {n}")
    # And exactly the requests chaos says it processed exist on the POS
    applied = http.get("/_sandbox/chaos").json()["applied"]
    assert applied["timeout"] == 8
    assert len(_customers(http)) == applied.get("timeout_processed", 0)
    assert 0 < len(_customers(http)) < 8


def test_throttled_and_server_errors_are_refused_unprocessed(square: tuple[httpx.Client, SquareSandbox]) -> None:
    # Given chaos answering 429 or 503 to every API request, and never to the control API
    http, _ = square
    http.post("/_sandbox/chaos", json={"rate": 1, "kinds": ["throttled", "server_error"]}).raise_for_status()
    # When the bridge creates customers
    statuses = {_create_customer(http, f"Guest {n}").status_code for n in range(20)}
    # Then it gets both answers and nothing was created
    assert statuses == {429, 503}
    assert _customers(http) == []


def test_chaos_fails_its_share_of_requests_and_is_seeded() -> None:
    # Given two chaos settings with one seed
    first, second = Chaos(rate=0.2, seed=13), Chaos(rate=0.2, seed=13)
    # When each decides on 5,000 requests
    picks = [first.pick("/v2/orders") for _ in range(5000)]
    # Then they decide alike, fail about 20%, with every kind of fault
    assert picks == [second.pick("/v2/orders") for _ in range(5000)]
    kinds = Counter(p[0] for p in picks if p is not None)
    assert 0.18 < sum(kinds.values()) / 5000 < 0.22
    assert set(kinds) == {"throttled", "server_error", "timeout", "processed_then_500"}


def test_chaos_refuses_unknown_kinds_and_rates() -> None:
    with pytest.raises(ValueError, match="unknown chaos kinds"):
        Chaos.from_json({"rate": 0.1, "kinds": ["meteor"]})
    with pytest.raises(ValueError, match="rate"):
        Chaos.from_json({"rate": 2})


class _Receiver:
    def __init__(self) -> None:
        self.event_ids: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            self.event_ids.append(Request(environ).get_data().decode())
        return Response("", status=200)(environ, start_response)


def test_webhook_chaos_drops_delays_and_duplicates_its_shares() -> None:
    # Given a dispatcher losing 5% of webhooks, delivering 5% after the next one and 10% twice
    receiver = _Receiver()
    dispatcher = WebhookDispatcher()
    plan = DeliveryPlan.from_json({"dropRate": 0.05, "reorderRate": 0.05, "duplicateRate": 0.1, "seed": 5})
    dispatcher.configure(plan)
    sent = [str(n) for n in range(400)]
    with BackgroundServer(receiver) as server:
        # When 400 webhooks are sent in order, and what came late is flushed at the end
        for event_id in sent:
            dispatcher.send(server.url, event_id, event_id.encode(), {})
        dispatcher.flush_late()
    # Then the dropped ones never arrive, the duplicated twice, the reordered after a later one
    counts = Counter(receiver.event_ids)
    fates = dispatcher.chaos_counts
    assert sum(1 for e in sent if counts[e] == 0) == fates["drop"]
    assert sum(1 for e in sent if counts[e] == 2) == fates["duplicate"]
    late, newest = 0, -1
    for event_id in dict.fromkeys(receiver.event_ids):  # first arrivals, in order
        late += int(int(event_id) < newest)
        newest = max(newest, int(event_id))
    assert late == fates["reorder"]
    assert 10 <= fates["drop"] <= 30 and 10 <= fates["reorder"] <= 30 and 25 <= fates["duplicate"] <= 55
