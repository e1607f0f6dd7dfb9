"""A restaurant's kitchen on the devstack, for Flows 2 and 3: the cashier and the cooks act on the Square sandbox, the
owner looks at the Wix sandbox and the admin API. Shared by the demo, the e2e tests and the bench.

Nothing here reaches into the bridge: it acts through the sandboxes' control APIs and the gateway, as people would.
The one shortcut: `map_catalog` writes catalog mapping items the way the catalog publish (Flow 4) writes them, so an
order of catalog items can be imported without running a publish first.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
import httpx

from devstack.app import Devstack
from devstack.square_sandbox import sign

T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], timeout_s: float = 20.0, interval_s: float = 0.1) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


@dataclass
class Kitchen:
    devstack: Devstack
    instance_id: str
    merchant_id: str
    location_id: str
    access_token: str
    signature_key: str
    http: httpx.Client

    @classmethod
    def open(
        cls, devstack: Devstack, http: httpx.Client, settings: dict[str, Any] | None = None, suffix: str | None = None
    ) -> Kitchen:
        """A new Wix site connected to a new Square merchant whose webhooks go to the bridge."""
        suffix = suffix or uuid.uuid4().hex[:10]
        kitchen = cls(
            devstack,
            f"inst-{suffix}",
            f"M{suffix.upper()}",
            f"L{suffix.upper()}",
            f"tok-{suffix}",
            f"sig-{suffix}",
            http,
        )
        return kitchen.set_up(notify=True, settings=settings or {})

    def set_up(self, notify: bool = False, settings: dict[str, Any] | None = None, connect: bool = True) -> Kitchen:
        """Create the Wix site and the Square merchant on the sandboxes and connect them through the admin API.

        `notify`: the merchant's webhooks go to the bridge (else the merchant has no notification URL); `connect`
        False: the site has installed the app but not connected its POS yet (`connect()` does it later).
        """
        self.http.post(
            f"{self.devstack.wix_url}/_sandbox/instances", json={"instanceId": self.instance_id}
        ).raise_for_status()
        merchant = {
            "merchantId": self.merchant_id,
            "locationId": self.location_id,
            "accessToken": self.access_token,
            "signatureKey": self.signature_key,
        }
        if notify:
            merchant["notificationUrl"] = self.devstack.square_webhook_url
        self.http.post(f"{self.devstack.pos_url}/_sandbox/merchants", json=merchant).raise_for_status()
        if connect:
            self.connect(settings)
        return self

    def connect(self, settings: dict[str, Any] | None = None) -> httpx.Response:
        """PUT /admin/tenants/<instance>: the POS connection, and the settings if given."""
        body: dict[str, Any] = {
            "pos": {
                "provider": "square",
                "merchantId": self.merchant_id,
                "locationId": self.location_id,
                "accessToken": self.access_token,
                "webhookSignatureKey": self.signature_key,
            }
        }
        if settings is not None:
            body["settings"] = settings
        response = self.http.put(f"{self.devstack.gateway_url}/admin/tenants/{self.instance_id}", json=body)
        response.raise_for_status()
        return response

    # -- the POS (Square sandbox) ------------------------------------------------------------------------------------

    @property
    def _merchant(self) -> str:
        return f"{self.devstack.pos_url}/_sandbox/merchants/{self.merchant_id}"

    def ring_up(self, lines: list[dict[str, Any]], **order: Any) -> dict[str, Any]:
        """A cashier rings up an order in the POS app (Square sends order.updated; no version)."""
        response = self.http.post(f"{self._merchant}/register-order", json={"order": {"line_items": lines, **order}})
        response.raise_for_status()
        return dict(response.json()["order"])

    def move(self, pos_order_id: str, state: str) -> dict[str, Any]:
        """The kitchen moves the order's fulfillment along (PROPOSED -> RESERVED -> PREPARED -> COMPLETED)."""
        response = self.http.post(f"{self._merchant}/orders/{pos_order_id}/fulfillment-state", json={"state": state})
        response.raise_for_status()
        return dict(response.json()["order"])

    def cancel(self, pos_order_id: str) -> dict[str, Any]:
        response = self.http.post(f"{self._merchant}/orders/{pos_order_id}/cancel")
        response.raise_for_status()
        return dict(response.json()["order"])

    def pos_state(self) -> dict[str, Any]:
        return dict(self.http.get(f"{self._merchant}/state").json())

    def pos_order_for(self, wix_order_id: str) -> dict[str, Any] | None:
        return next((o for o in self.pos_state()["orders"] if o.get("reference_id") == wix_order_id), None)

    def seed_catalog(self) -> dict[str, str]:
        """The sandbox's sample catalog; answers variation name ("Margherita Large") -> variation id."""
        self.http.post(f"{self._merchant}/seed-catalog").raise_for_status()
        objects = self.pos_state()["catalog"]
        items = {o["id"]: o["item_data"]["name"] for o in objects if o["type"] == "ITEM"}
        return {
            f"{items[o['item_variation_data']['item_id']]} {o['item_variation_data']['name']}": o["id"]
            for o in objects
            if o["type"] == "ITEM_VARIATION" and o["item_variation_data"]["item_id"] in items
        }

    def square_webhooks(self, **plan: Any) -> None:
        """How Square delivers the next webhooks: {duplicate: n} | {drop: n} | {hold: true} (all merchants)."""
        self.http.post(f"{self.devstack.pos_url}/_sandbox/webhooks/delivery", json={"duplicate": 1, **plan})

    def release_square_webhooks(self, reverse: bool = True) -> None:
        self.http.post(f"{self.devstack.pos_url}/_sandbox/webhooks/release", json={"reverse": reverse})

    def signed_event(self, event_type: str, order: dict[str, Any], key: str | None = None) -> tuple[bytes, str]:
        """A Square notification for the order as it is now, signed as Square signs (or with another key)."""
        summary = {k: order[k] for k in ("location_id", "state", "created_at", "updated_at", "version") if k in order}
        kind = {"order.created": "order_created", "order.updated": "order_updated"}[event_type]
        body = json.dumps(
            {
                "merchant_id": self.merchant_id,
                "type": event_type,
                "event_id": str(uuid.uuid4()),
                "created_at": order["updated_at"],
                "data": {"type": "order", "id": order["id"], "object": {kind: {"order_id": order["id"], **summary}}},
            }
        ).encode()
        return body, sign(key or self.signature_key, self.devstack.square_webhook_url, body)

    # -- the catalog mapping (as the catalog publish writes it) ------------------------------------------------------

    def map_catalog(self, variations: dict[str, str]) -> dict[str, str]:
        """Map POS variation ids to new Wix item ids (one menu, one section); answers variation -> Wix item id."""
        assert self.devstack.stack is not None
        table = boto3.resource(
            "dynamodb", region_name=self.devstack.stack.region, endpoint_url=self.devstack.stack.endpoint_url
        ).Table(self.devstack.stack.output("MappingsTableName"))
        menu, section, items = str(uuid.uuid4()), str(uuid.uuid4()), {}
        for variation_id in variations.values():
            item = items[variation_id] = str(uuid.uuid4())
            table.put_item(
                Item={
                    "PK": f"TENANT#{self.instance_id}",
                    "SK": f"CATALOG#POS#VARIANT#{variation_id}",
                    "wix_id": item,
                    "wix_item_id": item,
                    "wix_menu_id": menu,
                    "wix_section_id": section,
                    "revision": "1",
                    "content_hash": "devstack",
                }
            )
        return items

    # -- Wix and the bridge ------------------------------------------------------------------------------------------

    def wix_state(self) -> dict[str, Any]:
        return dict(self.http.get(f"{self.devstack.wix_url}/_sandbox/instances/{self.instance_id}/state").json())

    def wix_orders_for(self, pos_order_id: str) -> list[dict[str, Any]]:
        return [
            o for o in self.wix_state()["orders"] if (o.get("channelInfo") or {}).get("externalOrderId") == pos_order_id
        ]

    def wix_status(self, wix_order_id: str) -> str | None:
        fulfillments = self.wix_state()["fulfillments"].get(wix_order_id) or []
        return fulfillments[0].get("status") if fulfillments else None

    def wix_calls(self) -> dict[str, int]:
        return dict(self.wix_state()["calls"])

    def pos_order(self, pos_order_id: str) -> dict[str, Any] | None:
        """The bridge's view (admin API): Wix order, status applied, stale updates dropped."""
        url = f"{self.devstack.gateway_url}/admin/tenants/{self.instance_id}/pos-orders/{pos_order_id}"
        response = self.http.get(url)
        return dict(response.json()) if response.status_code == 200 else None

    def wait_pos_order(self, pos_order_id: str, timeout_s: float = 20.0, **expected: Any) -> dict[str, Any]:
        def matches() -> dict[str, Any] | None:
            found = self.pos_order(pos_order_id)
            return found if found and all(found.get(k) == v for k, v in expected.items()) else None

        return wait_for(matches, timeout_s)

    def wix_mapping(self, wix_order_id: str) -> dict[str, Any] | None:
        url = f"{self.devstack.gateway_url}/admin/tenants/{self.instance_id}/orders/{wix_order_id}"
        response = self.http.get(url)
        return dict(response.json()) if response.status_code == 200 else None

    def reconcile(self) -> httpx.Response:
        return self.http.post(f"{self.devstack.gateway_url}/admin/tenants/{self.instance_id}/reconcile")

    def checkout(self, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """A customer orders online (restaurant lines) on the Wix site."""
        body = {"lines": lines, "buyer": {"firstName": "Ada", "email": "ada@example.com"}, **extra}
        response = self.http.post(f"{self.devstack.wix_url}/_sandbox/instances/{self.instance_id}/checkout", json=body)
        response.raise_for_status()
        return dict(response.json()["order"])

    def wix_webhooks(self, **plan: Any) -> None:
        self.http.post(f"{self.devstack.wix_url}/_sandbox/webhooks/delivery", json={"duplicate": 1, **plan})
