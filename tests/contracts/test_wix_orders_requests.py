"""Orders, fulfillments, locations, operations and the app token: what posbridge.wix sends is the request the official
Wix SDK builds for the same call (contracts/wix), and the bodies it builds conform to the SDK's REST request types."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from posbridge import RESTAURANTS_APP_ID
from posbridge.domain.order_import import ImportLine, WixPlacement
from posbridge.pos.square.order_snapshot import snapshot_from_square
from posbridge.wix.client import WixClient
from posbridge.wix.order_import import create_order_body
from posbridge.wix.orders_api import LOCATIONS_PAGE, SEARCH_PAGE, WixOrders
from posbridge.wix.rate_limit import NoRateLimit
from posbridge.wix.tokens import TokenCache
from tests.contracts.wix_sdk import WixSdk
from tests.contracts.wix_wire import APP_ID, INSTANCE, RecordingWix, assert_same_request
from tests.unit.pos_fakes import BRIDGE_APP_ID, square_line, square_order

pytestmark = pytest.mark.contracts

ORDERS = "@wix/auto_sdk_ecom_orders"
FULFILLMENTS = "@wix/auto_sdk_ecom_order-fulfillments"
LOCATIONS = "@wix/auto_sdk_business-tools_locations"
OPERATIONS = "@wix/auto_sdk_restaurants_operations"

ORDER_ID = "5a2c7e4e-8f3b-4d1e-9a63-1c2b3d4e5f60"
LINE_IDS = ("a1b2c3d4-0000-4000-8000-000000000001", "a1b2c3d4-0000-4000-8000-000000000002")
FULFILLMENT_ID = "f0f0f0f0-0000-4000-8000-000000000001"
ORDER = {"id": ORDER_ID, "status": "APPROVED", "lineItems": [{"id": line_id} for line_id in LINE_IDS]}


def _orders(answer: dict[str, Any]) -> tuple[RecordingWix, WixOrders]:
    wire = RecordingWix(lambda request: answer)
    return wire, WixOrders(wire.client())


# --- orders --------------------------------------------------------------------------------------------------------


def test_finding_an_imported_order_is_the_sdks_search(wix_sdk: WixSdk) -> None:
    # Given a POS order id
    wire, wix = _orders({"orders": [ORDER]})
    # When posbridge looks for the Wix order made from it
    found = wix.find_by_external_id("POS-1")
    # Then it sent Search Orders exactly as the SDK does, filtering on channelInfo.externalOrderId
    search = {"filter": {"channelInfo.externalOrderId": {"$eq": "POS-1"}}, "cursorPaging": {"limit": 2}}
    assert_same_request(wire.only(), wix_sdk.request(ORDERS, "searchOrders", search))
    assert wix_sdk.errors(ORDERS, "SearchOrdersRequest", wire.only().body) == []
    assert found is not None and found.id == ORDER_ID and found.line_ids == LINE_IDS


def test_the_reconciliation_search_is_the_sdks_search_first_page_and_next(wix_sdk: WixSdk) -> None:
    # Given a page that says there is a next one
    answer = {"orders": [ORDER], "metadata": {"count": 1, "hasNext": True, "cursors": {"next": "CURSOR-2"}}}
    wire, wix = _orders(answer)
    # When the reconciliation reads the first page, then the next
    first = wix.search_restaurant_orders("2026-11-20T18:00:00.000Z")
    wix.search_restaurant_orders("2026-11-20T18:00:00.000Z", first.cursor)
    # Then the first is filter + sort + limit, the next only the cursor (Wix refuses a filter with a cursor)
    search = {
        "filter": {
            "lineItems.catalogReference.appId": {"$hasSome": [RESTAURANTS_APP_ID]},
            "updatedDate": {"$gte": "2026-11-20T18:00:00.000Z"},
        },
        "sort": [{"fieldName": "updatedDate", "order": "ASC"}],
        "cursorPaging": {"limit": SEARCH_PAGE},
    }
    following = {"cursorPaging": {"limit": SEARCH_PAGE, "cursor": "CURSOR-2"}}
    assert_same_request(wire.sent[0], wix_sdk.request(ORDERS, "searchOrders", search))
    assert_same_request(wire.sent[1], wix_sdk.request(ORDERS, "searchOrders", following))
    assert [wix_sdk.errors(ORDERS, "SearchOrdersRequest", sent.body) for sent in wire.sent] == [[], []]
    assert first.cursor == "CURSOR-2" and first.orders == (ORDER,)


def test_getting_an_order_is_the_sdks_get(wix_sdk: WixSdk) -> None:
    wire, wix = _orders({"order": ORDER})
    ref = wix.get_order(ORDER_ID)
    # The SDK also repeats the path's id in the query: the same request, byte for byte
    assert_same_request(wire.only(), wix_sdk.request(ORDERS, "getOrder", ORDER_ID))
    assert ref.id == ORDER_ID and ref.status == "APPROVED"


@pytest.mark.parametrize("notify", [True, False])
def test_canceling_an_order_is_the_sdks_cancel(wix_sdk: WixSdk, notify: bool) -> None:
    wire, wix = _orders({"order": ORDER | {"status": "CANCELED"}})
    wix.cancel_order(ORDER_ID, notify_buyer=notify)
    options = {"sendOrderCanceledEmail": notify, "restockAllItems": False}
    assert_same_request(wire.only(), wix_sdk.request(ORDERS, "cancelOrder", ORDER_ID, options))
    assert wix_sdk.errors(ORDERS, "CancelOrderRequest", wire.only().body) == []


def _import_body(placement: WixPlacement | None, notify: bool = False) -> dict[str, Any]:
    line = square_line(
        "Margherita",
        1250,
        "2",
        variation_name="Large",
        note="well done",
        modifiers=[{"name": "Extra basil", "quantity": "1", "base_price_money": {"amount": 100, "currency": "USD"}}],
    )
    order = square_order("POS-1", version=3, lines=[line, square_line("Cola", 300, "1")]) | {
        "total_tax_money": {"amount": 80, "currency": "USD"},
        "total_tip_money": {"amount": 200, "currency": "USD"},
    }
    snapshot = snapshot_from_square(order)
    return create_order_body(
        snapshot,
        [ImportLine(line, placement) for line in snapshot.lines],
        location_id="b1c2d3e4-0000-4000-8000-000000000001",
        operation_id="0c0c0c0c-0000-4000-8000-000000000001",
        bridge_app_id=BRIDGE_APP_ID,
        notify=notify,
    )


PLACEMENT = WixPlacement(
    item_id="1e1e1e1e-0000-4000-8000-000000000001",
    menu_id="2e2e2e2e-0000-4000-8000-000000000001",
    section_id="3e3e3e3e-0000-4000-8000-000000000001",
)


@pytest.mark.parametrize("placement", [PLACEMENT, None], ids=["menu-item", "custom-line"])
def test_the_imported_order_is_a_valid_create_order_request_and_the_sdks_request(
    wix_sdk: WixSdk, placement: WixPlacement | None
) -> None:
    # Given the Create Order body posbridge builds for a POS order (mapped lines, or custom lines)
    body = _import_body(placement, notify=True)
    # Then it conforms to the REST CreateOrderRequest (no field Wix lacks, right enums and formats)
    assert wix_sdk.errors(ORDERS, "CreateOrderRequest", body) == []
    # And sending it is the request the SDK builds for createOrder(order, {settings})
    wire, wix = _orders({"order": ORDER})
    wix.create_order(body)
    assert_same_request(
        wire.only(), wix_sdk.request(ORDERS, "createOrder", body["order"], {"settings": body["settings"]})
    )


# --- fulfillments --------------------------------------------------------------------------------------------------


def test_listing_fulfillments_is_the_sdks_list(wix_sdk: WixSdk) -> None:
    fulfillment = {"id": FULFILLMENT_ID, "status": "Accepted", "lineItems": [{"id": LINE_IDS[0], "quantity": 1}]}
    wire, wix = _orders({"orderWithFulfillments": {"orderId": ORDER_ID, "fulfillments": [fulfillment]}})
    [found] = wix.fulfillments(ORDER_ID)
    assert_same_request(wire.only(), wix_sdk.request(FULFILLMENTS, "listFulfillmentsForSingleOrder", ORDER_ID))
    assert (found.id, found.status, found.line_ids) == (FULFILLMENT_ID, "Accepted", (LINE_IDS[0],))


def test_creating_a_fulfillment_is_the_sdks_create(wix_sdk: WixSdk) -> None:
    wire, wix = _orders(
        {"orderWithFulfillments": {"orderId": ORDER_ID, "fulfillments": []}, "fulfillmentId": FULFILLMENT_ID}
    )
    created = wix.create_fulfillment(ORDER_ID, LINE_IDS, "Accepted")
    fulfillment = {"lineItems": [{"id": line_id} for line_id in LINE_IDS], "status": "Accepted"}
    sdk = wix_sdk.request(FULFILLMENTS, "createFulfillment", ORDER_ID, fulfillment)
    assert_same_request(wire.only(), sdk)
    assert wix_sdk.errors(FULFILLMENTS, "CreateFulfillmentRequest", wire.only().body) == []
    assert created == FULFILLMENT_ID


def test_updating_a_fulfillments_status_is_the_sdks_update(wix_sdk: WixSdk) -> None:
    # Given a fulfillment to move on to Ready
    wire, wix = _orders({"orderWithFulfillments": {"orderId": ORDER_ID, "fulfillments": []}})
    # When posbridge updates its status
    wix.update_fulfillment_status(ORDER_ID, FULFILLMENT_ID, "Ready")
    # Then it is updateFulfillment({fulfillmentId, orderId}, {fulfillment: {status}}): status is a REST field of the
    # Fulfillment, and the body carries the order id as the SDK sends it
    identifiers = {"fulfillmentId": FULFILLMENT_ID, "orderId": ORDER_ID}
    sdk = wix_sdk.request(FULFILLMENTS, "updateFulfillment", identifiers, {"fulfillment": {"status": "Ready"}})
    assert_same_request(wire.only(), sdk)
    assert wix_sdk.errors(FULFILLMENTS, "UpdateFulfillmentRequest", wire.only().body) == []


# --- the site ------------------------------------------------------------------------------------------------------


def test_listing_locations_is_the_sdks_list(wix_sdk: WixSdk) -> None:
    # The SDK packs paging into `.r` (base64 JSON); the REST form is the same parameters spelled out
    wire, wix = _orders({"locations": [{"id": ORDER_ID, "default": True}]})
    assert [loc["id"] for loc in wix.locations()] == [ORDER_ID]
    sdk = wix_sdk.request(LOCATIONS, "listLocations", {"includeArchived": False, "paging": {"limit": LOCATIONS_PAGE}})
    assert_same_request(wire.only(), sdk)


def test_listing_operations_is_the_sdks_list(wix_sdk: WixSdk) -> None:
    wire, wix = _orders({"operations": [{"id": ORDER_ID, "default": True}]})
    assert [op["id"] for op in wix.operations()] == [ORDER_ID]
    assert_same_request(wire.only(), wix_sdk.request(OPERATIONS, "listOperations"))


# --- the app token -------------------------------------------------------------------------------------------------


def test_the_token_request_is_how_the_sdks_app_strategy_asks(wix_sdk: WixSdk) -> None:
    # Given a WixClient whose token request is caught on the wire
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": "the-token", "expires_in": 14400})
        return httpx.Response(200, json={})

    client = WixClient(
        "https://www.wixapis.com", APP_ID, "app-secret", INSTANCE, tokens=TokenCache(), limiter=NoRateLimit(),
        http=httpx.Client(transport=httpx.MockTransport(handle)), max_attempts=1,
    )  # fmt: skip
    # When it makes a call
    client.get("/restaurants-operations/v1/operations")
    # Then its token request is @wix/sdk AppStrategy's: POST /oauth2/token, JSON client credentials + instance id
    sdk = wix_sdk.app_token(APP_ID, "app-secret", INSTANCE)
    token, call = seen
    assert (token.method, str(token.url)) == (sdk["request"]["method"], sdk["request"]["url"])
    assert token.headers["Content-Type"] == sdk["request"]["headers"]["Content-Type"]
    assert json.loads(token.content) == sdk["request"]["body"]
    # And the call carries the token as AppStrategy does: the raw token, no "Bearer"
    assert call.headers["Authorization"] == "the-token" and sdk["headers"] == {"Authorization": "token"}
