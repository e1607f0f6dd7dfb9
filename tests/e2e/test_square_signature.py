"""A Square signature computed per Square's docs matches what the Square sandbox sends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from devstack.app import Devstack
from devstack.httpserver import BackgroundServer
from posbridge.pos.square.webhooks import is_valid


class Receiver:
    """A webhook endpoint that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.arrived = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        self.received.append((body, headers))
        self.arrived.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def test_the_sandboxes_square_signature_verifies_per_the_docs_and_a_tampered_body_does_not(devstack: Devstack) -> None:
    # Given a merchant whose webhook subscription points at a local receiver (with a query string, which is signed too)
    receiver = Receiver()
    with BackgroundServer(receiver) as server:
        url = f"{server.url}/hooks/square?env=test"
        control = f"{devstack.pos_url}/_sandbox/merchants"
        httpx.post(
            control,
            json={
                "merchantId": "M-SIG",
                "locationId": "L-SIG",
                "accessToken": "tok-sig",
                "signatureKey": "key-sig",
                "notificationUrl": url,
            },
        ).raise_for_status()
        # When a cashier rings up an order (Square sends order.updated)
        httpx.post(
            f"{control}/M-SIG/register-order",
            json={
                "order": {
                    "line_items": [
                        {"name": "Soup", "quantity": "1", "base_price_money": {"amount": 500, "currency": "USD"}}
                    ]
                }
            },
        ).raise_for_status()
        assert receiver.arrived.wait(5)
    # Then the signature header verifies with posbridge's implementation of Square's recipe, and only for that body
    body, headers = receiver.received[0]
    assert is_valid("key-sig", url, body, headers["x-square-hmacsha256-signature"])
    assert not is_valid("key-sig", url, body + b" ", headers["x-square-hmacsha256-signature"])
    assert not is_valid("other-key", url, body, headers["x-square-hmacsha256-signature"])
    assert not is_valid("key-sig", url, body, None)
