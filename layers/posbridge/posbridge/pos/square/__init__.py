"""The Square adapter behind the PosGateway port: one seller location, reached through one SquareClient."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from posbridge.domain.order import Buyer, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.pos_export import OrderPayment, PosOrder, PosOrderPage, PosRefund
from posbridge.domain.pos_order import PosOrderSnapshot
from posbridge.errors import PermanentError, TransientError
from posbridge.ports.pos import CATALOG_REFERENCE_UNKNOWN
from posbridge.pos.square import customers, payments
from posbridge.pos.square.client import SquareClient, fit_idempotency_key
from posbridge.pos.square.order_money import adjustment
from posbridge.pos.square.order_snapshot import snapshot_from_square, summary_from_order
from posbridge.pos.square.orders import from_square_order, fulfillment, to_square_order

ORDER_KEY_MAX = 192  # CreateOrder's and UpdateOrder's documented idempotency_key limit
FINAL_FULFILLMENT_STATES = frozenset({"COMPLETED", "CANCELED", "FAILED"})
SEARCH_PAGE = 500  # SearchOrders' default page size (max 1,000)

__all__ = ["SquareClient", "SquarePos"]


class SquarePos:
    """PosGateway for Square. Raises TransientError (after the client's retries) or PermanentError."""

    def __init__(self, client: SquareClient, location_id: str, delivery_partner: bool = False) -> None:
        self._client = client
        self._location_id = location_id
        # The seller has Square's delivery partnership (tenant setting square_delivery_partner): DELIVERY is shown.
        self._delivery_partner = delivery_partner

    def __repr__(self) -> str:
        return f"SquarePos(location_id={self._location_id!r})"

    def find_or_create_customer(self, buyer: Buyer, idempotency_key: str) -> str | None:
        return customers.find_or_create(self._client, buyer, idempotency_key)

    def create_order(
        self,
        order: Order,
        customer_id: str | None,
        idempotency_key: str,
        catalog: Mapping[str, CatalogLine] | None = None,
    ) -> PosOrder:
        square = to_square_order(order, self._location_id, customer_id, catalog)
        if self._delivery_partner:
            square["fulfillments"] = [fulfillment(order, delivery_partner=True)]
        body = {"idempotency_key": fit_idempotency_key(idempotency_key, ORDER_KEY_MAX), "order": square}
        try:
            answer = self._client.post("/v2/orders", body)
        except PermanentError as refused:
            if catalog and _unknown_catalog_id(refused):
                raise PermanentError(CATALOG_REFERENCE_UNKNOWN, str(refused), refused.details) from refused
            raise
        adjusted = adjustment(square)
        return from_square_order(_order(answer)).model_copy(
            update={"adjustment_minor": adjusted.minor, "adjustment_name": adjusted.name}
        )

    def pay_order(self, order: PosOrder, payment: OrderPayment, payment_key: str, pay_key: str) -> str | None:
        """An EXTERNAL payment for the order's total, then PayOrder (pos/square/payments.py)."""
        return payments.pay_order(self._client, self._location_id, order, payment, payment_key, pay_key)

    def retrieve_order(self, order_id: str) -> dict[str, Any]:
        """The full Square order (e.g. after an order.updated webhook, which carries only a summary)."""
        return _order(self._client.get(f"/v2/orders/{quote(order_id, safe='')}"))

    def order_snapshot(self, order_id: str) -> PosOrderSnapshot:
        """The full order, read back as the canonical POS order (Flows 2 and 3)."""
        return snapshot_from_square(self.retrieve_order(order_id))

    def cancel_order(self, order: PosOrderSnapshot, idempotency_key: str) -> None:
        """UpdateOrder (PUT /v2/orders/{id}) with a sparse order: the latest `version`, `state` CANCELED, and each
        fulfillment not yet final CANCELED by its uid (squareup 46.0.0.20260916 orders/client.py `update`: "The latest
        `version` of the order to update", "Orders with a `COMPLETED` or `CANCELED` state cannot be updated";
        developer.squareup.com/docs/orders-api/fulfillments: fulfillments are canceled through UpdateOrder, by uid and
        state). A stale version is Square's 409: the kitchen changed the order meanwhile, so it is read again later
        (TransientError) and canceled at its new version under that version's key.

        An order with payments applied (`tendered`: every order Flow 1 exported is paid) keeps its state: "CANCELED:
        Canceled orders are not paid" (OrderState, square-php-sdk doc/models/order-state.md), and Square answers
        "Orders cannot be canceled after payments have been processed" (Square's developer forum,
        developer.squareup.com/forums/t/best-method-to-cancel-order-after-refund/922, whose advice is to cancel the
        fulfillment, which takes the order off the POS's active orders). So its fulfillments are canceled, and the
        flow refunds its payment."""
        if order.position.version is None:
            raise PermanentError(
                "pos_order_not_updatable", f"POS order {order.id} has no version: the API cannot update it"
            )
        fulfillments = [
            {"uid": f.uid, "state": "CANCELED"} for f in order.fulfillments if f.state not in FINAL_FULFILLMENT_STATES
        ]
        patch: dict[str, Any] = {"location_id": order.location_id, "version": order.position.version}
        if not order.tendered:
            patch["state"] = "CANCELED"
        elif not fulfillments:
            raise PermanentError(
                "pos_order_not_cancelable", f"POS order {order.id} is paid and has no open fulfillment to cancel"
            )
        if fulfillments:
            patch["fulfillments"] = fulfillments
        body = {"idempotency_key": fit_idempotency_key(idempotency_key, ORDER_KEY_MAX), "order": patch}
        try:
            self._client.request("PUT", f"/v2/orders/{quote(order.id, safe='')}", body)
        except PermanentError as exc:
            if exc.details.get("status") == 409:
                raise TransientError(f"POS order {order.id} changed while it was being canceled") from exc
            raise

    def refund_payment(self, payment_id: str, idempotency_key: str, reason: str) -> PosRefund:
        """GetPayment, then RefundPayment of what is left of it (pos/square/payments.py)."""
        return payments.refund_payment(self._client, payment_id, idempotency_key, reason)

    def orders_updated_since(self, since: str, cursor: str | None = None) -> PosOrderPage:
        """One page of this location's orders updated at or after `since` (RFC 3339), oldest change first."""
        body: dict[str, Any] = {
            "location_ids": [self._location_id],
            "query": {
                "filter": {"date_time_filter": {"updated_at": {"start_at": since}}},
                "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
            },
            "limit": SEARCH_PAGE,
        }
        if cursor:
            body["cursor"] = cursor  # Square wants the same query again with the cursor
        answer = self._client.post("/v2/orders/search", body)
        orders = answer.get("orders") or []
        try:
            summaries = tuple(summary_from_order(o) for o in orders)
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentError("square_unexpected_response", f"Square's order search answer: {exc}") from None
        following = answer.get("cursor")
        return PosOrderPage(orders=summaries, cursor=following if isinstance(following, str) and following else None)


def _unknown_catalog_id(refused: PermanentError) -> bool:
    """Square's answer to a catalog_object_id it does not have: 400 NOT_FOUND on that field (e.g.
    `order.line_items[0].catalog_object_id`, or a modifier's)."""
    details = refused.details
    field = details.get("field")
    return details.get("code") == "NOT_FOUND" and isinstance(field, str) and field.endswith("catalog_object_id")


def _order(payload: dict[str, Any]) -> dict[str, Any]:
    order = payload.get("order")
    if not isinstance(order, dict):
        raise PermanentError("square_unexpected_response", "Square's answer has no order.")
    return order
