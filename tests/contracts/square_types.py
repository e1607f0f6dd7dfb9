"""Helpers for the Square contract tests: the official SDK (squareup) as the oracle.

- `SandboxSeller`: one merchant on an in-process Square sandbox (httpx.WSGITransport: no socket, fast), every API call
  recorded as it went over the wire.
- `sdk_request`: the request the official SDK itself sends for an endpoint and a body, captured on a mock transport.
- `check` / `check_body`: the strict walk of JSON against the SDK's types (devstack/square_sandbox/sdk_schema.py).
"""

from __future__ import annotations

import collections.abc
import inspect
import json
import re
import types
import typing
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pydantic
import pytest
import typing_extensions
from square.client import Square
from square.types.catalog_version_updated_event import CatalogVersionUpdatedEvent
from square.types.inventory_count_updated_event import InventoryCountUpdatedEvent
from square.types.order_created_event import OrderCreatedEvent
from square.types.order_fulfillment_updated_event import OrderFulfillmentUpdatedEvent
from square.types.order_updated_event import OrderUpdatedEvent
from square.types.payment_created_event import PaymentCreatedEvent
from square.types.payment_updated_event import PaymentUpdatedEvent
from square.types.refund_created_event import RefundCreatedEvent

from devstack.square_sandbox import SquareSandbox
from devstack.square_sandbox.sdk_schema import SDK_ROUTES, Violation, check, check_body, fields_of, sdk_method
from devstack.wix_sandbox import WixSandbox
from devstack.wix_sandbox import orders as wix_orders
from posbridge.domain.catalog import LayoutOptions
from posbridge.domain.money import Money
from posbridge.domain.order import Address, Buyer, Fulfillment, LineItem, Modifier, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.pos_export import OrderPayment
from posbridge.pos.square import SquarePos, catalog_reader
from posbridge.pos.square.catalog_reader import SquareCatalogSource
from posbridge.pos.square.client import SquareClient
from posbridge.pos.square.order_money import ADJUSTMENT_NAME
from posbridge.wix.orders import restaurant_order

__all__ = [
    "ADAPTER_ROUTES",
    "SDK_ROUTES",
    "Exchange",
    "SandboxSeller",
    "Violation",
    "check",
    "check_body",
    "drive_the_adapter",
    "route_of",
    "sdk_request",
    "track_adapter_reads",
    "unknown_paths",
]

SANDBOX_URL = "http://square.sandbox.test"


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as they went over the wire."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None
    status: int
    answer: dict[str, Any]

    @property
    def route(self) -> str:
        return route_of(self.method, self.path)[0]


class RecordingTransport(httpx.BaseTransport):
    """Hands every request to `inner` and records it with its answer."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        content = request.read()
        self.exchanges.append(
            Exchange(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                headers=dict(request.headers),
                body=json.loads(content) if content else None,
                status=response.status_code,
                answer=response.json() if response.content else {},
            )
        )
        return response


@dataclass
class SandboxSeller:
    """A fresh Square sandbox with one merchant; `api` records every /v2 exchange."""

    sandbox: SquareSandbox = field(default_factory=SquareSandbox)
    merchant_id: str = field(default_factory=lambda: f"M{uuid.uuid4().hex[:10].upper()}")
    location_id: str = field(default_factory=lambda: f"L{uuid.uuid4().hex[:10].upper()}")
    token: str = field(default_factory=lambda: f"EAAA{uuid.uuid4().hex}")

    def __post_init__(self) -> None:
        self.transport = RecordingTransport(httpx.WSGITransport(app=self.sandbox.wsgi_app))
        self.control = httpx.Client(transport=httpx.WSGITransport(app=self.sandbox.wsgi_app), base_url=SANDBOX_URL)
        created = self.control.post(
            "/_sandbox/merchants",
            json={
                "merchantId": self.merchant_id,
                "locationId": self.location_id,
                "accessToken": self.token,
                "signatureKey": "contract-signature-key",
            },
        )
        assert created.status_code == 200, created.text
        self.http = httpx.Client(transport=self.transport)

    @property
    def exchanges(self) -> list[Exchange]:
        return self.transport.exchanges

    def seller(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A seller's own action (control API: seed the catalog, move a fulfillment, ring up a POS-app order...)."""
        answer = self.control.post(f"/_sandbox/merchants/{self.merchant_id}{path}", json=body or {})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def state(self) -> dict[str, Any]:
        return dict(self.control.get(f"/_sandbox/merchants/{self.merchant_id}/state").json())

    def close(self) -> None:
        self.http.close()
        self.control.close()


