"""Every route declared in template.yaml answers through the devstack's local gateway, over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.app import Devstack
from devstack.wix_sandbox import sign_webhook

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _tenant_body(merchant: str = "M-1") -> dict[str, Any]:
    return {
        "pos": {
            "provider": "square",
            "merchantId": merchant,
            "locationId": "L-1",
            "accessToken": "tok-secret-1",
            "webhookSignatureKey": "sig-secret-1",
        }
    }


PAGE_FILES = {
    "/restaurant/page": "text/html",
    "/restaurant/page.js": "text/javascript",
    "/restaurant/page.css": "text/css",
}


def test_every_declared_route_is_served(devstack: Devstack) -> None:
    # Given the routes read from template.yaml
    assert devstack.stack is not None
    declared = {(r.method, r.path) for r in devstack.stack.routes}
    assert {
        ("POST", "/webhooks/wix"),
        ("PUT", "/admin/tenants/{instanceId}"),
        ("GET", "/admin/tenants/{instanceId}"),
    } <= declared
    # When each is called with an input it must refuse politely
    for method, path in declared:
        response = httpx.request(
            method, devstack.gateway_url + path.replace("{instanceId}", "route-check"), content="{"
        )
        if path in PAGE_FILES:  # the restaurant's page and its files: static, public, no input to refuse
            assert response.status_code == 200 and response.headers["content-type"].startswith(PAGE_FILES[path])
            continue
        # Then the function answered (a 4xx with a message from the handler, not the gateway's 403/502)
        assert 400 <= response.status_code < 500 and response.status_code != 403, (method, path, response.text)
        if response.headers["content-type"].startswith("text/html"):  # Square's OAuth callback: a browser's page
            assert "<h1>" in response.text
            continue
        assert response.json()["message"]


def test_an_undeclared_route_gets_api_gateways_answer(devstack: Devstack) -> None:
    response = httpx.get(devstack.gateway_url + "/nope")
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_a_tenant_is_registered_and_read_back_without_secrets(devstack: Devstack) -> None:
    # Given a restaurant's POS connection
    url = f"{devstack.gateway_url}/admin/tenants/inst-gateway-1"
    # When it is registered twice (an update) and read back
    first = httpx.put(url, json=_tenant_body())
    second = httpx.put(url, json=_tenant_body("M-2"))
    read = httpx.get(url)
    # Then the first creates, the second updates, and neither answer nor record carries a credential
    assert (first.status_code, second.status_code, read.status_code) == (201, 200, 200)
    assert read.json()["pos"] == {"provider": "square", "merchantId": "M-2", "locationId": "L-1"}
    assert "tok-secret-1" not in read.text and "sig-secret-1" not in read.text
    assert read.json()["createdAt"] == first.json()["createdAt"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            {
                "pos": {
                    "provider": "toast",
                    "merchantId": "m",
                    "locationId": "l",
                    "accessToken": "t",
                    "webhookSignatureKey": "k",
                }
            },
            "pos.provider",
        ),
        (
            {"pos": {"provider": "square", "merchantId": "m", "locationId": "l", "webhookSignatureKey": "k"}},
            "pos.accessToken",
        ),
        ({}, "pos"),
    ],
)
def test_a_bad_tenant_body_is_a_422_naming_the_field(devstack: Devstack, body: dict[str, Any], needle: str) -> None:
    response = httpx.put(f"{devstack.gateway_url}/admin/tenants/inst-bad", json=body)
    assert response.status_code == 422
    assert f"body.{needle}" in {".".join(e["loc"]) for e in response.json()["detail"]}
    assert needle in response.json()["message"]
    assert httpx.get(f"{devstack.gateway_url}/admin/tenants/inst-bad").status_code == 404


def _queue_depth(devstack: Devstack) -> int:
    assert devstack.stack is not None
    attributes = devstack.stack.client("sqs").get_queue_attributes(
        QueueUrl=devstack.stack.output("WorkQueueUrl"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _domain_event(event_type: str) -> dict[str, Any]:
    return {
        "id": f"evt-{time.time_ns()}",
        "entityFqdn": "wix.ecom.v1.order",
        "slug": event_type.rsplit("_", 1)[-1],
        "entityId": "order-x",
        "updatedEvent": {"currentEntity": {"id": "order-x"}},
    }


def test_a_sandbox_signed_webhook_of_an_unhandled_type_is_acknowledged_and_not_enqueued(devstack: Devstack) -> None:
    # Given a webhook signed by the Wix sandbox's key, of a type the bridge does not handle
    assert devstack.wix is not None
    before = _queue_depth(devstack)
    body = sign_webhook(
        devstack.wix.private_key_pem, "wix.ecom.v1.order_updated", "inst-1", _domain_event("wix.ecom.v1.order_updated")
    )
    # When it is posted to the webhook route
    response = httpx.post(devstack.gateway_url + "/webhooks/wix", content=body, headers={"Content-Type": "text/plain"})
    # Then it verifies (200, so Wix stops retrying) and nothing is enqueued
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert _queue_depth(devstack) == before


@pytest.mark.parametrize("forgery", ["other_key", "tampered", "expired"])
def test_a_forged_or_expired_webhook_is_401_and_not_enqueued(devstack: Devstack, forgery: str) -> None:
    assert devstack.wix is not None
    before = _queue_depth(devstack)
    event = _domain_event("wix.ecom.v1.order_approved")
    if forgery == "other_key":
        body = sign_webhook(
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "wix.ecom.v1.order_approved",
            "inst-1",
            event,
        )
    elif forgery == "expired":
        now = int(time.time())
        body = sign_webhook(
            devstack.wix.private_key_pem, "wix.ecom.v1.order_approved", "inst-1", event, iat=now - 7200, exp=now - 3600
        )
    else:
        genuine = sign_webhook(devstack.wix.private_key_pem, "wix.ecom.v1.order_approved", "inst-1", event)
        header, _, signature = genuine.split(".")
        claims = jwt.decode(genuine, options={"verify_signature": False})
        claims["data"] = claims["data"].replace("inst-1", "inst-2")
        forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
        body = f"{header}.{forged_payload}.{signature}"
    response = httpx.post(devstack.gateway_url + "/webhooks/wix", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 401, response.text
    assert _queue_depth(devstack) == before
