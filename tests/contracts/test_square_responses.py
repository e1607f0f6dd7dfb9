"""Every answer and webhook the Square sandbox produces fits the official SDK's models (squareup 46.0.0.20260916).

The sandbox is driven through every endpoint it serves (successes, pages, and its errors) and through the seller's own
actions that fire webhooks; every answer is then walked strictly against the `square.types.*Response` model the SDK
parses that endpoint into, and every webhook body against the SDK's `*Event` model for its type: a field the model
does not have, a wrong JSON type, an enum value it does not list or a missing required field fails. (The SDK models
themselves accept anything: UncheckedBaseModel keeps unknown fields and Fern enums are `Union[Literal, Any]`.)
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from square.types.error_category import ErrorCategory
from square.types.error_code import ErrorCode

from devstack.square_sandbox import SquareSandbox
from devstack.square_sandbox import errors as sandbox_errors
from devstack.square_sandbox.sdk_schema import SDK_ROUTES, response_model
from posbridge.pos.square.notifications import CATALOG_EVENT_TYPES, SquareNotification, catalog_stamp
from posbridge.pos.square.order_snapshot import SUMMARY_KEYS, summary_from_event
from tests.contracts.square_types import (
    ADAPTER_ROUTES,
    EVENT_MODELS,
    SANDBOX_URL,
    Exchange,
    SandboxSeller,
    TrackedDict,
    check,
    drive_the_adapter,
    track_adapter_reads,
    unknown_paths,
)

pytestmark = pytest.mark.contracts


SANDBOX_ROUTES = SquareSandbox().api_routes
SAMPLES = Path(__file__).parents[2] / "events" / "square_webhook"
SANDBOX = Path(sandbox_errors.__file__).parent


class Api:
    """Square's /v2 API of one sandbox merchant, spoken directly (every call recorded by the seller's transport)."""

    def __init__(self, seller: SandboxSeller) -> None:
        self.seller = seller
        self.headers = {"Authorization": f"Bearer {seller.token}", "Square-Version": "2026-09-16"}

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None, **params: str) -> dict[str, Any]:
        answer = self.seller.http.request(
            method, f"{SANDBOX_URL}{path}", json=body, params=params or None, headers=self.headers
        )
        return dict(answer.json())


def _drive_the_sandbox(seller: SandboxSeller) -> None:
    """Every endpoint the sandbox serves (pages, writes, errors), and the seller's actions that fire webhooks."""
    api = Api(seller)
    api("GET", "/v2/locations")

    # Catalog: seeded as a seller would, then read every way, then written and deleted through the API
    seeded = {o["id"]: o for o in seller.seller("/seed-catalog")["objects"]}
    items = [o for o in seeded.values() if o["type"] == "ITEM"]
    variation = items[0]["item_data"]["variations"][0]
    seller.seller("/catalog/sold-out", {"variationId": variation["id"], "soldOut": True})
    seller.seller("/catalog/price", {"variationId": variation["id"], "amount": 725})
    seller.seller("/catalog/rename", {"objectId": items[1]["id"], "name": "Renamed"})
    seller.seller("/inventory", {"variationId": variation["id"], "quantity": "3"})
    first = api("GET", "/v2/catalog/list")
    api("GET", "/v2/catalog/list", types="ITEM_VARIATION,MODIFIER")
    if "cursor" in first:
        api("GET", "/v2/catalog/list", cursor=first["cursor"])
    page = api("POST", "/v2/catalog/search", {"object_types": ["ITEM", "CATEGORY", "MODIFIER_LIST"], "limit": 4})
    api("POST", "/v2/catalog/search", {"object_types": ["ITEM"], "limit": 4, "cursor": page["cursor"]})
    api(
        "POST",
        "/v2/catalog/search",
        {"query": {"exact_query": {"attribute_name": "name", "attribute_value": "Tiramisu"}}},
    )
    api("POST", "/v2/catalog/batch-retrieve", {"object_ids": [o["id"] for o in items], "include_related_objects": True})
    api("POST", "/v2/inventory/counts/batch-retrieve", {"location_ids": [seller.location_id]})
    api(
        "POST", "/v2/inventory/counts/batch-retrieve", {"catalog_object_ids": [variation["id"]], "states": ["IN_STOCK"]}
    )
    upserted = api(
        "POST",
        "/v2/catalog/batch-upsert",
        {
            "idempotency_key": "contract-upsert-1",
            "batches": [
                {
                    "objects": [
                        {
                            "type": "ITEM",
                            "id": "#pancakes",
                            "item_data": {
                                "name": "Pancakes",
                                "variations": [
                                    {
                                        "type": "ITEM_VARIATION",
                                        "id": "#pancakes-stack",
                                        "item_variation_data": {
                                            "name": "Stack",
                                            "pricing_type": "FIXED_PRICING",
                                            "price_money": {"amount": 900, "currency": "USD"},
                                        },
                                    }
                                ],
                            },
                        }
                    ]
                },
                {"objects": [{"type": "CATEGORY", "id": "NO-SUCH-CATEGORY", "category_data": {"name": "Ghost"}}]},
            ],
        },
    )
    api("POST", "/v2/catalog/search", {"include_deleted_objects": True, "begin_time": upserted["updated_at"]})
    api("POST", "/v2/catalog/batch-delete", {"object_ids": [upserted["objects"][0]["id"]]})
    api("POST", "/v2/catalog/search", {"include_deleted_objects": True, "begin_time": upserted["updated_at"]})

    # Customers
    customer = api(
        "POST",
        "/v2/customers",
        {
            "idempotency_key": "c-1",
            "given_name": "Ada",
            "email_address": "ada@example.com",
            "phone_number": "+12125550100",
        },
    )["customer"]
    api("POST", "/v2/customers", {"idempotency_key": "c-2", "family_name": "Hopper"})
    api("GET", f"/v2/customers/{customer['id']}")
    api("POST", "/v2/customers/search", {"query": {"filter": {"email_address": {"exact": "ada@example.com"}}}})
    api("POST", "/v2/customers/search", {"limit": 1})

    # Orders: an ad-hoc line and a catalog line with a catalog modifier, a customer and a scheduled pickup
    modifier_list = next(o for o in seeded.values() if o["type"] == "MODIFIER_LIST")
    modifier = modifier_list["modifier_list_data"]["modifiers"][0]
    order = api(
        "POST",
        "/v2/orders",
        {
            "idempotency_key": "o-1",
            "order": {
                "location_id": seller.location_id,
                "reference_id": "wix-1",
                "source": {"name": "Contract"},
                "ticket_name": "Wix #1",
                "customer_id": customer["id"],
                "line_items": [
                    {
                        "uid": "l1",
                        "name": "Soda",
                        "quantity": "2",
                        "base_price_money": {"amount": 199, "currency": "USD"},
                        "note": "cold",
                        "modifiers": [
                            {"name": "Ice", "quantity": "1", "base_price_money": {"amount": 0, "currency": "USD"}}
                        ],
                    },
                    {
                        "uid": "l2",
                        "catalog_object_id": variation["id"],
                        "quantity": "1",
                        "modifiers": [{"catalog_object_id": modifier["id"]}],
                    },
                ],
                "fulfillments": [
                    {
                        "uid": "f1",
                        "type": "PICKUP",
                        "state": "PROPOSED",
                        "pickup_details": {
                            "recipient": {"display_name": "Ada", "email_address": "ada@example.com"},
                            "schedule_type": "SCHEDULED",
                            "pickup_at": "2030-01-01T18:30:00Z",
                            "note": "bell",
                        },
                    }
                ],
            },
        },
    )["order"]
    api("GET", f"/v2/orders/{order['id']}")
    api("POST", "/v2/orders/batch-retrieve", {"order_ids": [order["id"], "missing"], "location_id": seller.location_id})
    updated = api(
        "PUT",
        f"/v2/orders/{order['id']}",
        {
            "idempotency_key": "u-1",
            # Order.location_id is required in the SDK's OrderParams, for a sparse update too
            "order": {
                "location_id": seller.location_id,
                "version": order["version"],
                "fulfillments": [{"uid": "f1", "state": "RESERVED"}],
            },
            "fields_to_clear": ["line_items[l1].note"],
        },
    )["order"]
    seller.seller(f"/orders/{order['id']}/fulfillment-state", {"state": "PREPARED"})
    pos_app = seller.seller(
        "/register-order",
        {
            "order": {
                "line_items": [
                    {"name": "Coffee", "quantity": "1", "base_price_money": {"amount": 300, "currency": "USD"}}
                ],
                "fulfillments": [
                    {
                        "type": "PICKUP",
                        "pickup_details": {"recipient": {"display_name": "Bob"}, "schedule_type": "ASAP"},
                    }
                ],
            }
        },
    )["order"]
    seller.seller(f"/orders/{pos_app['id']}/cancel")
    api(
        "POST",
        "/v2/orders",
        {
            "idempotency_key": "o-2",
            "order": {
                "location_id": seller.location_id,
                "state": "DRAFT",
                "fulfillments": [
                    {
                        "type": "DELIVERY",
                        "delivery_details": {
                            "recipient": {"display_name": "Ada", "address": {"address_line_1": "1 Main St"}},
                            "schedule_type": "ASAP",
                        },
                    }
                ],
            },
        },
    )
    _drive_money(api, seller)
    search = {
        "location_ids": [seller.location_id],
        "query": {
            "filter": {"state_filter": {"states": ["OPEN", "CANCELED", "DRAFT"]}},
            "sort": {"sort_field": "CREATED_AT", "sort_order": "ASC"},
        },
        "limit": 2,
    }
    first_orders = api("POST", "/v2/orders/search", search)
    api("POST", "/v2/orders/search", {**search, "cursor": first_orders["cursor"]})
    api("POST", "/v2/orders/search", {**search, "return_entries": True, "limit": 10})

    # Errors Square answers in its shape: unknown ids, missing and unknown fields, stale versions, bad tokens
    api("GET", "/v2/orders/NO-SUCH-ORDER")
    api("GET", "/v2/customers/NO-SUCH-CUSTOMER")
    api("POST", "/v2/orders", {"order": {"location_id": seller.location_id}})
    api("POST", "/v2/orders", {"idempotency_key": "o-3", "order": {"location_id": seller.location_id, "extra": 1}})
    stale = {"location_id": seller.location_id, "version": updated["version"] - 1, "state": "CANCELED"}
    api("PUT", f"/v2/orders/{order['id']}", {"order": stale})
    api("POST", "/v2/catalog/batch-retrieve", {})
    api("POST", "/v2/customers", {"idempotency_key": "c-3", "email_address": "not-an-address"})
    seller.http.get(f"{SANDBOX_URL}/v2/locations", headers={"Authorization": "Bearer not-a-token"})


