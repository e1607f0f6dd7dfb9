"""The Square adapter behind the PosGateway port: one seller location, reached through one SquareClient."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from posbridge.domain.order import Buyer, Order
from posbridge.errors import PermanentError
from posbridge.pos.port import PosOrder
from posbridge.pos.square import customers
from posbridge.pos.square.client import SquareClient, fit_idempotency_key
from posbridge.pos.square.orders import from_square_order, to_square_order

ORDER_KEY_MAX = 192  # CreateOrder's documented idempotency_key limit

__all__ = ["SquareClient", "SquarePos"]


class SquarePos:
    """PosGateway for Square. Raises TransientError (after the client's retries) or PermanentError."""

    def __init__(self, client: SquareClient, location_id: str) -> None:
        self._client = client
        self._location_id = location_id

    def __repr__(self) -> str:
        return f"SquarePos(location_id={self._location_id!r})"

    def find_or_create_customer(self, buyer: Buyer, idempotency_key: str) -> str | None:
        return customers.find_or_create(self._client, buyer, idempotency_key)

    def create_order(self, order: Order, customer_id: str | None, idempotency_key: str) -> PosOrder:
        body = {
            "idempotency_key": fit_idempotency_key(idempotency_key, ORDER_KEY_MAX),
            "order": to_square_order(order, self._location_id, customer_id),
        }
        return from_square_order(_order(self._client.post("/v2/orders", body)))

    def retrieve_order(self, order_id: str) -> dict[str, Any]:
        """The full Square order (e.g. after an order.updated webhook, which carries only a summary)."""
        return _order(self._client.get(f"/v2/orders/{quote(order_id, safe='')}"))


def _order(payload: dict[str, Any]) -> dict[str, Any]:
    order = payload.get("order")
    if not isinstance(order, dict):
        raise PermanentError("square_unexpected_response", "Square's answer has no order.")
    return order