# Most literal first: "/v2/inventory/adjustment-reasons" is that endpoint, not "/v2/inventory/{catalog_object_id}".
_TEMPLATES = sorted(
    (
        (route, re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route)) + "$"))
        for route in SDK_ROUTES
    ),
    key=lambda entry: (entry[0].count("{"), entry[0]),
)


def route_of(method: str, path: str) -> tuple[str, dict[str, str]]:
    """The SDK endpoint a request is for ("GET /v2/orders/{order_id}") and its path parameters."""
    for route, pattern in _TEMPLATES:
        found = pattern.match(f"{method} {path}")
        if found:
            return route, found.groupdict()
    raise AssertionError(f"{method} {path} is no endpoint of the official Square SDK")


@dataclass(frozen=True)
class SdkRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None


def sdk_request(route: str, path_params: dict[str, str], arguments: dict[str, Any]) -> SdkRequest:
    """The request squareup's own client sends for `route` called with `arguments` (the body, or the query of a GET),
    captured on a mock transport that answers `{}`."""
    captured: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        client = Square(token="contract-token", base_url="https://connect.squareup.com", httpx_client=http)
        method = sdk_method(route)
        raw_class = method.__globals__[method.__qualname__.split(".")[0]]
        raw_client = raw_class(client_wrapper=client._client_wrapper)
        positional = [path_params[name] for name in inspect.signature(method).parameters if name in path_params]
        method(raw_client, *positional, **arguments)
    (request,) = captured
    content = request.read()
    return SdkRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.url.params),
        headers=dict(request.headers),
        body=json.loads(content) if content else None,
    )


# ---- the adapter, driven through every code path that calls Square ---------------------------------------------

# Every Square endpoint the adapter calls (grep "/v2/" in layers/posbridge/posbridge/pos/square): the drive below must
# reach each one, so a new call in the adapter without a contract here fails this suite.
# The webhook events the sandbox sends, each with the SDK model it must fit (square/types/*_event.py).
EVENT_MODELS: dict[str, type] = {
    "order.created": OrderCreatedEvent,
    "order.updated": OrderUpdatedEvent,
    "order.fulfillment.updated": OrderFulfillmentUpdatedEvent,
    "catalog.version.updated": CatalogVersionUpdatedEvent,
    "inventory.count.updated": InventoryCountUpdatedEvent,
    "payment.created": PaymentCreatedEvent,
    "payment.updated": PaymentUpdatedEvent,
    "refund.created": RefundCreatedEvent,
}