def _usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


def _drive_money(api: Api, seller: SandboxSeller) -> None:
    """Itemized orders (every kind of tax, discount and service charge phase), CalculateOrder, external payments,
    PayOrder, refunds, and their errors."""
    itemized = {
        "location_id": seller.location_id,
        "line_items": [
            {
                "uid": "m1",
                "name": "Burger",
                "quantity": "2",
                "base_price_money": _usd(850),
                "modifiers": [{"name": "Bacon", "base_price_money": _usd(150)}],
                "applied_taxes": [{"tax_uid": "city"}],
                "applied_discounts": [{"discount_uid": "line10"}],
            },
            {"uid": "m2", "name": "Fries", "quantity": "1", "base_price_money": _usd(399)},
        ],
        "taxes": [
            {"uid": "state", "name": "State", "type": "ADDITIVE", "percentage": "6.25", "scope": "ORDER"},
            {"uid": "city", "name": "City", "type": "ADDITIVE", "percentage": "2.625", "scope": "LINE_ITEM"},
            {"uid": "vat", "name": "VAT", "type": "INCLUSIVE", "percentage": "5", "scope": "ORDER"},
        ],
        "discounts": [
            {"uid": "line10", "name": "10%", "type": "FIXED_PERCENTAGE", "percentage": "10", "scope": "LINE_ITEM"},
            {"uid": "coupon", "name": "SAVE3", "type": "FIXED_AMOUNT", "amount_money": _usd(300), "scope": "ORDER"},
        ],
        "service_charges": [
            {
                "uid": "fee",
                "name": "Delivery fee",
                "amount_money": _usd(499),
                "calculation_phase": "SUBTOTAL_PHASE",
                "taxable": True,
                "applied_taxes": [{"tax_uid": "city"}],
            },
            {"uid": "tip", "name": "Courier tip", "amount_money": _usd(200), "calculation_phase": "TOTAL_PHASE"},
            {
                "uid": "bag",
                "name": "Bag fee",
                "percentage": "2",
                "calculation_phase": "APPORTIONED_PERCENTAGE_PHASE",
                "treatment_type": "APPORTIONED_TREATMENT",
                "scope": "ORDER",
                "taxable": True,
            },
            {
                "uid": "svc",
                "name": "Service",
                "amount_money": _usd(100),
                "calculation_phase": "APPORTIONED_AMOUNT_PHASE",
                "treatment_type": "APPORTIONED_TREATMENT",
                "scope": "ORDER",
            },
        ],
    }
    api("POST", "/v2/orders/calculate", {"order": itemized})
    api("POST", "/v2/orders/calculate", {"order": {**itemized, "taxes": [{"uid": "t", "percentage": "x"}]}})
    order = api("POST", "/v2/orders", {"idempotency_key": "money-1", "order": itemized})["order"]
    external = {"type": "OTHER", "source": "Wix", "source_id": "wix-9", "source_fee_money": _usd(30)}
    approved = api(
        "POST",
        "/v2/payments",
        {
            "idempotency_key": "p-1",
            "source_id": "EXTERNAL",
            "external_details": external,
            "amount_money": order["total_money"],
            "tip_money": _usd(250),
            "order_id": order["id"],
            "autocomplete": False,
            "reference_id": "wix-9",
            "note": "Paid on Wix",
        },
    )["payment"]
    api("POST", f"/v2/orders/{order['id']}/pay", {"idempotency_key": "pay-1", "payment_ids": ["NO-SUCH-PAYMENT"]})
    api("POST", f"/v2/orders/{order['id']}/pay", {"idempotency_key": "pay-2", "payment_ids": [approved["id"]]})
    api("GET", f"/v2/payments/{approved['id']}")
    api("GET", "/v2/payments/NO-SUCH-PAYMENT")
    refund = api(
        "POST",
        "/v2/refunds",
        {"idempotency_key": "r-1", "payment_id": approved["id"], "amount_money": _usd(500), "reason": "Canceled"},
    )["refund"]
    api("GET", f"/v2/refunds/{refund['id']}")
    api("GET", "/v2/refunds/NO-SUCH-REFUND")
    api("POST", "/v2/refunds", {"idempotency_key": "r-2", "payment_id": approved["id"], "amount_money": _usd(10**6)})
    api(
        "POST",
        "/v2/payments",
        {"idempotency_key": "p-2", "source_id": "EXTERNAL", "external_details": external, "amount_money": _usd(1)}
        | {"order_id": order["id"]},
    )
    api("POST", f"/v2/orders/{order['id']}/pay", {"idempotency_key": "pay-3", "order_version": 1})
    api("POST", "/v2/orders/NO-SUCH-ORDER/pay", {"idempotency_key": "pay-4"})


