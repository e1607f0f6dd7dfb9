"""The order webhooks the Wix sandbox sends, and the samples under events/wix_webhook/, against the official SDK: each
layer has the REST type's shape (meta.d.ts: MessageEnvelope, DomainEvent, the Order entity, the action bodies), and
@wix/sdk's own webhook parsing (createClient + AppStrategy) reads the body and hands its handler the order."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from werkzeug.wrappers import Request, Response

from devstack.httpserver import BackgroundServer
from devstack.wix_sandbox import WixSandbox, sign_webhook
from tests.contracts.wix_sdk import WixSdk
from tests.contracts.wix_site import APP_ID, APP_SECRET, ORDERS, Site, create, install

pytestmark = pytest.mark.contracts

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "wix_webhook"
# The domain event's body, by kind: what the SDK's handler reads (event-handlers-modules.js runHandler)
BODY_KEYS = {"createdEvent": {"entity"}, "updatedEvent": {"currentEntity", "modifiedFields"}, "actionEvent": {"body"}}
ACTION_BODIES = {"approved": "OrderApproved", "canceled": "OrderCanceledEventOrderCanceled",
                 "payment_status_updated": "PaymentStatusUpdated"}  # fmt: skip
HANDLERS = {"created": "onOrderCreated", "approved": "onOrderApproved", "canceled": "onOrderCanceled",
            "updated": "onOrderUpdated", "payment_status_updated": "onOrderPaymentStatusUpdated"}  # fmt: skip


class Receiver:
    """A webhook endpoint that keeps the raw bodies and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.bodies.append(Request(environ).get_data(as_text=True))
        return Response("ok")(environ, start_response)

    def take(self) -> list[str]:
        with self._lock:
            taken, self.bodies = self.bodies, []
        return taken


@pytest.fixture(scope="module")
def wix() -> Iterator[tuple[WixSandbox, str, Receiver]]:
    box, receiver = WixSandbox(APP_ID, APP_SECRET), Receiver()
    with BackgroundServer(box.wsgi_app) as server, BackgroundServer(receiver) as hooks:
        box.webhook_url = f"{hooks.url}/webhooks/wix"
        yield box, server.url, receiver


@pytest.fixture
def site(wix: tuple[WixSandbox, str, Receiver], wix_sdk: WixSdk) -> Site:
    box, url, receiver = wix
    installed = install(box, url, wix_sdk)
    receiver.take()
    return installed


def event_errors(sdk: WixSdk, event: dict[str, Any]) -> list[str]:
    """How a decoded domain event breaks the REST types: its metadata (DomainEvent), its body's shape, the Order."""
    kinds = [kind for kind in BODY_KEYS if kind in event]
    assert len(kinds) == 1, f"one body kind expected, got {kinds}"
    kind = kinds[0]
    metadata = {k: v for k, v in event.items() if k != kind}
    errors = sdk.errors(ORDERS, "DomainEvent", metadata)
    body = event[kind]
    errors += [f"{kind}: unexpected {key}" for key in sorted(set(body) - BODY_KEYS[kind])]
    if kind == "createdEvent":
        errors += sdk.errors(ORDERS, "Order", body["entity"])
    elif kind == "updatedEvent":
        errors += sdk.errors(ORDERS, "Order", body["currentEntity"])
    else:
        errors += sdk.errors(ORDERS, ACTION_BODIES[event["slug"]], body["body"])
    return errors


def body_errors(sdk: WixSdk, body: str, public_key: bytes) -> tuple[list[str], dict[str, Any]]:
    """The JWT's layers as the SDK parses them: `data` a JSON string of the MessageEnvelope, whose `data` and
    `identity` are JSON strings again. Answers the errors and the decoded domain event."""
    claims = jwt.decode(body, public_key, algorithms=["RS256"], options={"verify_aud": False})
    assert isinstance(claims["data"], str)
    envelope = json.loads(claims["data"])
    assert isinstance(envelope["data"], str) and isinstance(envelope["identity"], str)
    errors = sdk.errors(ORDERS, "MessageEnvelope", envelope | {"identity": json.loads(envelope["identity"])})
    event = json.loads(envelope["data"])
    return errors + event_errors(sdk, event), event