ADAPTER_ROUTES = {
    "POST /v2/customers/search",
    "POST /v2/customers",
    "POST /v2/orders",
    "POST /v2/payments",
    "POST /v2/orders/{order_id}/pay",
    "GET /v2/orders/{order_id}",
    "POST /v2/orders/search",
    "POST /v2/catalog/search",
    "POST /v2/catalog/batch-retrieve",
    "POST /v2/inventory/counts/batch-retrieve",
    "PUT /v2/orders/{order_id}",
    "GET /v2/payments/{payment_id}",
    "POST /v2/refunds",
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


def drive_the_adapter(seller: SandboxSeller, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every adapter code path that calls Square, with pages small enough that cursors are followed."""
    monkeypatch.setattr(catalog_reader, "SEARCH_LIMIT", 3)
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
            _order(
                "wix-order-3",
                Fulfillment(
                    type="DELIVERY",
                    address=Address(line1="1 Main St", city="New York", subdivision="US-NY", country="US"),
                    instructions="Gate B",
                ),
                ada,
            ),
            customer_id,
            "wix-order-3",
        ),
    ]
    # Payments: paid on Wix with a tip (EXTERNAL), to collect at pickup (OTHER, with a note), and a delivery sent as
    # DELIVERY for a partner seller, each settled by PayOrder
    tipped = OrderPayment(wix_order_id="wix-order-1", tip=_usd("2.00"))
    paid_id = pos.pay_order(created[0], tipped, "pay-1:p", "pay-1:o")
    owed = OrderPayment(wix_order_id="wix-order-2", to_collect=_usd("26.99"))
    pos.pay_order(created[1], owed, "pay-2:p", "pay-2:o")
    partner = SquarePos(client, seller.location_id, delivery_partner=True)
    delivery = Fulfillment(type="DELIVERY", address=Address(line1="2 Main St"))
    delivered = partner.create_order(_order("wix-order-5", delivery, ada), None, "wix-order-5")
    partner.pay_order(delivered, OrderPayment(wix_order_id="wix-order-5"), "pay-5:p", "pay-5:o")
    created.append(delivered)
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

    # Canceled on Wix: the paid order's pickup canceled (Square cancels no paid order), its payment refunded in full
    # (GetPayment, RefundPayment), and a second refund finds nothing left to refund
    pos.cancel_order(pos.order_snapshot(created[0].id), "wix-order-1:cancel")
    assert paid_id is not None
    assert pos.refund_payment(paid_id, "wix-order-1:refund", "Canceled or refunded on Wix (posbridge)").new
    assert not pos.refund_payment(paid_id, "wix-order-1:refund", "Canceled or refunded on Wix (posbridge)").new

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

    # An order itemized from that catalog: a variation and a modifier by id, at Wix's prices, the other modifier ad hoc
    variation = next(iter(whole.items.values())).variations[0].pos_id
    modifier = next(iter(whole.modifier_groups.values())).modifiers[0].pos_id
    itemized = _order("wix-order-4", None, ada)
    catalog = {itemized.line_items[0].id: CatalogLine(variation_id=variation, modifier_ids=(modifier, None))}
    placed_itemized = pos.create_order(itemized, None, "wix-order-4", catalog)
    assert pos.order_snapshot(placed_itemized.id).lines[0].variation_id == variation
    pos.cancel_order(pos.order_snapshot(placed_itemized.id), "wix-order-4:cancel")  # unpaid: the order is CANCELED

    # An order with its money itemized as Wix priced it: a LINE_ITEM tax, discount shares, a taxed delivery fee and
    # service fee, and the rounding adjustment (here a discount: Square's single rounding is a cent over Wix's)
    placed_money = pos.create_order(restaurant_order(_wix_priced_order()), customer_id, "wix-order-6")
    assert (placed_money.adjustment_minor, placed_money.adjustment_name) == (-1, ADJUSTMENT_NAME)


def _wix_priced_order() -> dict[str, Any]:
    """A taxed delivery order with a coupon, an automatic discount, a service fee and a tip, as the Wix sandbox's
    checkout prices it."""
    box = WixSandbox("6f3c2b7e-0d1a-4c55-9a7e-1b2c3d4e5f60", "secret")
    inst = box.store.add_instance("contract-money")
    dish = {"kind": "restaurant", "quantity": 1}
    order, _ = wix_orders.checkout(inst, box.clock, {
        "lines": [{**dish, "name": "Pizza", "price": "10.99", "quantity": 3,
                   "modifiers": [{"name": "Olives", "price": "1.00"}]}, {**dish, "name": "Tea", "price": "2.50"}],
        "buyer": {"email": "ada@example.com"},
        "fulfillment": {"type": "DELIVERY", "fee": "4.99",
                        "address": {"addressLine": "1 Main St", "city": "New York", "country": "US"}},
        "tax": {"rate": "0.08875"}, "coupon": {"code": "SAVE10", "percentage": "10"},
        "automaticDiscount": {"name": "Tea off", "amount": "1.00", "lines": [1]},
        "fees": [{"name": "Service fee", "amount": "1.50", "taxable": True}], "tip": "3.00",
    })  # fmt: skip
    return order


# ---- what the adapter reads from Square's answers -------------------------------------------------------------------


class TrackedDict(dict[str, Any]):
    """A JSON object that records every key read from it (`get`, `[]`, `in`) as a path such as
    `order.line_items[].base_price_money.amount`, and hands out its objects tracked the same way."""

    def __init__(self, data: dict[str, Any], path: str, reads: set[str]) -> None:
        super().__init__(data)
        self._path = path
        self._reads = reads

    def _seen(self, key: object) -> str:
        path = f"{self._path}.{key}" if self._path else str(key)
        self._reads.add(path)
        return path

    def _wrap(self, path: str, value: Any) -> Any:
        if isinstance(value, dict):
            return TrackedDict(value, path, self._reads)
        if isinstance(value, list):
            return [TrackedDict(v, f"{path}[]", self._reads) if isinstance(v, dict) else v for v in value]
        return value

    def __getitem__(self, key: str) -> Any:
        return self._wrap(self._seen(key), super().__getitem__(key))

    def get(self, key: str, default: Any = None) -> Any:
        path = self._seen(key)
        return self._wrap(path, super().__getitem__(key)) if super().__contains__(key) else default

    def __contains__(self, key: object) -> bool:
        self._seen(key)
        return super().__contains__(key)


def track_adapter_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Every key the Square adapter reads from each endpoint's answers, by route (filled as the adapter runs)."""
    from posbridge.http_retry import json_object as original
    from posbridge.pos.square import client as square_client

    reads: dict[str, set[str]] = {}

    def tracked(response: httpx.Response, service: str, method: str, path: str, **options: Any) -> dict[str, Any]:
        payload = original(response, service, method, path, **options)
        return TrackedDict(payload, "", reads.setdefault(route_of(method, path)[0], set()))

    monkeypatch.setattr(square_client, "json_object", tracked)
    return reads


def unknown_paths(model: type, paths: set[str]) -> set[str]:
    """The paths (`a.b[].c`) that name no field of `model` (a `square.types` model), following lists and unions."""
    return {path for path in paths if not _resolves(model, path.split("."))}


def _resolves(annotation: Any, segments: list[str]) -> bool:
    if not segments:
        return True
    key, listed = segments[0].removesuffix("[]"), segments[0].endswith("[]")
    for option in _options(annotation):
        spec = fields_of(option).get(key)
        if spec is None:
            continue
        inner = (
            [a for o in _options(spec.annotation, models_only=False) for a in _elements(o)]
            if listed
            else [spec.annotation]
        )
        if any(_resolves(i, segments[1:]) if segments[1:] else True for i in inner):
            return True
    return False


def _options(annotation: Any, models_only: bool = True) -> list[Any]:
    """The alternatives of a (possibly Optional / Union / Annotated) type; only the models among them by default."""
    annotation = typing_extensions.get_args(annotation)[0] if _is_annotated(annotation) else annotation
    if typing_extensions.get_origin(annotation) in (typing.Union, types.UnionType):
        found = [o for a in typing_extensions.get_args(annotation) for o in _options(a, models_only)]
    else:
        found = [annotation]
    return [o for o in found if not models_only or (inspect.isclass(o) and issubclass(o, pydantic.BaseModel))]


def _elements(annotation: Any) -> list[Any]:
    args = typing_extensions.get_args(annotation)
    return [args[0]] if typing_extensions.get_origin(annotation) in (list, collections.abc.Sequence) and args else []


def _is_annotated(annotation: Any) -> bool:
    return typing_extensions.get_origin(annotation) is typing_extensions.Annotated
