"""The Wix sandbox's orders, fulfillments, locations and operations routes, driven by the official SDK: each answer
body conforms to the SDK's REST response type (meta.d.ts, strict: no field Wix lacks), and the SDK's functions return
what a caller expects from them. The sandbox takes the token request as @wix/sdk's AppStrategy sends it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.httpserver import BackgroundServer
from devstack.wix_sandbox import RESTAURANTS_APP_ID, WixSandbox, orders
from devstack.wix_sandbox.rest_types import REQUESTS_FILE
from tests.contracts.wix_request_types import generate, render
from tests.contracts.wix_sdk import WixSdk
from tests.contracts.wix_site import (
    APP_ID,
    APP_SECRET,
    FULFILLMENTS,
    LOCATIONS,
    OPERATIONS,
    ORDERS,
    Site,
    create,
    imported_order,
    install,
)  # fmt: skip

pytestmark = pytest.mark.contracts


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[WixSandbox, str]]:
    box = WixSandbox(APP_ID, APP_SECRET)
    with BackgroundServer(box.wsgi_app) as server:
        yield box, server.url


@pytest.fixture
def site(sandbox: tuple[WixSandbox, str], wix_sdk: WixSdk) -> Site:
    return install(*sandbox, wix_sdk)


# --- orders --------------------------------------------------------------------------------------------------------


def test_create_order_answers_a_create_order_response(site: Site) -> None:
    # Given posbridge's import body for a POS order
    body = imported_order(site)
    # When the SDK's createOrder sends it
    exchange = site.ok(ORDERS, "createOrder", "CreateOrderResponse", body["order"], {"settings": body["settings"]})
    # Then the SDK hands its caller the created order: a GUID id, the POS channel, one restaurant line with a GUID
    order = exchange.result
    assert uuid.UUID(order["_id"]) and order["channelInfo"] == {"type": "POS", "externalOrderId": "POS-1"}
    assert [line["catalogReference"]["appId"] for line in order["lineItems"]] == [RESTAURANTS_APP_ID]
    assert uuid.UUID(order["lineItems"][0]["_id"]) and order["status"] == "APPROVED"
    assert order["businessLocation"]["_id"] == site.location_id


def test_get_order_answers_a_get_order_response(site: Site) -> None:
    created = create(site)
    exchange = site.ok(ORDERS, "getOrder", "GetOrderResponse", created["id"])
    assert exchange.result["_id"] == created["id"] and exchange.result["number"] == created["number"]


def test_search_orders_answers_a_search_orders_response(site: Site) -> None:
    # Given two imported orders
    first, _ = create(site, "POS-1"), create(site, "POS-2")
    # When the SDK searches by the POS order id, then for restaurant orders oldest first, one a page
    by_pos_id = {"filter": {"channelInfo.externalOrderId": {"$eq": "POS-1"}}, "cursorPaging": {"limit": 2}}
    by_pos = site.ok(ORDERS, "searchOrders", "SearchOrdersResponse", by_pos_id)
    search = {
        "filter": {"lineItems.catalogReference.appId": {"$hasSome": [RESTAURANTS_APP_ID]}},
        "sort": [{"fieldName": "updatedDate", "order": "ASC"}],
        "cursorPaging": {"limit": 1},
    }
    page = site.ok(ORDERS, "searchOrders", "SearchOrdersResponse", search)
    following = site.ok(ORDERS, "searchOrders", "SearchOrdersResponse",
                        {"cursorPaging": {"limit": 1, "cursor": page.body["metadata"]["cursors"]["next"]}})  # fmt: skip
    # Then each answer is a SearchOrdersResponse and the SDK returns the orders and the paging metadata
    assert [o["_id"] for o in by_pos.result["orders"]] == [first["id"]]
    assert page.result["metadata"]["hasNext"] is True and len(page.result["orders"]) == 1
    assert following.result["metadata"]["hasNext"] is False
    assert {page.result["orders"][0]["_id"], following.result["orders"][0]["_id"]} == {first["id"], _["id"]}


def test_cancel_order_answers_a_cancel_order_response(site: Site) -> None:
    created = create(site)
    options = {"sendOrderCanceledEmail": False, "restockAllItems": False}
    exchange = site.ok(ORDERS, "cancelOrder", "CancelOrderResponse", created["id"], options)
    assert exchange.result["order"]["status"] == "CANCELED"
    # And a second cancel is Wix's application error, which the SDK raises
    again = site.send(ORDERS, "cancelOrder", created["id"], options)
    assert again.status == 428 and again.body["details"]["applicationError"]["code"] == "ORDER_ALREADY_CANCELED"
    assert again.error is not None and again.result is None


# --- fulfillments --------------------------------------------------------------------------------------------------


def test_fulfillments_create_list_update_answer_their_response_types(site: Site) -> None:
    # Given an imported order
    created = create(site)
    line_ids = [line["id"] for line in created["lineItems"]]
    # When the SDK creates one fulfillment for all its lines, lists them, and moves it on to Ready
    fulfillment = {"lineItems": [{"id": line_id} for line_id in line_ids], "status": "Accepted"}
    made = site.ok(FULFILLMENTS, "createFulfillment", "CreateFulfillmentResponse", created["id"], fulfillment)
    listed = site.ok(FULFILLMENTS, "listFulfillmentsForSingleOrder", "ListFulfillmentsForSingleOrderResponse",
                     created["id"])  # fmt: skip
    identifiers = {"fulfillmentId": made.result["fulfillmentId"], "orderId": created["id"]}
    updated = site.ok(FULFILLMENTS, "updateFulfillment", "UpdateFulfillmentResponse", identifiers,
                      {"fulfillment": {"status": "Ready"}})  # fmt: skip
    # Then each is its REST response type, and the SDK returns the fulfillment with its status and whole lines
    fulfillment_id = made.result["fulfillmentId"]
    assert uuid.UUID(fulfillment_id)
    [listed_one] = listed.result["orderWithFulfillments"]["fulfillments"]
    assert listed_one["_id"] == fulfillment_id and listed_one["status"] == "Accepted"
    assert [(line["_id"], line["quantity"]) for line in listed_one["lineItems"]] == [(line_ids[0], 2)]
    [updated_one] = updated.result["fulfillments"]  # updateFulfillment returns the orderWithFulfillments
    assert updated_one["_id"] == fulfillment_id and updated_one["status"] == "Ready"
    assert site.ok(ORDERS, "getOrder", "GetOrderResponse", created["id"]).result["fulfillmentStatus"] == "FULFILLED"


# --- the site ------------------------------------------------------------------------------------------------------


def test_list_locations_answers_a_list_locations_response(site: Site) -> None:
    exchange = site.ok(LOCATIONS, "listLocations", "ListLocationsResponse",
                       {"includeArchived": False, "paging": {"limit": 1000}})  # fmt: skip
    [location] = exchange.result["locations"]
    assert location["_id"] == site.location_id and location["default"] is True and location["archived"] is False


def test_list_locations_reads_the_sdks_packed_paging(site: Site) -> None:
    # Given the SDK's request, its paging packed into `.r`, asking for more than the 1000 a page Wix allows
    exchange = site.send(LOCATIONS, "listLocations", {"paging": {"limit": 5000}})
    # Then the sandbox reads the packed parameters and refuses it
    assert exchange.request.query[0][0] == ".r"
    assert exchange.status == 400, exchange.body


def test_list_operations_answers_a_list_operations_response(site: Site) -> None:
    exchange = site.ok(OPERATIONS, "listOperations", "ListOperationsResponse")
    [operation] = exchange.result["operations"]
    assert operation["_id"] == site.operation_id and operation["default"] is True
    assert operation["businessLocationId"] == site.location_id


# --- strictness: what Wix refuses, the sandbox refuses -----------------------------------------------------------


def test_the_request_types_the_sandbox_checks_are_the_sdks(wix_sdk: WixSdk) -> None:
    # The sandbox's copy of the REST request types (no Node at run time) is exactly what the pinned SDK declares
    assert REQUESTS_FILE.read_text() == render(generate(wix_sdk)), "run: python -m tests.contracts.wix_request_types"


def _http(site: Site) -> httpx.Client:
    return httpx.Client(base_url=site.base_url, headers={"Authorization": site.token}, timeout=5)


def _violations(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    return [v["field"] for v in response.json()["details"]["validationError"]["fieldViolations"]]


def test_a_field_create_order_lacks_is_a_400_naming_it(site: Site) -> None:
    # Given posbridge's old description lines (with lineType, which the REST DescriptionLine lacks) and a made-up field
    body = imported_order(site)
    body["order"]["lineItems"][0]["descriptionLines"][0]["lineType"] = "PLAIN_TEXT"
    body["order"]["shippingFee"] = {"amount": "1.00"}
    # When it is sent
    with _http(site) as http:
        response = http.post("/ecom/v1/orders", json=body)
    # Then Wix's validation error names each, and nothing is created
    assert _violations(response) == ["order.lineItems[0].descriptionLines[0].lineType", "order.shippingFee"]
    search = site.ok(ORDERS, "searchOrders", "SearchOrdersResponse", {"cursorPaging": {"limit": 10}})
    assert search.result["orders"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/ecom/v1/orders/search", {"search": {"paging": {"limit": 1}}}, "search.paging"),
        ("POST", "/ecom/v1/orders/{order}/cancel", {"notify": True}, "notify"),
        ("POST", "/ecom/v1/fulfillments/orders/{order}/create-fulfillment",
         {"fulfillment": {"lineItems": [{"id": "{line}"}], "fulfillmentStatus": "Ready"}},
         "fulfillment.fulfillmentStatus"),
        ("GET", "/ecom/v1/orders/{order}?fieldsets=FULL", None, "fieldsets"),
        ("GET", "/ecom/v1/fulfillments/orders/{order}?limit=5", None, "limit"),
        ("GET", "/locations/v1/locations?paging.size=5", None, "paging.size"),
        ("GET", "/restaurants-operations/v1/operations?onlyDefault=true", None, "onlyDefault"),
    ],
)  # fmt: skip
def test_every_route_refuses_a_field_its_request_type_lacks(
    site: Site, method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    created = create(site)
    fill = {"{order}": created["id"], "{line}": created["lineItems"][0]["id"]}
    for key, value in fill.items():
        path = path.replace(key, value)
    content = json.dumps(body) if body is not None else None
    for key, value in fill.items():
        content = content.replace(key, value) if content else None
    with _http(site) as http:
        response = http.request(method, path, content=content, headers={"Content-Type": "application/json"})
    assert _violations(response) == [field]


def test_an_id_repeated_in_the_body_must_be_the_paths(site: Site) -> None:
    # Given two orders, and a cancel of the first whose body names the second
    first, second = create(site, "POS-1"), create(site, "POS-2")
    with _http(site) as http:
        response = http.post(f"/ecom/v1/orders/{first['id']}/cancel", json={"id": second["id"]})
    # Then it is refused, and neither order is canceled
    assert _violations(response) == ["id"]
    for order in (first, second):
        assert site.ok(ORDERS, "getOrder", "GetOrderResponse", order["id"]).result["status"] == "APPROVED"


def _literals(sdk: WixSdk, module: str, enum: str) -> set[str]:
    """The values of a REST enum (ts-json-schema-generator writes `XWithLiterals` as anyOf of string consts)."""
    return {branch["const"] for branch in sdk.schema(module)["definitions"][enum]["anyOf"] if "const" in branch}


def test_the_sandboxs_enums_are_the_sdks(wix_sdk: WixSdk) -> None:
    # The values the sandbox accepts on Create Order are exactly the REST enums' (Create Order's own status subset
    # aside: CANCELED and REJECTED come from later actions)
    assert set(orders.CHANNEL_TYPES) == _literals(wix_sdk, ORDERS, "ChannelTypeWithLiterals")
    assert set(orders.PAYMENT_STATUSES) == _literals(wix_sdk, ORDERS, "PaymentStatusEnumPaymentStatusWithLiterals")
    assert set(orders.ITEM_TYPE_PRESETS) == _literals(wix_sdk, ORDERS, "ItemTypePresetWithLiterals")
    assert set(orders.APPROVAL_STRATEGIES) == _literals(wix_sdk, ORDERS, "OrderApprovalStrategyWithLiterals")
    assert set(orders.CREATE_STATUSES) < _literals(wix_sdk, ORDERS, "OrderStatusWithLiterals")
