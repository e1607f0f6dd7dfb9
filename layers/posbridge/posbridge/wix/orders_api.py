"""The Wix eCommerce orders, fulfillments, locations and operations calls of Flows 2, 3 and the reconciliation.

One WixOrders per app instance, over posbridge.wix.client.WixClient (tokens, the shared rate limit, retries of
429/5xx/timeouts). It answers in small typed results, so the flows never read Wix's wire format.
Paths and limits: wix-api.md sections 1 (orders), 2 (fulfillments), 5 (locations) and 8 (operations). Each request is
the one the official SDK builds for the same call (@wix/auto_sdk_ecom_orders, _ecom_order-fulfillments,
_business-tools_locations, _restaurants_operations: build/cjs/meta.js), path ids repeated in the query or body as the
SDK sends them; tests/contracts/test_wix_orders_requests.py holds each one to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from posbridge import RESTAURANTS_APP_ID
from posbridge.errors import PermanentError
from posbridge.ports.wix import WixOrdersPage
from posbridge.wix.errors import WixApiError

SEARCH_PAGE = 100  # Search Orders' cursorPaging.limit maximum
LOCATIONS_PAGE = 1000  # List Locations' paging.limit maximum
_OPERATIONS = "/restaurants-operations/v1/operations"


class WixApi(Protocol):
    """What WixOrders needs of posbridge.wix.client.WixClient."""

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]: ...
    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]: ...
    def post_once(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class WixOrderRef:
    id: str
    line_ids: tuple[str, ...]  # in the order's line order
    restaurant_line_ids: tuple[str, ...]  # the Wix Restaurants lines among them
    status: str
    channel_type: str | None = None
    updated_date: str | None = None


@dataclass(frozen=True)
class WixFulfillmentRef:
    id: str
    status: str | None
    line_ids: tuple[str, ...]


def order_ref(order: dict[str, Any]) -> WixOrderRef:
    order_id = order.get("id")
    if not isinstance(order_id, str) or not order_id:
        raise PermanentError("wix_unexpected_response", "Wix answered an order without an id")
    lines = [line for line in order.get("lineItems") or [] if isinstance(line, dict) and line.get("id")]
    return WixOrderRef(
        id=order_id,
        line_ids=tuple(str(line["id"]) for line in lines),
        restaurant_line_ids=tuple(
            str(line["id"]) for line in lines if (line.get("catalogReference") or {}).get("appId") == RESTAURANTS_APP_ID
        ),
        status=str(order.get("status", "")),
        channel_type=(order.get("channelInfo") or {}).get("type"),
        updated_date=order.get("updatedDate"),
    )


def _fulfillment_ref(fulfillment: dict[str, Any]) -> WixFulfillmentRef:
    return WixFulfillmentRef(
        id=str(fulfillment["id"]),
        status=fulfillment.get("status"),
        line_ids=tuple(str(line.get("id")) for line in fulfillment.get("lineItems") or [] if isinstance(line, dict)),
    )


class WixOrders:
    def __init__(self, client: WixApi) -> None:
        self._client = client

    # -- orders ----------------------------------------------------------------------------------------------------

    def find_by_external_id(self, external_order_id: str) -> WixOrderRef | None:
        """The order created for this POS order, if one exists (channelInfo.externalOrderId is searchable)."""
        answer = self._client.post(
            "/ecom/v1/orders/search",
            {
                "search": {
                    "filter": {"channelInfo.externalOrderId": {"$eq": external_order_id}},
                    "cursorPaging": {"limit": 2},
                }
            },
        )
        orders = [o for o in answer.get("orders") or [] if isinstance(o, dict)]
        return order_ref(orders[0]) if orders else None

    def create_order(self, body: dict[str, Any]) -> WixOrderRef:
        """Create Order has no idempotency key: sent once. A lost answer is a TransientError; the redelivered message
        searches by external id before creating again (flows/import_order.py)."""
        order = self._client.post_once("/ecom/v1/orders", body).get("order")
        if not isinstance(order, dict):
            raise PermanentError("wix_unexpected_response", "Wix created an order but answered without it")
        return order_ref(order)

    def get_order(self, order_id: str) -> WixOrderRef:
        order = self._client.get(f"/ecom/v1/orders/{quote(order_id, safe='')}", params={"id": order_id}).get("order")
        if not isinstance(order, dict):
            raise PermanentError("wix_unexpected_response", f"Wix answered GET order {order_id} without an order")
        return order_ref(order)

    def cancel_order(self, order_id: str, *, notify_buyer: bool) -> None:
        """Cancel; an order Wix reports as already canceled counts as done (a replay)."""
        try:
            self._client.post(
                f"/ecom/v1/orders/{quote(order_id, safe='')}/cancel",
                {"id": order_id, "sendOrderCanceledEmail": notify_buyer, "restockAllItems": False},
            )
        except WixApiError as exc:
            if exc.code != "ORDER_ALREADY_CANCELED":
                raise

    def search_restaurant_orders(self, updated_since: str, cursor: str | None = None) -> WixOrdersPage:
        """Orders with Wix Restaurants lines updated at or after `updated_since`, oldest first, 100 per page."""
        if cursor:  # a cursor carries the filter and sort: Wix refuses both together
            search: dict[str, Any] = {"cursorPaging": {"limit": SEARCH_PAGE, "cursor": cursor}}
        else:
            search = {
                "filter": {
                    "lineItems.catalogReference.appId": {"$hasSome": [RESTAURANTS_APP_ID]},
                    "updatedDate": {"$gte": updated_since},
                },
                "sort": [{"fieldName": "updatedDate", "order": "ASC"}],
                "cursorPaging": {"limit": SEARCH_PAGE},
            }
        answer = self._client.post("/ecom/v1/orders/search", {"search": search})
        metadata = answer.get("metadata") or {}
        following = (metadata.get("cursors") or {}).get("next") if metadata.get("hasNext") else None
        orders = tuple(o for o in answer.get("orders") or [] if isinstance(o, dict))
        return WixOrdersPage(orders, following if isinstance(following, str) and following else None)

    # -- fulfillments ----------------------------------------------------------------------------------------------

    def fulfillments(self, order_id: str) -> list[WixFulfillmentRef]:
        answer = self._client.get(
            f"/ecom/v1/fulfillments/orders/{quote(order_id, safe='')}", params={"orderId": order_id}
        )
        found = (answer.get("orderWithFulfillments") or {}).get("fulfillments") or []
        return [_fulfillment_ref(f) for f in found if isinstance(f, dict) and f.get("id")]

    def create_fulfillment(self, order_id: str, line_ids: tuple[str, ...], status: str) -> str:
        """One fulfillment for these lines, whole quantities (Wix defaults to what is left to fulfill)."""
        answer = self._client.post(
            f"/ecom/v1/fulfillments/orders/{quote(order_id, safe='')}/create-fulfillment",
            {
                "orderId": order_id,
                "fulfillment": {"lineItems": [{"id": line_id} for line_id in line_ids], "status": status},
            },
        )
        fulfillment_id = answer.get("fulfillmentId")
        if not isinstance(fulfillment_id, str) or not fulfillment_id:
            raise PermanentError("wix_unexpected_response", "Wix created a fulfillment but answered without its id")
        return fulfillment_id

    def update_fulfillment_status(self, order_id: str, fulfillment_id: str, status: str) -> None:
        self._client.patch(
            f"/ecom/v1/fulfillments/{quote(fulfillment_id, safe='')}/orders/{quote(order_id, safe='')}",
            {"fulfillment": {"id": fulfillment_id, "status": status}, "orderId": order_id},
        )

    # -- the site --------------------------------------------------------------------------------------------------

    def locations(self) -> list[dict[str, Any]]:
        answer = self._client.get(
            "/locations/v1/locations", params={"includeArchived": "false", "paging.limit": LOCATIONS_PAGE}
        )
        return [loc for loc in answer.get("locations") or [] if isinstance(loc, dict) and loc.get("id")]

    def operations(self) -> list[dict[str, Any]]:
        answer = self._client.get(_OPERATIONS)
        return [op for op in answer.get("operations") or [] if isinstance(op, dict) and op.get("id")]