def assert_the_sdk_reads(sdk: WixSdk, body: str, public_key: bytes, event: dict[str, Any], instance_id: str) -> None:
    """@wix/sdk's webhooks.process verifies the body and hands the slug's handler the order and the metadata."""
    read = sdk.webhook(ORDERS, HANDLERS[event["slug"]], APP_ID, public_key.decode(), body)
    envelope = read["envelope"]
    assert envelope is not None, "the SDK did not run the handler"
    order = envelope.get("entity") or envelope["data"]["order"]
    assert order["_id"] == event["entityId"]
    assert envelope["metadata"]["_id"] == event["id"] and envelope["metadata"]["instanceId"] == instance_id
    processed = read["processed"]
    assert processed["eventType"] == f"wix.ecom.v1.order_{event['slug']}"
    # And the metadata the SDK gives every handler is its BaseEventMetadata (index.typings.d.ts)
    metadata = {key: processed[key] for key in ("instanceId", "eventType", "identity", "accountInfo")}
    assert sdk.errors(ORDERS, "BaseEventMetadata", metadata, file="index.typings.d.ts") == []


def test_the_order_webhooks_the_sandbox_sends_are_the_sdks(
    site: Site, wix: tuple[WixSandbox, str, Receiver], wix_sdk: WixSdk
) -> None:
    box, _, receiver = wix
    # Given an order posbridge imports (created + approved), then cancels (canceled)
    order = create(site)
    site.ok(ORDERS, "cancelOrder", "CancelOrderResponse", order["id"], {"sendOrderCanceledEmail": False})
    # When the webhooks arrive
    bodies = receiver.take()
    # Then every layer of each is the REST type's, and the SDK's own parsing reads the order from it
    slugs = []
    for body in bodies:
        errors, event = body_errors(wix_sdk, body, box.public_key_pem)
        assert errors == [], event["slug"]
        assert_the_sdk_reads(wix_sdk, body, box.public_key_pem, event, site.instance_id)
        slugs.append(event["slug"])
    assert slugs == ["created", "approved", "canceled"]


def test_a_site_visitors_order_approved_by_the_restaurant_sends_the_sdks_webhooks(
    site: Site, wix: tuple[WixSandbox, str, Receiver], wix_sdk: WixSdk
) -> None:
    box, url, receiver = wix
    # Given a visitor's pending order with a modifier, approved later in the dashboard (what Flow 1 consumes)
    line = {"kind": "restaurant", "name": "Pizza", "price": "10.00", "quantity": 1,
            "modifiers": [{"name": "Olives", "price": "1.00"}]}  # fmt: skip
    with httpx.Client(base_url=url, timeout=5) as http:
        placed = http.post(f"/_sandbox/instances/{site.instance_id}/checkout",
                           json={"lines": [line], "buyer": {"email": "ada@example.com"}, "approve": False})  # fmt: skip
        order_id = placed.json()["order"]["id"]
        http.post(f"/_sandbox/instances/{site.instance_id}/orders/{order_id}/approve")
    # Then created (at checkout, PENDING) and approved both conform and read through the SDK
    slugs = []
    for body in receiver.take():
        errors, event = body_errors(wix_sdk, body, box.public_key_pem)
        assert errors == [], event["slug"]
        assert_the_sdk_reads(wix_sdk, body, box.public_key_pem, event, site.instance_id)
        slugs.append(event["slug"])
    assert slugs == ["created", "approved"]


