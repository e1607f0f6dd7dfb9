"""`make demo`: the devstack plays a restaurant's evening and prints what the bridge did.

Each scenario acts as a customer (or forger) would, through the sandboxes' control APIs and the gateway, then checks
what must be true. The table lists every scenario; the exit code is non-zero if any expectation failed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.app import Devstack, DevstackOptions
from devstack.wix_sandbox import sign_webhook

INSTANCE_ID = "demo-restaurant-0001"
MERCHANT_ID = "MLDEMO0001"
LOCATION_ID = "LDEMO0001"
POS_TOKEN = "demo-square-access-token"  # a sandbox credential, made up for the demo
POS_SIGNATURE_KEY = "demo-square-signature-key"


@dataclass
class Row:
    scenario: str
    wix_order: str
    pos_order: str
    lines: str
    result: str
    ok: bool


class Demo:
    def __init__(self, devstack: Devstack) -> None:
        self.devstack = devstack
        self.http = httpx.Client(timeout=30)
        self.rows: list[Row] = []

    # -- helpers ---------------------------------------------------------------------------------------------------

    def call(self, method: str, url: str, body: Any = None) -> Any:
        response = self.http.request(method, url, json=body)
        response.raise_for_status()
        return response.json()

    def wix(self, method: str, path: str, body: Any = None) -> Any:
        return self.call(method, self.devstack.wix_url + path, body)

    def square(self, method: str, path: str, body: Any = None) -> Any:
        return self.call(method, self.devstack.pos_url + path, body)

    def pos_orders_for(self, wix_order_id: str) -> list[dict[str, Any]]:
        state = self.square("GET", f"/_sandbox/merchants/{MERCHANT_ID}/state")
        return [o for o in state["orders"] if o.get("reference_id") == wix_order_id]

    def mapping(self, wix_order_id: str, timeout_s: float = 20) -> dict[str, Any] | None:
        """Wait for the worker to finish with the order: the admin API shows it exported or skipped."""
        deadline = time.monotonic() + timeout_s
        url = f"{self.devstack.gateway_url}/admin/tenants/{INSTANCE_ID}/orders/{wix_order_id}"
        while time.monotonic() < deadline:
            response = self.http.get(url)
            if response.status_code == 200:
                return dict(response.json())
            time.sleep(0.2)
        return None

    def checkout(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(
            self.wix(
                "POST",
                f"/_sandbox/instances/{INSTANCE_ID}/checkout",
                {
                    "lines": lines,
                    "buyer": {
                        "firstName": "Ada",
                        "lastName": "Demo",
                        "email": "ada@example.com",
                        "phone": "+15555550100",
                    },
                    "buyerNote": "Ring the bell",
                    "fulfillment": {"type": "PICKUP"},
                },
            )
        )

    def expect_exported(self, scenario: str, placed: dict[str, Any], restaurant_lines: int, note: str = "") -> None:
        wix_id = placed["order"]["id"]
        mapping = self.mapping(wix_id)
        pos_orders = self.pos_orders_for(wix_id)
        lines = len(pos_orders[0]["line_items"]) if pos_orders else 0
        ok = (mapping or {}).get("status") == "exported" and len(pos_orders) == 1 and lines == restaurant_lines
        result = f"{len(pos_orders)} POS order(s)" + (f"; {note}" if note else "")
        pos_id = pos_orders[0]["id"][:10] if pos_orders else "-"
        self.rows.append(Row(scenario, wix_id[:8], pos_id, f"{lines}/{len(placed['order']['lineItems'])}", result, ok))

    # -- scenarios -------------------------------------------------------------------------------------------------

    def connect_restaurant(self) -> None:
        self.wix("POST", "/_sandbox/instances", {"instanceId": INSTANCE_ID})
        self.square(
            "POST",
            "/_sandbox/merchants",
            {
                "merchantId": MERCHANT_ID,
                "locationId": LOCATION_ID,
                "accessToken": POS_TOKEN,
                "signatureKey": POS_SIGNATURE_KEY,
            },
        )
        response = self.http.put(
            f"{self.devstack.gateway_url}/admin/tenants/{INSTANCE_ID}",
            json={
                "pos": {
                    "provider": "square",
                    "merchantId": MERCHANT_ID,
                    "locationId": LOCATION_ID,
                    "accessToken": POS_TOKEN,
                    "webhookSignatureKey": POS_SIGNATURE_KEY,
                }
            },
        )
        ok = response.status_code in (200, 201)
        self.rows.append(
            Row("restaurant connected (PUT /admin/tenants)", "-", "-", "-", f"HTTP {response.status_code}", ok)
        )

    def restaurant_order(self) -> None:
        placed = self.checkout(
            [
                {
                    "kind": "restaurant",
                    "name": "Margherita",
                    "price": "12.50",
                    "quantity": 2,
                    "modifiers": [{"name": "Extra basil", "price": "1.00"}],
                },
                {"kind": "restaurant", "name": "Tiramisu", "price": "6.00", "quantity": 1},
            ]
        )
        self.expect_exported("restaurant order (created + approved)", placed, 2)

    def mixed_order(self) -> None:
        placed = self.checkout(
            [
                {"kind": "restaurant", "name": "Lasagna", "price": "14.00", "quantity": 1},
                {"kind": "store", "name": "Gift card", "price": "25.00", "quantity": 1},
            ]
        )
        self.expect_exported("restaurant item + store product", placed, 1, "store line left out")

    def store_only_order(self) -> None:
        placed = self.checkout([{"kind": "store", "name": "Apron", "price": "20.00", "quantity": 1}])
        wix_id = placed["order"]["id"]
        mapping = self.mapping(wix_id) or {}
        pos_orders = self.pos_orders_for(wix_id)
        ok = mapping.get("status") == "skipped" and not pos_orders
        self.rows.append(Row("store product only", wix_id[:8], "-", "0/1", f"skipped: {mapping.get('reason')}", ok))

    def duplicated_webhook(self) -> None:
        self.wix("POST", "/_sandbox/webhooks/delivery", {"duplicate": 3})
        try:
            placed = self.checkout([{"kind": "restaurant", "name": "Minestrone", "price": "7.50", "quantity": 1}])
        finally:
            self.wix("POST", "/_sandbox/webhooks/delivery", {"duplicate": 1})
        answered = [d["status"] for d in placed["deliveries"]]
        self.expect_exported("each webhook delivered 3 times", placed, 1, f"{len(answered)} deliveries answered")

    def throttled_pos(self) -> None:
        self.square("POST", "/_sandbox/faults", {"path": "/v2/orders", "method": "POST", "status": 429, "times": 2})
        placed = self.checkout([{"kind": "restaurant", "name": "Panna cotta", "price": "6.50", "quantity": 2}])
        self.expect_exported("POS answers 429 twice", placed, 1, "retried with the same idempotency key")

    def forged_webhook(self) -> None:
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        body = sign_webhook(
            forger,
            "wix.ecom.v1.order_approved",
            INSTANCE_ID,
            {"id": "forged-1", "entityId": "forged-order", "actionEvent": {"body": {"order": {}}}},
        )
        response = self.http.post(self.devstack.gateway_url + "/webhooks/wix", content=body)
        self.rows.append(
            Row(
                "webhook signed with another key",
                "forged",
                "-",
                "-",
                f"HTTP {response.status_code}",
                response.status_code == 401,
            )
        )

    def paid_taxed_delivery(self) -> None:
        """Issue 12 on the seller's POS screen: a delivery paid on Wix with tax, a coupon, fees and a tip reaches the
        kitchen paid (it would be hidden unpaid), as a pickup by the restaurant's driver, itemized to the cent."""
        placed = self.wix(
            "POST",
            f"/_sandbox/instances/{INSTANCE_ID}/checkout",
            {
                "lines": [{"kind": "restaurant", "name": "Margherita", "price": "12.50", "quantity": 2}],
                "buyer": {"firstName": "Ada", "lastName": "Demo", "email": "ada@example.com"},
                "tax": {"rate": "0.08875", "shipping": True},
                "coupon": {"code": "WELCOME10", "percentage": "10"},
                "fees": [{"name": "Service fee", "amount": "1.50", "taxable": True}],
                "tip": "2.00",
                "fulfillment": {"type": "DELIVERY", "fee": "4.99", "address": {"addressLine": "12 Elm St",
                                "city": "New York", "subdivision": "US-NY", "postalCode": "10001"}},
            },
        )  # fmt: skip
        order = placed["order"]
        wix_total = order["priceSummary"]["total"]["amount"]
        self.mapping(order["id"])
        screen = self.square("GET", f"/_sandbox/merchants/{MERCHANT_ID}/pos-screen")
        tickets = [t for t in screen["orders"] if t["referenceId"] == order["id"]]
        ticket = tickets[0] if tickets else {}
        totals = ticket.get("totals") or {}
        collected = sum(t["amount"] + t["tip"] for t in ticket.get("tenders", []))
        kind = ((ticket.get("fulfillments") or [{}])[0]).get("type")
        fees = ", ".join(f"{c['name']} {c['total'] / 100:.2f}" for c in ticket.get("serviceCharges", []))
        paid = "paid" if ticket.get("paid") else "UNPAID"
        result = (
            f"on the POS screen, {paid}, {kind}: tax {totals.get('tax', 0) / 100:.2f}, coupon "
            f"-{totals.get('discount', 0) / 100:.2f}, {fees}, tip {totals.get('tip', 0) / 100:.2f}; "
            f"collected {collected / 100:.2f} = Wix {wix_total}"
        )
        ok = bool(ticket.get("paid")) and kind == "PICKUP" and f"{collected / 100:.2f}" == wix_total
        pos_id = str(ticket.get("orderId", "-"))[:10]
        self.rows.append(Row("paid taxed delivery on the POS screen", order["id"][:8], pos_id, "1/1", result, ok))

    def run(self) -> bool:
        from devstack.demo_catalog import CatalogImport  # Flow 4; imports this module too
        from devstack.demo_catalog_sync import CatalogSync  # Flow 5
        from devstack.demo_clover import CloverRestaurant  # the Clover restaurant beside the Square one
        from devstack.demo_pos_to_wix import PosToWix  # imports this module: import here, not at the top

        scenarios = (
            self.connect_restaurant,
            self.restaurant_order,
            self.mixed_order,
            self.store_only_order,
            self.duplicated_webhook,
            self.throttled_pos,
            self.forged_webhook,
            self.paid_taxed_delivery,
            *CatalogImport(self).scenarios(),  # Flow 4: devstack/demo_catalog.py
            *PosToWix(self).scenarios(),  # Flows 2 and 3 (on the menu Flow 4 published): devstack/demo_pos_to_wix.py
            *CatalogSync(self).scenarios(),  # Flow 5 (POS menu edits in place): devstack/demo_catalog_sync.py
            *CloverRestaurant(self).scenarios(),  # the same flows on Clover: devstack/demo_clover.py
        )
        for scenario in scenarios:
            try:
                scenario()
            except (httpx.HTTPError, KeyError, AssertionError, ValueError, TimeoutError) as exc:
                self.rows.append(Row(scenario.__name__, "-", "-", "-", f"error: {type(exc).__name__}: {exc}", False))
        return all(row.ok for row in self.rows)


def print_table(rows: list[Row], out: Callable[[str], None] = print) -> None:
    headers = ("scenario", "wix order", "pos order", "lines", "what happened", "ok")
    cells = [(r.scenario, r.wix_order, r.pos_order, r.lines, r.result, "yes" if r.ok else "NO") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out(line)
    out("-" * len(line))
    for cell in cells:
        out("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))


def run_demo(options: DevstackOptions) -> int:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines would drown the table
    with Devstack(options) as devstack:
        print(json.dumps(devstack.write_endpoints(), indent=2))
        print(f"\ndevstack up in {devstack.timings['startup_s']:.1f} s\n")
        demo = Demo(devstack)
        ok = demo.run()
        print_table(demo.rows)
        from devstack.playground import dashboard_instance, page_url

        page = page_url(devstack.gateway_url, dashboard_instance(devstack, demo.http, INSTANCE_ID))
        print(f"\nThe demo restaurant's page, as its owner opens it from the Wix dashboard:\n  {page}")
        print("(the stack stops with the demo: `make up` keeps one running, with a restaurant to play with)")
    print("\nall expectations met" if ok else "\nSOME EXPECTATIONS FAILED", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