@pytest.fixture(scope="module")
def driven() -> Iterator[SandboxSeller]:
    seller = SandboxSeller()
    _drive_the_sandbox(seller)
    yield seller
    seller.close()


def test_the_drive_reaches_every_endpoint_the_sandbox_serves(driven: SandboxSeller) -> None:
    # Given every exchange of the drive
    routes = {e.route for e in driven.exchanges}
    statuses = {e.status for e in driven.exchanges}
    # Then every endpoint the sandbox serves was called, with successes and each kind of error among the answers
    assert routes == set(SANDBOX_ROUTES) == set(driven.sandbox.api_routes)
    # And each is an endpoint of the official SDK (the sandbox refuses to start otherwise)
    assert routes <= set(SDK_ROUTES)
    assert {200, 400, 401, 404, 409} <= statuses


@pytest.mark.parametrize("route", SANDBOX_ROUTES)
def test_every_answer_fits_the_sdk_response_model_strictly(route: str, driven: SandboxSeller) -> None:
    # Given every answer the sandbox gave on this endpoint (errors included: they are the same response type)
    answers: list[Exchange] = [e for e in driven.exchanges if e.route == route]
    assert answers
    model = response_model(route)
    for exchange in answers:
        # When it is walked against the SDK's response model
        # Then nothing in it is outside the model
        assert check(exchange.answer, model) == [], (exchange.status, exchange.answer)
        # And the SDK's own parser reads it back without losing or adding anything
        parsed = model.model_validate(exchange.answer)  # type: ignore[attr-defined]
        assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == exchange.answer


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_the_sample_webhooks_in_events_fit_the_sdk_event_models(sample: Path) -> None:
    # Given a sample Square notification shipped for `sam local invoke` and the integration tests
    event = json.loads(sample.read_text())
    # Then it fits the SDK's model for its type, strictly
    assert check(event, EVENT_MODELS[event["type"]]) == []