def test_a_refund_in_the_dashboard_sends_the_sdks_payment_status_webhook(
    site: Site, wix: tuple[WixSandbox, str, Receiver], wix_sdk: WixSdk
) -> None:
    box, url, receiver = wix
    # Given a visitor's paid order of 11.00
    line = {"kind": "restaurant", "name": "Pizza", "price": "11.00", "quantity": 1}
    with httpx.Client(base_url=url, timeout=5) as http:
        checkout = {"lines": [line], "buyer": {"email": "ada@example.com"}}
        placed = http.post(f"/_sandbox/instances/{site.instance_id}/checkout", json=checkout)
        order_id = placed.json()["order"]["id"]
        receiver.take()
        # When the restaurant refunds 4.25 of it, then the rest, in its dashboard
        partly = http.post(f"/_sandbox/instances/{site.instance_id}/orders/{order_id}/refund", json={"amount": "4.25"})
        fully = http.post(f"/_sandbox/instances/{site.instance_id}/orders/{order_id}/refund", json={})
        # And a refund of more than is left is refused
        more = http.post(f"/_sandbox/instances/{site.instance_id}/orders/{order_id}/refund", json={"amount": "0.01"})
    assert (partly.status_code, fully.status_code, more.status_code) == (200, 200, 400)
    # Then each sends wix.ecom.v1.order_payment_status_updated, whose every layer is the SDK's (PaymentStatusUpdated
    # {order, previousPaymentStatus}), and the SDK's onOrderPaymentStatusUpdated reads the order from it
    events = []
    for body in receiver.take():
        errors, event = body_errors(wix_sdk, body, box.public_key_pem)
        assert errors == [], event["slug"]
        assert_the_sdk_reads(wix_sdk, body, box.public_key_pem, event, site.instance_id)
        events.append(event)
    assert [e["slug"] for e in events] == ["payment_status_updated", "payment_status_updated"]
    bodies = [e["actionEvent"]["body"] for e in events]
    assert [(b["previousPaymentStatus"], b["order"]["paymentStatus"]) for b in bodies] == [
        ("PAID", "PARTIALLY_REFUNDED"),
        ("PARTIALLY_REFUNDED", "FULLY_REFUNDED"),
    ]
    # And the order says what was refunded in all, exactly
    assert [b["order"]["balanceSummary"]["refunded"]["amount"] for b in bodies] == ["4.25", "11.00"]


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda path: path.stem)
def test_the_sample_events_are_the_sdks(sample: Path, wix: tuple[WixSandbox, str, Receiver], wix_sdk: WixSdk) -> None:
    # Given a decoded sample webhook, as tests and `sam local invoke` use it
    decoded = json.loads(sample.read_text())
    # Then its domain event is the REST types', its instance id a GUID, its type the slug's
    assert event_errors(wix_sdk, decoded["event"]) == []
    assert wix_sdk.errors(ORDERS, "MessageEnvelope", {"instanceId": decoded["instanceId"]}) == []
    assert decoded["eventType"] == f"wix.ecom.v1.order_{decoded['event']['slug']}"
    # And signed as Wix signs it, the SDK's own parsing reads the order
    box = wix[0]
    body = sign_webhook(box.private_key_pem, decoded["eventType"], decoded["instanceId"], decoded["event"],
                        app_id=APP_ID)  # fmt: skip
    assert_the_sdk_reads(wix_sdk, body, box.public_key_pem, decoded["event"], decoded["instanceId"])


MONEY_CHECKOUT = {
    "lines": [
        {"kind": "restaurant", "name": "Pizza", "price": "10.99", "quantity": 3,
         "modifiers": [{"name": "Olives", "price": "1.00"}]},
        {"kind": "restaurant", "name": "Tea", "price": "2.50", "quantity": 1, "taxRate": "0.05"},
    ],
    "buyer": {"email": "ada@example.com"},
    "fulfillment": {"type": "DELIVERY", "address": {"addressLine": "1 Main St", "city": "New York", "country": "US"},
                    "fee": "4.99"},
    "coupon": {"code": "SAVE10", "percentage": "10"},
    "automaticDiscount": {"name": "Tea off", "amount": "1.00", "lines": [1]},
    "fees": [{"name": "Service fee", "amount": "1.50", "taxable": True}],
    "tip": "3.00",
}  # fmt: skip


@pytest.mark.parametrize(
    ("included", "status"),
    [(False, "PAID"), (True, "PAID"), (False, "NOT_PAID"), (False, "PARTIALLY_PAID"), (True, "PENDING")],
)
def test_a_taxed_discounted_order_with_fees_and_a_tip_is_the_sdks_order(
    site: Site, wix: tuple[WixSandbox, str, Receiver], wix_sdk: WixSdk, included: bool, status: str
) -> None:
    box, url, receiver = wix
    # Given a delivery checkout with tax (added or included), a coupon, an automatic discount, a fee, a tip, a status
    body = {**MONEY_CHECKOUT, "tax": {"rate": "0.08875", "includedInPrices": included}, "paymentStatus": status,
            **({"paid": "10.00"} if status == "PARTIALLY_PAID" else {})}  # fmt: skip
    with httpx.Client(base_url=url, timeout=5) as http:
        placed = http.post(f"/_sandbox/instances/{site.instance_id}/checkout", json=body)
    assert placed.status_code == 200, placed.text
    order = placed.json()["order"]
    # Then the webhooks' orders, with every money field (taxInfo, appliedDiscounts, additionalFees, shippingInfo.cost,
    # priceSummary, balanceSummary), are the REST type's, and the SDK's own parsing reads them
    bodies = receiver.take()
    assert bodies
    for raw in bodies:
        errors, event = body_errors(wix_sdk, raw, box.public_key_pem)
        assert errors == [], event["slug"]
        assert_the_sdk_reads(wix_sdk, raw, box.public_key_pem, event, site.instance_id)
    assert {"appliedDiscounts", "additionalFees", "taxInfo", "balanceSummary"} <= set(order)
    # And so is the order the Orders API answers for it
    got = site.ok(ORDERS, "getOrder", "GetOrderResponse", order["id"])
    assert got.body["order"]["priceSummary"] == order["priceSummary"]
