"""The official Square Python SDK (squareup 46.0.0.20260916) as the client of the Square sandbox, on every endpoint.

The sandbox runs as a real HTTP server on 127.0.0.1 and `square.client.Square(token=..., base_url=...)` talks to it
exactly as it would to connect.squareup.com: if the vendor's own client cannot use an endpoint, the sandbox is wrong.
Webhooks the sandbox sends are checked with the SDK's own signature helper and read with its event models.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from square.client import Square
from square.core.api_error import ApiError
from square.types.catalog_object import CatalogObject_Item
from square.utils.webhooks_helper import verify_signature
from werkzeug.wrappers import Request, Response

from devstack.httpserver import BackgroundServer
from devstack.square_sandbox import SquareSandbox
from posbridge.pos.square.webhooks import is_valid
from tests.contracts.square_types import EVENT_MODELS

pytestmark = pytest.mark.contracts

SIGNATURE_KEY = "sdk-contract-signature-key"


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 recording every notification: (headers, raw body)."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.received.append((dict(request.headers), request.get_data()))
        return Response("", status=200)(environ, start_response)


@dataclass
class Seller:
    client: Square
    location_id: str
    token: str
    notification_url: str
    control: httpx.Client
    merchant_id: str

    def seller(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.control.post(f"/_sandbox/merchants/{self.merchant_id}{path}", json=body or {})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    app = Receiver()
    with BackgroundServer(app) as server:
        app.url = server.url
        yield app


@pytest.fixture(scope="module")
def seller(receiver: Receiver) -> Iterator[Seller]:
    with BackgroundServer(SquareSandbox().wsgi_app) as server, httpx.Client(base_url=server.url, timeout=5) as control:
        merchant_id, location_id, token = "MSDKCONTRACT", "LSDKCONTRACT", f"EAAA{uuid.uuid4().hex}"
        notification_url = f"{receiver.url}/square/webhooks?tenant=sdk"
        created = control.post(
            "/_sandbox/merchants",
            json={
                "merchantId": merchant_id,
                "locationId": location_id,
                "accessToken": token,
                "signatureKey": SIGNATURE_KEY,
                "notificationUrl": notification_url,
            },
        )
        assert created.status_code == 200, created.text
        client = Square(token=token, base_url=server.url, timeout=5)
        yield Seller(client, location_id, token, notification_url, control, merchant_id)


def _api_error(call: Callable[[], object]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def _order(location_id: str, reference: str) -> dict[str, Any]:
    return {
        "location_id": location_id,
        "reference_id": reference,
        "line_items": [
            {"uid": "soda", "name": "Soda", "quantity": "2", "base_price_money": {"amount": 199, "currency": "USD"}}
        ],
        "fulfillments": [
            {
                "uid": "pickup",
                "type": "PICKUP",
                "state": "PROPOSED",
                "pickup_details": {"recipient": {"display_name": "Ada"}, "schedule_type": "ASAP"},
            }
        ],
    }


def test_locations(seller: Seller) -> None:
    # When the SDK lists the seller's locations
    locations = seller.client.locations.list().locations or []
    # Then it reads the one location, typed
    assert [(loc.id, loc.currency, loc.status) for loc in locations] == [(seller.location_id, "USD", "ACTIVE")]


def test_catalog_read_write_and_delete(seller: Seller) -> None:
    # Given the seeded restaurant catalog
    seller.seller("/seed-catalog")
    client = seller.client.catalog
    # When the SDK lists the top-level objects (its pager follows the cursors)
    listed = list(client.list())
    # Then it gets ITEM, CATEGORY and MODIFIER_LIST objects with variations nested and typed
    items = [o for o in listed if isinstance(o, CatalogObject_Item)]
    assert {o.type for o in listed} == {"ITEM", "CATEGORY", "MODIFIER_LIST"}
    assert items and all(o.item_data and o.item_data.variations for o in items)

    # When it searches three objects a page, cursor after cursor
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = client.search(object_types=["ITEM"], limit=3, **({"cursor": cursor} if cursor else {}))
        ids += [o.id for o in page.objects or []]
        cursor = page.cursor
        if not cursor:
            break
    # Then every item comes exactly once, and the first page carried the catalog's latest time
    assert sorted(ids) == sorted(o.id for o in items)

    # When it retrieves two items with their related objects
    got = client.batch_get(object_ids=[items[0].id, items[1].id], include_related_objects=True)
    # Then the items come back and their categories among the related objects
    assert {o.id for o in got.objects or []} == {items[0].id, items[1].id}
    assert {o.type for o in got.related_objects or []} >= {"CATEGORY"}

    # When it upserts an item with two variations under temporary ids
    variations: list[dict[str, Any]] = [
        {
            "type": "ITEM_VARIATION",
            "id": f"#v{k}",
            "item_variation_data": {
                "name": f"Size {k}",
                "pricing_type": "FIXED_PRICING",
                "price_money": {"amount": 100 + k, "currency": "USD"},
            },
        }
        for k in range(2)
    ]
    upserted = client.batch_upsert(
        idempotency_key="sdk-upsert-1",
        batches=[{"objects": [{"type": "ITEM", "id": "#big", "item_data": {"name": "Big", "variations": variations}}]}],
    )
    # Then every temporary id maps to a real one, and the answer carries the typed objects
    mapping = {m.client_object_id: m.object_id for m in upserted.id_mappings or []}
    assert set(mapping) == {"#big", "#v0", "#v1"}
    assert [o.id for o in upserted.objects or []] == [mapping["#big"]]

    # Given more variations than one list page holds (written directly: the SDK's serialisation of a 120-object
    # upsert alone takes about a second)
    many = [dict(v, id=f"#w{k}", item_variation_data=dict(v["item_variation_data"], name=f"W{k}")) for k, v in
            enumerate(variations * 60)]  # fmt: skip
    written = seller.control.post(
        "/v2/catalog/batch-upsert",
        headers={"Authorization": f"Bearer {seller.token}"},
        json={"idempotency_key": "raw-many", "batches": [{"objects": [
            {"type": "ITEM", "id": "#many", "item_data": {"name": "Many", "variations": many}}]}]},
    )  # fmt: skip
    assert written.status_code == 200, written.text
    # When the SDK lists every variation, its pager following the cursors
    listed_variations = [o.id for o in client.list(types="ITEM_VARIATION")]
    # Then each comes once, over more than one page
    assert len(listed_variations) == len(set(listed_variations)) > 100
    assert {mapping["#v0"], mapping["#v1"]} <= set(listed_variations)

    # When it deletes the item
    deleted = client.batch_delete(object_ids=[mapping["#big"]])
    # Then the item and its variations are reported deleted, and a search since the upsert shows them as deleted
    assert set(deleted.deleted_object_ids or []) == set(mapping.values())
    since = client.search(object_types=["ITEM"], include_deleted_objects=True, begin_time=upserted.updated_at)
    assert (mapping["#big"], True) in [(o.id, o.is_deleted) for o in since.objects or []]


def test_inventory_counts(seller: Seller) -> None:
    # Given two seeded variations the seller counted, the second later
    objects = seller.seller("/seed-catalog")["objects"]
    first, second = [v["id"] for o in objects if o["type"] == "ITEM" for v in o["item_data"]["variations"]][:2]
    seller.seller("/inventory", {"variationId": first, "quantity": "3"})
    seller.seller("/inventory", {"variationId": second, "quantity": "1.5"})
    # When the SDK pages through the location's counts, and asks for one variation's
    counted = list(seller.client.inventory.batch_get_counts(location_ids=[seller.location_id], limit=1))
    one = list(seller.client.inventory.batch_get_counts(catalog_object_ids=[first], states=["IN_STOCK"]))
    # Then it reads typed counts, newest first, across pages, and the filter applies
    assert [(c.catalog_object_id, c.quantity) for c in counted[:2]] == [(second, "1.5"), (first, "3")]
    assert [(c.catalog_object_id, c.state, c.location_id) for c in one] == [(first, "IN_STOCK", seller.location_id)]


def test_customers(seller: Seller) -> None:
    # When the SDK creates a customer
    created = seller.client.customers.create(
        idempotency_key="sdk-customer-1", given_name="Ada", email_address="ada@example.com", phone_number="+12125550100"
    ).customer
    assert created is not None and created.id
    # Then it reads it back by id and finds it by exact e-mail address
    assert (seller.client.customers.get(created.id).customer or created).email_address == "ada@example.com"
    found = seller.client.customers.search(query={"filter": {"email_address": {"exact": "ada@example.com"}}})
    assert [c.id for c in found.customers or []] == [created.id]
    # When a second customer exists and the SDK pages through all customers one at a time
    seller.client.customers.create(idempotency_key="sdk-customer-2", family_name="Hopper")
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = seller.client.customers.search(limit=1, **({"cursor": cursor} if cursor else {}))
        pages.append([c.id for c in page.customers or [] if c.id])
        cursor = page.cursor
        if not cursor:
            break
    # Then each page holds one customer and the cursor ends after the last
    assert [len(p) for p in pages] == [1, 1] and created.id in {pages[0][0], pages[1][0]}
    # And an unknown id is the SDK's ApiError 404 NOT_FOUND
    error = _api_error(lambda: seller.client.customers.get("NO-SUCH-CUSTOMER"))
    assert (error.status_code, error.errors[0].code) == (404, "NOT_FOUND")


def test_orders(seller: Seller) -> None:
    orders = seller.client.orders
    # When the SDK creates three orders
    created = [
        orders.create(order=_order(seller.location_id, f"wix-{k}"), idempotency_key=f"sdk-order-{k}").order
        for k in range(3)
    ]
    assert all(o is not None and o.id and o.version == 1 for o in created)
    ids = [o.id for o in created if o is not None and o.id]
    # Then each comes back from get with its totals in integer cents
    first = orders.get(ids[0]).order
    assert first is not None and first.reference_id == "wix-0" and first.total_money is not None
    assert (first.total_money.amount, first.total_money.currency) == (398, "USD")
    # And batch-retrieve returns the known ones and ignores an unknown id
    assert {o.id for o in orders.batch_get(order_ids=[*ids, "NO-SUCH-ORDER"]).orders or []} == set(ids)

    # When it searches one order a page, cursor after cursor, oldest first
    query = {"sort": {"sort_field": "CREATED_AT", "sort_order": "ASC"}}
    found: list[str] = []
    cursor: str | None = None
    while True:
        page = orders.search(
            location_ids=[seller.location_id], query=query, limit=1, **({"cursor": cursor} if cursor else {})
        )
        found += [o.id for o in page.orders or [] if o.id]
        cursor = page.cursor
        if not cursor:
            break
    # Then every order comes once, in creation order
    assert found == ids

    # When it moves the pickup forward with the current version
    updated = orders.update(
        ids[0],
        order={
            "location_id": seller.location_id,
            "version": 1,
            "fulfillments": [{"uid": "pickup", "state": "RESERVED"}],
        },
        idempotency_key="sdk-update-1",
    ).order
    # Then the version goes up and the state is stored
    assert updated is not None and updated.version == 2
    assert [f.state for f in updated.fulfillments or []] == ["RESERVED"]
    # And a stale version is the SDK's ApiError 409 CONFLICT naming the field
    stale = _api_error(
        lambda: orders.update(
            ids[0],
            order={"location_id": seller.location_id, "version": 1, "state": "CANCELED"},
            request_options={"max_retries": 0},  # the SDK retries a 409 twice, sleeping 1 s and 2 s
        )
    )
    assert (stale.status_code, stale.errors[0].code, stale.errors[0].field) == (409, "CONFLICT", "order.version")
    # And an unknown order is a 404, a missing idempotency key a 400 naming it
    missing = _api_error(lambda: orders.get("NO-SUCH-ORDER"))
    assert (missing.status_code, missing.errors[0].code) == (404, "NOT_FOUND")
    keyless = _api_error(lambda: orders.create(order=_order(seller.location_id, "wix-x")))
    assert (keyless.status_code, keyless.errors[0].code, keyless.errors[0].field) == (
        400,
        "MISSING_REQUIRED_PARAMETER",
        "idempotency_key",
    )


def _itemized(location_id: str, reference: str) -> dict[str, Any]:
    """The pickup order with an 8.875% order tax, a $1 coupon, a taxable $2.50 fee and a $1 courier tip."""
    usd: Callable[[int], dict[str, Any]] = lambda amount: {"amount": amount, "currency": "USD"}  # noqa: E731
    return _order(location_id, reference) | {
        "taxes": [{"uid": "tax", "name": "Sales", "type": "ADDITIVE", "percentage": "8.875", "scope": "ORDER"}],
        "discounts": [
            {"uid": "coupon", "name": "SAVE1", "type": "FIXED_AMOUNT", "amount_money": usd(100), "scope": "ORDER"}
        ],
        "service_charges": [
            {
                "uid": "fee",
                "name": "Delivery",
                "amount_money": usd(250),
                "calculation_phase": "SUBTOTAL_PHASE",
                "taxable": True,
            },
            {"uid": "courier", "name": "Courier tip", "amount_money": usd(100), "calculation_phase": "TOTAL_PHASE"},
        ],
    }


# 2 x 1.99 - 1.00 = 2.98; + 2.50 fee; tax 8.875% of 5.48 = 0.48635 -> 0.49; + 1.00 courier
ITEMIZED_TOTAL = 298 + 250 + 49 + 100


def test_calculate_then_create_an_itemized_order(seller: Seller) -> None:
    # Given an order with a tax, a coupon and service charges
    body = _itemized(seller.location_id, "wix-calc")
    # When the SDK previews it, then creates it
    preview = seller.client.orders.calculate(order=body).order
    created = seller.client.orders.create(order=body, idempotency_key="sdk-calc").order
    # Then both read, typed, the same documented amounts
    assert preview is not None and created is not None
    for order in (preview, created):
        assert order.total_money is not None and order.total_money.amount == ITEMIZED_TOTAL
        assert order.total_tax_money is not None and order.total_tax_money.amount == 49
        assert order.total_discount_money is not None and order.total_discount_money.amount == 100
        assert order.service_charges is not None and order.service_charges[1].calculation_phase == "TOTAL_PHASE"
        line = (order.line_items or [])[0]
        assert line.applied_discounts is not None and line.applied_discounts[0].discount_uid == "coupon"
    # And an invalid adjustment is the SDK's ApiError 400 naming the field
    bad = body | {"taxes": [{"uid": "tax", "type": "ADDITIVE", "percentage": "8.875"}]}
    error = _api_error(lambda: seller.client.orders.calculate(order=bad))
    assert (error.status_code, error.errors[0].field) == (400, "order.taxes[0].scope")


def test_external_payment_pay_order_and_refund(seller: Seller) -> None:
    # Given an itemized order with a pickup
    order = seller.client.orders.create(order=_itemized(seller.location_id, "wix-pay"), idempotency_key="sdk-pay").order
    assert order is not None and order.id and order.total_money is not None
    external = {"type": "OTHER", "source": "Wix", "source_id": "wix-pay"}
    # When the SDK records an external payment held for the order (with the restaurant's tip) and pays the order
    payment = seller.client.payments.create(
        source_id="EXTERNAL",
        idempotency_key="sdk-payment",
        amount_money={"amount": order.total_money.amount or 0, "currency": "USD"},
        tip_money={"amount": 300, "currency": "USD"},
        order_id=order.id,
        autocomplete=False,
        external_details=external,
    ).payment
    assert payment is not None and payment.id and payment.status == "APPROVED"
    paid = seller.client.orders.pay(order.id, idempotency_key="sdk-pay-order", payment_ids=[payment.id]).order
    # Then the order is paid (a tender, nothing due) and stays OPEN for its fulfillment; the payment is captured
    assert paid is not None and paid.tenders is not None and paid.tenders[0].payment_id == payment.id
    assert paid.net_amount_due_money is not None and paid.net_amount_due_money.amount == 0
    assert paid.state == "OPEN"
    fetched = seller.client.payments.get(payment.id).payment
    assert fetched is not None and fetched.status == "COMPLETED" and fetched.external_details is not None
    assert fetched.external_details.source == "Wix"
    # When the SDK refunds the whole payment
    refund = seller.client.refunds.refund_payment(
        idempotency_key="sdk-refund",
        payment_id=payment.id,
        amount_money={"amount": ITEMIZED_TOTAL + 300, "currency": "USD"},
        reason="Canceled on Wix",
    ).refund
    # Then it is recorded, and nothing more can be refunded
    assert refund is not None and refund.status == "COMPLETED" and refund.payment_id == payment.id
    assert refund.id and seller.client.refunds.get(refund.id).refund is not None
    more = _api_error(
        lambda: seller.client.refunds.refund_payment(
            idempotency_key="sdk-refund-2", payment_id=payment.id, amount_money={"amount": 1, "currency": "USD"}
        )
    )
    assert (more.status_code, more.errors[0].code) == (400, "REFUND_AMOUNT_INVALID")
    # And a payment the order's total does not match is PAYMENT_AMOUNT_MISMATCH
    other = seller.client.orders.create(
        order=_order(seller.location_id, "wix-pay-2"), idempotency_key="sdk-pay-2"
    ).order
    assert other is not None and other.id
    mismatch = _api_error(
        lambda: seller.client.payments.create(
            source_id="EXTERNAL",
            idempotency_key="sdk-payment-2",
            amount_money={"amount": 1, "currency": "USD"},
            order_id=other.id,
            external_details=external,
        )
    )
    assert (mismatch.status_code, mismatch.errors[0].code) == (400, "PAYMENT_AMOUNT_MISMATCH")


def test_a_bad_token_is_the_sdks_401(seller: Seller) -> None:
    # Given the SDK with a token the sandbox does not know
    stranger = Square(token="EAAA-not-a-token", base_url=seller.client._client_wrapper.get_base_url(), timeout=5)
    # When it calls any endpoint
    error = _api_error(lambda: stranger.locations.list())
    # Then it raises ApiError 401 with Square's AUTHENTICATION_ERROR
    assert (error.status_code, error.errors[0].category, error.errors[0].code) == (
        401,
        "AUTHENTICATION_ERROR",
        "UNAUTHORIZED",
    )


def test_webhooks_verify_with_the_sdks_signature_helper(seller: Seller, receiver: Receiver) -> None:
    # Given an order the SDK created and the kitchen then prepared (order.created, .updated, .fulfillment.updated)
    order = seller.client.orders.create(order=_order(seller.location_id, "wix-hook"), idempotency_key="sdk-hook").order
    assert order is not None and order.id
    seller.seller(f"/orders/{order.id}/fulfillment-state", {"state": "PREPARED"})
    seller.seller("/seed-catalog")  # catalog.version.updated
    payment = seller.client.payments.create(  # payment.created, then refund.created and payment.updated
        source_id="EXTERNAL",
        idempotency_key="sdk-hook-payment",
        amount_money={"amount": 100, "currency": "USD"},
        external_details={"type": "OTHER", "source": "Wix"},
    ).payment
    assert payment is not None and payment.id
    seller.client.refunds.refund_payment(
        idempotency_key="sdk-hook-refund", payment_id=payment.id, amount_money={"amount": 100, "currency": "USD"}
    )
    with receiver.lock:
        received = list(receiver.received)
    kinds = {json.loads(body)["type"] for _, body in received}
    assert kinds >= set(EVENT_MODELS)
    for headers, body in received:
        signature = headers["X-Square-Hmacsha256-Signature"]
        # Then every notification verifies with the SDK's own helper, and with posbridge's check
        assert verify_signature(
            request_body=body.decode(),
            signature_header=signature,
            signature_key=SIGNATURE_KEY,
            notification_url=seller.notification_url,
        )
        assert is_valid(SIGNATURE_KEY, seller.notification_url, body, signature)
        # And the SDK's event model reads it without anything left over
        event = json.loads(body)
        parsed = EVENT_MODELS[event["type"]].model_validate(event)  # type: ignore[attr-defined]
        assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == event
