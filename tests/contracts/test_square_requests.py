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
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from posbridge.domain.money import Money
from posbridge.domain.order import Buyer, Fulfillment, LineItem, Modifier, Order
from posbridge.pos.square import SquarePos
from posbridge.pos.square import catalog as square_catalog
from posbridge.pos.square.catalog import LayoutOptions, SquareCatalogSource
from posbridge.pos.square.client import SquareClient
from tests.contracts.square_types import SANDBOX_URL, Exchange, SandboxSeller, check_body, route_of, sdk_request

pytestmark = pytest.mark.contracts

# Every Square endpoint the adapter calls (grep "/v2/" in layers/posbridge/posbridge/pos/square): the drive below must
# reach each one, so a new call in the adapter without a contract here fails this suite.
ADAPTER_ROUTES = {
    "POST /v2/customers/search",
    "POST /v2/customers",
    "POST /v2/orders",
    "GET /v2/orders/{order_id}",
    "POST /v2/orders/search",
    "POST /v2/catalog/search",
    "POST /v2/catalog/batch-retrieve",
}


def _usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def _order(order_id: str, fulfillment: Fulfillment | None, buyer: Buyer) -> Order:
    return Order(
        id=order_id,
        number="10042",
        status="APPROVED",
        currency="USD",
        line_items=(
            LineItem(
                id=f"{order_id[:20]}-burger",
                name="Burger",
                quantity=2,
                unit_price=_usd("12.50"),
                variant_name="Large",
                note="no onions",
                modifiers=(Modifier(name="Extra cheese", quantity=2, price=_usd("0.75")), Modifier(name="Pickles")),
            ),
            LineItem(id=f"{order_id[:20]}-soda", name="Soda", quantity=1, unit_price=_usd("1.99")),
        ),
        buyer=buyer,
        buyer_note="Ring the bell",
        fulfillment=fulfillment,
    )


def _drive_the_adapter(seller: SandboxSeller, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every adapter code path that calls Square, with pages small enough that cursors are followed."""
    monkeypatch.setattr(square_catalog, "SEARCH_LIMIT", 3)
    monkeypatch.setattr("posbridge.pos.square.SEARCH_PAGE", 1)
    client = SquareClient(SANDBOX_URL, seller.token, http=seller.http, max_attempts=1)
    pos = SquarePos(client, seller.location_id)
    ada = Buyer(first_name="Ada", last_name="Lovelace", email="ada@example.com", phone="+1 (212) 555-0100")
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # Customers: searched by e-mail then phone, created, then found by e-mail the second time
    customer_id = pos.find_or_create_customer(ada, "wix-order-1:customer")
    assert customer_id is not None
    assert pos.find_or_create_customer(ada, "wix-order-2:customer") == customer_id
    phone_only = pos.find_or_create_customer(Buyer(first_name="Grace", phone="+12125550199"), "wix-order-3:customer")
    assert phone_only is not None and phone_only != customer_id

    # Orders: a scheduled pickup with a customer, an ASAP pickup without one, a delivery to an address
    created = [
        pos.create_order(
            _order(
                "wix-order-1", Fulfillment(type="PICKUP", promised_at=datetime(2030, 1, 1, 18, 30, tzinfo=UTC)), ada
            ),
            customer_id,
            "wix-order-1",
        ),
        pos.create_order(_order("wix-order-2", None, Buyer(first_name="Walk-in")), None, "wix-order-2"),
        pos.create_order(
            _order("wix-order-3", Fulfillment(type="DELIVERY", address="1 Main St", instructions="Gate B"), ada),
            customer_id,
            "wix-order-3",
        ),
    ]
    for placed in created:
        assert pos.order_snapshot(placed.id).id == placed.id
    cursor: str | None = None
    seen: list[str] = []
    while True:
        page = pos.orders_updated_since(started, cursor)
        seen += [summary.order_id for summary in page.orders]
        cursor = page.cursor
        if cursor is None:
            break
    assert set(seen) == {placed.id for placed in created}

    # Catalog: the whole catalog page by page, some items with their lists, and the changes since a time
    seller.seller("/seed-catalog")
    source = SquareCatalogSource(client, seller.location_id)
    whole = source.load_catalog(LayoutOptions())
    assert whole.items and whole.as_of
    items = sorted(whole.items)[:2]
    groups = sorted(whole.modifier_groups)[:1]
    assert set(source.load_items(items, groups, LayoutOptions()).items) == set(items)
    assert source.changes_since(None).count > 0
    assert source.changes_since(whole.as_of).count == 0


@pytest.fixture(scope="module")
def adapter_exchanges() -> Iterator[list[Exchange]]:
    seller = SandboxSeller()
    with pytest.MonkeyPatch.context() as monkeypatch:
        _drive_the_adapter(seller, monkeypatch)
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
