"""A restaurant connects its Square account itself, over the devstack (issue 15): its page's API is authenticated by
the Wix-signed instance, Square's OAuth runs on the Square sandbox, the order worker exports with the OAuth token, the
schedule refreshes it, and Square's oauth.authorization.revoked pauses the tenant."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from devstack.app import Devstack
from tests.e2e.conftest import wait_for

SOUP = {"kind": "restaurant", "name": "Minestrone", "price": "7.25", "quantity": 1}


class Owner:
    """The restaurant's owner in the Wix dashboard: the page's calls carry the instance Wix signed."""

    def __init__(self, devstack: Devstack, http: httpx.Client, instance_id: str) -> None:
        self.devstack, self.http, self.instance_id = devstack, http, instance_id
        opened = http.post(f"{devstack.wix_url}/_sandbox/instances/{instance_id}/dashboard", json={})
        opened.raise_for_status()
        self.instance, self.tampered = opened.json()["instance"], opened.json()["tampered"]

    def call(self, method: str, path: str, instance: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Instance {instance or self.instance}"}
        return self.http.request(method, f"{self.devstack.gateway_url}{path}", headers=headers, **kwargs)


def _secret(devstack: Devstack, instance_id: str) -> dict[str, Any]:
    assert devstack.stack is not None
    sm = devstack.stack.client("secretsmanager")
    name = f"posbridge/{devstack.stack.stack_name}/tenants/{instance_id}/pos"
    # AWSCURRENT named: moto answers the first version otherwise (see posbridge/secrets.py)
    return dict(json.loads(sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]))


def test_a_restaurant_connects_through_oauth_exports_refreshes_and_is_paused_when_revoked(devstack: Devstack) -> None:
    suffix = uuid.uuid4().hex[:10]
    instance_id, merchant_id, location_id = f"oauth-{suffix}", f"MO{suffix.upper()}", f"LO{suffix.upper()}"
    opts = devstack.options
    http = httpx.Client(timeout=30)
    # Given a Wix site with the app, and a Square seller (whose events go to the application's subscription)
    http.post(f"{devstack.wix_url}/_sandbox/instances", json={"instanceId": instance_id}).raise_for_status()
    http.post(
        f"{devstack.pos_url}/_sandbox/merchants",
        json={
            "merchantId": merchant_id,
            "locationId": location_id,
            "accessToken": f"personal-{suffix}",
            "signatureKey": opts.square_webhook_signature_key,
            "notificationUrl": devstack.square_webhook_url,
        },
    ).raise_for_status()
    owner = Owner(devstack, http, instance_id)

    # Then a tampered instance gets nothing, and the page reads "not connected"
    refused = owner.call("GET", "/restaurant/connection", instance=owner.tampered)
    assert refused.status_code == 401 and "merchantId" not in refused.text
    assert owner.call("GET", "/restaurant/connection").json()["status"] == "not_connected"

    # When the owner asks for the authorize link, signs in to Square and approves
    link = owner.call("POST", "/restaurant/square/authorize").json()["authorizeUrl"]
    query = parse_qs(urlsplit(link).query)
    assert link.startswith(f"{devstack.pos_url}/oauth2/authorize?")
    assert query["client_id"] == [opts.square_application_id] and "ORDERS_WRITE" in query["scope"][0].split(" ")
    http.put(f"{devstack.pos_url}/_sandbox/oauth/signed-in", json={"merchantId": merchant_id}).raise_for_status()
    approved = http.get(link)
    assert approved.status_code == 302
    callback = approved.headers["location"]
    assert callback.startswith(f"{devstack.gateway_url}/oauth/square/callback?")
    landed = http.get(callback)
    # Then the callback page says so (no token, no code in it), and a replay of it is refused
    assert landed.status_code == 200 and "Square is connected" in landed.text
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert code not in landed.text
    assert http.get(callback).status_code == 400

    # When the owner lists the locations and picks one
    locations = owner.call("GET", "/restaurant/square/locations").json()["locations"]
    assert [loc["id"] for loc in locations] == [location_id]
    connected = owner.call("PUT", "/restaurant/square/location", json={"locationId": location_id})
    assert connected.status_code == 200, connected.text
    view = connected.json()
    assert (view["status"], view["method"], view["merchantId"], view["locationId"]) == (
        "connected",
        "oauth",
        merchant_id,
        location_id,
    )
    assert "accessToken" not in connected.text and "EAAA" not in connected.text
    # And the stored credentials are the OAuth grant's, never the seller's personal token
    first = _secret(devstack, instance_id)
    assert first["accessToken"].startswith("EAAAl") and first["refreshToken"]

    # When a customer orders on the Wix site: it reaches Square with the OAuth token
    placed = http.post(
        f"{devstack.wix_url}/_sandbox/instances/{instance_id}/checkout",
        json={"lines": [SOUP], "buyer": {"firstName": "Ada", "email": "ada@example.com"}, "approve": True},
    )
    placed.raise_for_status()
    wix_order_id = placed.json()["order"]["id"]
    mapping = wait_for(
        lambda: (
            (r := http.get(f"{devstack.gateway_url}/admin/tenants/{instance_id}/orders/{wix_order_id}")).status_code
            == 200
            and r.json()
        )
    )
    assert mapping["status"] == "exported"
    state = http.get(f"{devstack.pos_url}/_sandbox/merchants/{merchant_id}/state").json()
    assert [o["reference_id"] for o in state["orders"]] == [wix_order_id]

    # When the token is 7 days old and the scheduled refresh runs
    assert devstack.stack is not None
    table = devstack.stack.client("dynamodb")
    table_name = devstack.stack.output("MappingsTableName")
    item = table.get_item(TableName=table_name, Key={"PK": {"S": "SQUAREOAUTH"}, "SK": {"S": instance_id}})["Item"]
    record = json.loads(item["connection"]["S"])
    record["token_issued_at"] = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    item["connection"] = {"S": json.dumps(record)}
    table.put_item(TableName=table_name, Item=item)
    summary, error = devstack.stack.invoke("PosTokenRefreshFunction", {})
    # Then it is refreshed: a new access token is current (the refresh token is the same), and it works on Square
    assert error is None and instance_id in summary["refreshed"], summary
    second = _secret(devstack, instance_id)
    assert second["accessToken"] != first["accessToken"] and second["refreshToken"] == first["refreshToken"]
    listed = http.get(f"{devstack.pos_url}/v2/locations", headers={"Authorization": f"Bearer {second['accessToken']}"})
    assert listed.status_code == 200
    assert owner.call("GET", "/restaurant/connection").json()["tokenAgeDays"] < 1

    # When the seller revokes the application in the Square Dashboard
    http.post(
        f"{devstack.pos_url}/_sandbox/oauth/revoke",
        json={"applicationId": opts.square_application_id, "merchantId": merchant_id},
    ).raise_for_status()
    # Then Square's oauth.authorization.revoked pauses the tenant with the reason, and the page shows it revoked
    revoked = wait_for(lambda: (v := owner.call("GET", "/restaurant/connection").json())["status"] == "revoked" and v)
    assert (revoked["tenantStatus"], revoked["pausedReason"]) == ("paused", "square_revoked_by_merchant")
    tenant = http.get(f"{devstack.gateway_url}/admin/tenants/{instance_id}").json()
    assert (tenant["status"], tenant["pausedReason"]) == ("paused", "square_revoked_by_merchant")
    http.close()


def test_an_instance_of_one_site_never_reads_another_sites_connection(devstack: Devstack) -> None:
    # Given two sites, B connected with a personal token (admin PUT)
    http = httpx.Client(timeout=30)
    a, b = f"site-a-{uuid.uuid4().hex[:8]}", f"site-b-{uuid.uuid4().hex[:8]}"
    for site in (a, b):
        http.post(f"{devstack.wix_url}/_sandbox/instances", json={"instanceId": site}).raise_for_status()
    http.put(
        f"{devstack.gateway_url}/admin/tenants/{b}",
        json={
            "pos": {
                "provider": "square",
                "merchantId": "MB",
                "locationId": f"LB{b}",
                "accessToken": "t",
                "webhookSignatureKey": "k",
            }
        },
    ).raise_for_status()
    owner_a = Owner(devstack, http, a)
    # When A's page asks for its connection (the only way it can name a site is its own signed instance)
    view = owner_a.call("GET", "/restaurant/connection").json()
    # Then it sees its own state, not B's; and a request without an instance is refused
    assert view["status"] == "not_connected" and view["merchantId"] is None
    assert http.get(f"{devstack.gateway_url}/restaurant/connection").status_code == 401
    http.close()
