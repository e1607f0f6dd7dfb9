"""Tenant lifecycle over HTTP through the devstack: Wix AppInstalled / AppRemoved webhooks, pause / resume, the DLQ
list and redrive of the admin API."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from devstack.app import Devstack
from devstack.wix_sandbox import sign_webhook
from posbridge.domain.work_message import WorkMessage
from posbridge.flows.wix_ingest import ingest_wix_webhook
from posbridge.wix.webhooks import WixWebhookVerifier
from tests.e2e.conftest import Restaurant, all_tenants, wait_for

SOUP = {"kind": "restaurant", "name": "Minestrone", "price": "7.25", "quantity": 1}


def _lifecycle(devstack: Devstack, event_type: str, instance_id: str) -> str:
    """A legacy-envelope webhook: `data` without an `id` (wix/webhooks.py derives a stable event id)."""
    assert devstack.wix is not None
    return sign_webhook(
        devstack.wix.private_key_pem,
        event_type,
        instance_id,
        {"appId": devstack.options.wix_app_id, "originInstanceId": ""},
    )


def _deliver(devstack: Devstack, body: str) -> dict[str, Any]:
    response = httpx.post(devstack.gateway_url + "/webhooks/wix", content=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _admin(devstack: Devstack, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, devstack.gateway_url + path, json=body, timeout=30)


def _work_queue_drained(devstack: Devstack) -> bool:
    assert devstack.stack is not None
    attributes = devstack.stack.client("sqs").get_queue_attributes(
        QueueUrl=devstack.stack.output("WorkQueueUrl"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(v) == 0 for v in attributes.values())


def _secret_exists(devstack: Devstack, instance_id: str) -> bool:
    assert devstack.stack is not None
    client = devstack.stack.client("secretsmanager")
    pages = client.get_paginator("list_secrets").paginate()  # the session's devstack holds more than one page
    return any(s["Name"].endswith(f"/tenants/{instance_id}/pos") for page in pages for s in page["SecretList"])


def _listed(devstack: Devstack, instance_id: str) -> dict[str, Any] | None:
    return next((r for r in all_tenants(devstack) if r["instanceId"] == instance_id), None)


def test_an_installed_app_awaits_its_pos_connection_once(devstack: Devstack) -> None:
    # Given a restaurant that installs the app (Wix delivers AppInstalled twice)
    instance_id = f"inst-{uuid.uuid4().hex[:10]}"
    body = _lifecycle(devstack, "AppInstalled", instance_id)
    first, second = _deliver(devstack, body), _deliver(devstack, body)
    # Then both are acknowledged with the same event id and it is listed as pending (no POS yet), once
    assert first["status"] == "queued" and first["eventId"] == second["eventId"]
    row = wait_for(lambda: _listed(devstack, instance_id))
    assert row["status"] == "pending" and row["pos"] is None
    assert [r["instanceId"] for r in all_tenants(devstack)].count(instance_id) == 1


def test_a_removed_app_disables_the_tenant_and_its_later_orders_are_acknowledged_and_ignored(
    restaurant: Restaurant,
) -> None:
    devstack = restaurant.devstack
    # Given a connected restaurant that removes the app (the webhook duplicated)
    body = _lifecycle(devstack, "AppRemoved", restaurant.instance_id)
    _deliver(devstack, body)
    _deliver(devstack, body)
    # Then the tenant is removed, its POS credentials deleted
    tenant = wait_for(
        lambda: (
            (t := _admin(devstack, "GET", f"/admin/tenants/{restaurant.instance_id}").json())["status"] == "removed"
            and t
        )
    )
    assert tenant["removedAt"]
    assert not _secret_exists(devstack, restaurant.instance_id)
    # When an order still arrives for it
    placed = restaurant.checkout([SOUP])
    wait_for(lambda: _work_queue_drained(devstack))
    # Then nothing reaches the POS and nothing is parked (acknowledged and ignored, not poison)
    assert restaurant.pos_orders(placed["order"]["id"]) == []
    assert restaurant.parked() == []
    # And it cannot be resumed
    resumed = _admin(devstack, "POST", f"/admin/tenants/{restaurant.instance_id}/resume")
    assert resumed.status_code == 409 and resumed.json()["message"]
    # And its POS location is free for another site
    other = f"inst-{uuid.uuid4().hex[:10]}"
    registration = {
        "pos": {
            "provider": "square",
            "merchantId": restaurant.merchant_id,
            "locationId": tenant["pos"]["locationId"],
            "accessToken": "t",
            "webhookSignatureKey": "k",
        }
    }
    assert _admin(devstack, "PUT", f"/admin/tenants/{other}", registration).status_code == 201


def test_a_paused_tenants_orders_are_parked_then_redriven_after_resuming(restaurant: Restaurant) -> None:
    devstack = restaurant.devstack
    # Given a paused restaurant
    paused = _admin(devstack, "POST", f"/admin/tenants/{restaurant.instance_id}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    # When an order arrives
    placed = restaurant.checkout([SOUP])
    wix_id = placed["order"]["id"]
    # Then its events are parked with reason tenant_paused, listed by the admin API with that reason
    path = f"/admin/dead-letters?instanceId={restaurant.instance_id}"
    listed = wait_for(lambda: (m := _admin(devstack, "GET", path).json()["messages"]) and len(m) == 2 and m)
    assert {m["reason"] for m in listed} == {"tenant_paused"} and {m["entityId"] for m in listed} == {wix_id}
    assert restaurant.pos_orders(wix_id) == []
    # When it is resumed and its messages redriven (twice: the second finds nothing)
    assert _admin(devstack, "POST", f"/admin/tenants/{restaurant.instance_id}/resume").json()["status"] == "active"
    redrive = {"instanceId": restaurant.instance_id, "reason": "tenant_paused"}
    first = _admin(devstack, "POST", "/admin/dead-letters/redrive", redrive).json()
    second = _admin(devstack, "POST", "/admin/dead-letters/redrive", redrive).json()
    # Then the order is exported once and the DLQ holds nothing of it any more
    assert (first["count"], second["count"]) == (2, 0)
    restaurant.wait_mapping(wix_id)
    assert len(restaurant.pos_orders(wix_id)) == 1
    assert _admin(devstack, "GET", path).json()["count"] == 0


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_pausing_an_unknown_tenant_is_a_404_with_a_message(devstack: Devstack, action: str) -> None:
    response = _admin(devstack, "POST", f"/admin/tenants/nobody-{uuid.uuid4().hex[:6]}/{action}")
    assert response.status_code == 404 and response.json()["message"]


def test_a_late_retry_of_an_old_removal_does_not_remove_the_reinstalled_restaurant(restaurant: Restaurant) -> None:
    devstack = restaurant.devstack
    assert devstack.wix is not None and devstack.stack is not None
    instance_id, now = restaurant.instance_id, int(time.time())
    app = {"appId": devstack.options.wix_app_id}
    # Given a restaurant that removed the app two minutes ago and reinstalled it a minute later (each webhook twice)
    removal = sign_webhook(devstack.wix.private_key_pem, "AppRemoved", instance_id, app, iat=now - 120)
    _deliver(devstack, removal)
    _deliver(devstack, removal)
    wait_for(lambda: _admin(devstack, "GET", f"/admin/tenants/{instance_id}").json()["status"] == "removed")
    reinstall = sign_webhook(devstack.wix.private_key_pem, "AppInstalled", instance_id, app, iat=now - 60)
    assert _deliver(devstack, reinstall)["status"] == "queued"
    wait_for(lambda: _work_queue_drained(devstack))
    # And that connected its POS again
    pos = {**_admin(devstack, "GET", f"/admin/tenants/{instance_id}").json()["pos"]}
    registration = {"pos": {**pos, "accessToken": "tok-again", "webhookSignatureKey": "sig-again"}}
    assert _admin(devstack, "PUT", f"/admin/tenants/{instance_id}", registration).status_code in (200, 201)
    # When Wix retries the old removal after SQS's 5-minute deduplication window (so it reaches the worker again)
    late = _queued_message(devstack, removal)
    devstack.stack.client("sqs").send_message(
        QueueUrl=devstack.stack.output("WorkQueueUrl"),
        MessageBody=late.model_dump_json(),
        MessageGroupId=late.group_id,
        MessageDeduplicationId=f"{late.dedup_id[:100]}-after-the-window",
    )
    wait_for(lambda: _work_queue_drained(devstack))
    # Then the restaurant stays connected: active, with its new credentials, and nothing parked
    assert _admin(devstack, "GET", f"/admin/tenants/{instance_id}").json()["status"] == "active"
    assert _secret_exists(devstack, instance_id)
    assert restaurant.parked() == []


def _queued_message(devstack: Devstack, body: str) -> WorkMessage:
    """The work message the Wix webhook function enqueues for this body."""
    assert devstack.wix is not None
    sent: list[WorkMessage] = []

    class Capture:
        def send(self, message: WorkMessage) -> str:
            sent.append(message)
            return "captured"

    key = serialization.load_pem_private_key(devstack.wix.private_key_pem, password=None).public_key()
    assert isinstance(key, RSAPublicKey)
    ingest_wix_webhook(body, WixWebhookVerifier(key, devstack.wix.app_id), Capture())
    return sent[0]