def test_every_error_code_the_sandbox_can_answer_is_one_the_sdk_knows() -> None:
    # Given every error code written in the sandbox's sources (bad_request("CODE", ...), SquareError(..., "CODE", ...),
    # and the codes paired with bare HTTP statuses for injected faults)
    sources = "\n".join(p.read_text() for p in SANDBOX.glob("*.py"))
    written = set(re.findall(r'bad_request\(\s*"([A-Z_]+)"', sources))
    written |= set(re.findall(r'SquareError\(\s*\w+,\s*[\w.]+,\s*"([A-Z_]+)"', sources))
    written |= {code for _, code in sandbox_errors._STATUS_ERRORS.values()}
    written |= {sandbox_errors.INVALID_REQUEST, sandbox_errors.AUTHENTICATION, sandbox_errors.RATE_LIMIT}
    written |= {sandbox_errors.API}
    assert len(written) > 20
    # Then each is in squareup's ErrorCode or ErrorCategory enum
    known = set(typing.get_args(typing.get_args(ErrorCode)[0])) | set(
        typing.get_args(typing.get_args(ErrorCategory)[0])
    )
    assert written - known == set()


def test_every_webhook_fits_the_sdk_event_model_strictly(driven: SandboxSeller) -> None:
    # Given every webhook event the drive made the sandbox send
    events = driven.state()["events"]
    # Then every event type the sandbox sends was among them
    assert {e["type"] for e in events} == set(EVENT_MODELS)
    for event in events:
        # And each body fits the SDK's model for its type, strictly
        assert check(event, EVENT_MODELS[event["type"]]) == [], event


