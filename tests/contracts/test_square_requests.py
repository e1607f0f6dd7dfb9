"""Every request the Square adapter sends, checked against the official Square SDK (squareup 46.0.0.20260916).

The adapter (posbridge/pos/square) is driven through every code path that calls Square, against the Square sandbox
in-process, and each request it put on the wire is then:
- walked against the SDK's request types (the client method's keyword parameters, typed with `square.requests.*`
  TypedDicts): no field the SDK does not have, at any depth; JSON types, enums and required fields as the SDK says;
- replayed through the SDK's own client method with the same arguments: the SDK must send the identical method, path
  and JSON body (so the adapter's paths and body layout are the SDK's), and the adapter's Square-Version must be the
  API version the SDK's types describe.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack.square_sandbox import SquareSandbox, sdk_schema
from tests.contracts.square_types import (
    ADAPTER_ROUTES,
    SANDBOX_URL,
    Exchange,
    SandboxSeller,
    check_body,
    drive_the_adapter,
    route_of,
    sdk_request,
)

pytestmark = pytest.mark.contracts


@pytest.fixture(scope="module")
def adapter_exchanges() -> Iterator[list[Exchange]]:
    seller = SandboxSeller()
    with pytest.MonkeyPatch.context() as monkeypatch:
        drive_the_adapter(seller, monkeypatch)
    yield list(seller.exchanges)
    seller.close()


def test_the_drive_reaches_every_square_endpoint_the_adapter_calls(adapter_exchanges: list[Exchange]) -> None:
    # Given every request the adapter sent while driven through its Square code paths
    # Then they cover exactly the endpoints the adapter calls, and the sandbox answered each one with success
    assert {e.route for e in adapter_exchanges} == ADAPTER_ROUTES
    assert [(e.route, e.answer) for e in adapter_exchanges if e.status != 200] == []
    # And pagination was exercised: a request carried a cursor for both searches
    assert {e.route for e in adapter_exchanges if (e.body or {}).get("cursor")} == {
        "POST /v2/orders/search",
        "POST /v2/catalog/search",
    }


@pytest.mark.parametrize("route", sorted(ADAPTER_ROUTES))
def test_each_request_body_fits_the_sdk_request_type_strictly(route: str, adapter_exchanges: list[Exchange]) -> None:
    # Given every body the adapter sent to this endpoint
    sent = [e for e in adapter_exchanges if e.route == route]
    assert sent
    for exchange in sent:
        # When it is walked against the SDK's request types (unknown fields rejected at every depth)
        # Then nothing is outside them
        assert check_body(route, exchange.body or {}) == [], exchange.body


@pytest.mark.parametrize("route", sorted(ADAPTER_ROUTES))
def test_the_sdk_sends_the_identical_request_for_the_same_arguments(
    route: str, adapter_exchanges: list[Exchange]
) -> None:
    for exchange in (e for e in adapter_exchanges if e.route == route):
        # Given the adapter's request; When the SDK's own client method is called with its body as arguments
        _, params = route_of(exchange.method, exchange.path)
        official = sdk_request(route, params, dict(exchange.body or {}))
        # Then the SDK puts the same method, path and JSON on the wire
        assert (official.method, official.path) == (exchange.method, exchange.path)
        assert official.body == exchange.body
        # And the adapter speaks the API version the SDK's types describe
        assert exchange.headers["square-version"] == official.headers["square-version"]
        assert exchange.headers["authorization"].startswith("Bearer ")
        assert exchange.headers.get("content-type", "application/json").startswith(
            official.headers.get("content-type", "application/json")
        )


def test_the_strict_walk_rejects_what_the_sdk_types_do_not_have() -> None:
    # Given an order body with a misspelt nested field, a number where Square wants a decimal string, a fulfillment
    # state the enum does not list, and a body field CreateOrder does not take
    body: dict[str, Any] = {
        "idempotency_key": "k",
        "order": {
            "location_id": "L1",
            "line_items": [{"name": "Soda", "quantity": 1, "base_price_money": {"amount": 199, "currency": "USD"}}],
            "fulfillments": [
                {
                    "type": "PICKUP",
                    "state": "READY",
                    "pickup_details": {"recipient": {"display_name": "Ada", "emial_address": "a@b.c"}},
                }
            ],
        },
        "location_id": "L1",
    }
    # When it is walked
    found = {(v.field, v.code) for v in check_body("POST /v2/orders", body)}
    # Then each one is named, with the code Square uses for it
    assert found == {
        ("order.line_items[0].quantity", "EXPECTED_STRING"),
        ("order.fulfillments[0].state", "INVALID_ENUM_VALUE"),
        ("order.fulfillments[0].pickup_details.recipient.emial_address", "BAD_REQUEST"),
        ("location_id", "BAD_REQUEST"),
    }


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("POST /v2/orders", {"idempotency_key": "k", "order": {"location_id": "L", "bogus": 1}}, "order.bogus"),
        (
            "POST /v2/customers/search",
            {"query": {"filter": {"email_address": {"exact": "a@b.c", "fuzzy_match": "x"}}}},
            "query.filter.email_address.fuzzy_match",
        ),
        ("POST /v2/catalog/search", {"object_types": ["ITEM"], "page_size": 5}, "page_size"),
        ("POST /v2/catalog/batch-retrieve", {"object_ids": ["X"], "related": True}, "related"),
    ],
)
def test_the_sandbox_rejects_request_fields_the_sdk_types_do_not_have(
    route: str, body: dict[str, Any], field: str
) -> None:
    # Given the Square sandbox and a request with a field the official types do not have
    seller = SandboxSeller()
    method, path = route.split(" ", 1)
    # When it is sent
    answer = seller.http.request(
        method, f"{SANDBOX_URL}{path}", json=body, headers={"Authorization": f"Bearer {seller.token}"}
    )
    # Then Square's 400 names the field, in Square's error shape
    assert answer.status_code == 400, answer.text
    assert answer.json() == {
        "errors": [
            {
                "category": "INVALID_REQUEST_ERROR",
                "code": "BAD_REQUEST",
                "detail": f"Unrecognized field `{field}`.",
                "field": field,
            }
        ]
    }
    # And nothing was written
    state = seller.state()
    assert state["orders"] == [] and state["customers"] == []
    seller.close()


def test_the_walk_uses_the_wire_names_and_the_enums_of_the_sdk() -> None:
    # Given customer addresses: the SDK's Python key `address_line1` goes on the wire as `address_line_1`
    def create(address: dict[str, Any]) -> set[tuple[str, str]]:
        body = {"idempotency_key": "k", "given_name": "Ada", "address": address}
        return {(v.field, v.code) for v in check_body("POST /v2/customers", body)}

    # Then the wire name passes, the Python name is unknown, and a country outside the SDK's Country enum is refused
    assert create({"address_line_1": "1 Main St", "locality": "NYC", "country": "US"}) == set()
    assert create({"address_line1": "1 Main St"}) == {("address.address_line1", "BAD_REQUEST")}
    assert create({"address_line_1": "1 Main St", "country": "USA"}) == {("address.country", "INVALID_ENUM_VALUE")}


def test_the_sandbox_refuses_to_serve_a_route_the_sdk_does_not_have(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an SDK that (say) had no CreateOrder endpoint
    without = {route: at for route, at in sdk_schema.SDK_ROUTES.items() if route != "POST /v2/orders"}
    monkeypatch.setattr(sdk_schema, "SDK_ROUTES", without)
    # When the sandbox starts, Then it refuses, naming the route
    with pytest.raises(RuntimeError, match=r"POST /v2/orders"):
        SquareSandbox()