def test_every_field_the_adapter_reads_is_in_the_sdk_response_model() -> None:
    # Given the Square adapter driven through every code path that calls Square, every key it reads recorded
    seller = SandboxSeller()
    with pytest.MonkeyPatch.context() as monkeypatch:
        reads = track_adapter_reads(monkeypatch)
        drive_the_adapter(seller, monkeypatch)
    seller.close()
    assert set(reads) == ADAPTER_ROUTES
    # Then each path it reads (e.g. objects[].item_data.variations[].item_variation_data.price_money.amount) is a
    # field of the SDK's response model for that endpoint: a misspelt key would silently read as absent
    unknown = {route: unknown_paths(response_model(route), paths) for route, paths in reads.items()}
    assert {route: paths for route, paths in unknown.items() if paths} == {}
    # And the walk is not vacuous: the deepest reads are there
    assert "objects[].item_data.variations[].item_variation_data.price_money.amount" in reads["POST /v2/catalog/search"]
    assert "order.line_items[].modifiers[].base_price_money" in reads["GET /v2/orders/{order_id}"]


def test_a_path_the_model_lacks_is_reported() -> None:
    # Given paths an adapter might misspell, next to real ones
    paths = {"order.line_items[].uid", "order.line_items[].catalog_item_id", "order.fulfilments[].state"}
    # Then only the misspelt ones are unknown to the SDK's GetOrderResponse
    assert unknown_paths(response_model("GET /v2/orders/{order_id}"), paths) == {
        "order.line_items[].catalog_item_id",
        "order.fulfilments[].state",
    }


def test_every_field_posbridge_reads_from_a_webhook_is_in_the_sdk_event_model(driven: SandboxSeller) -> None:
    # Given every webhook the sandbox sent, read the way posbridge reads them (the envelope, the order's location,
    # the order summary, the catalog stamp), every key read recorded
    reads: dict[str, set[str]] = {}
    for event in driven.state()["events"]:
        if event["type"] not in SUMMARY_KEYS and event["type"] not in CATALOG_EVENT_TYPES:
            continue  # payment.* and refund.*: posbridge subscribes to none of them
        seen = reads.setdefault(event["type"], set(SquareNotification.model_fields))
        envelope = {k: v for k, v in event.items() if k != "data"}
        notification = SquareNotification.model_construct(**envelope, data=TrackedDict(event["data"], "data", seen))
        notification.location_id()
        if event["type"] in SUMMARY_KEYS:
            summary_from_event(event["type"], TrackedDict(event["data"], "data", seen))
        else:
            catalog_stamp(notification)
    # Then each path is a field of the SDK's event model for that type, but for two deliberate probes: one reader
    # serves several event types and falls back when the field is absent
    probes = {
        "order.created": {"data.object.order_created.updated_at"},  # position(): updated_at, else created_at
        "inventory.count.updated": {"data.object.catalog_version"},  # catalog_stamp: else the event time
    }
    unknown = {
        kind: unknown_paths(EVENT_MODELS[kind], paths) - probes.get(kind, set()) for kind, paths in reads.items()
    }
    assert {kind: paths for kind, paths in unknown.items() if paths} == {}
    assert "data.object.order_updated.location_id" in reads["order.updated"]
    assert "data.object.catalog_version.updated_at" in reads["catalog.version.updated"]
