"""`make demo`: the devstack plays a restaurant's evening and prints what the bridge did.

Each scenario acts as a customer (or forger) would, through the sandboxes' control APIs and the gateway, then checks
what must be true. The table lists every scenario; the exit code is non-zero if any expectation failed.
"""

from __future__ import annotations

import json
import sys
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


@dataclass
class Row:
    scenario: str
    wix_order: str
    result: str
    ok: bool


class Demo:
    def __init__(self, devstack: Devstack) -> None:
        self.devstack = devstack
        self.http = httpx.Client(timeout=30)
        self.rows: list[Row] = []

    # -- helpers ---------------------------------------------------------------------------------------------------

    def wix(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, self.devstack.wix_url + path, json=body)
        response.raise_for_status()
        return response.json()

    def queue_depth(self) -> int:
        stack = self.devstack.stack
        assert stack is not None
        attributes = stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.output("WorkQueueUrl"),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def check(self, scenario: str, wix_order: str, result: str, ok: bool) -> None:
        self.rows.append(Row(scenario, wix_order, result, ok))

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

    # -- scenarios -------------------------------------------------------------------------------------------------

    def connect_restaurant(self) -> None:
        self.wix("POST", "/_sandbox/instances", {"instanceId": INSTANCE_ID})
        response = self.http.put(
            f"{self.devstack.gateway_url}/admin/tenants/{INSTANCE_ID}",
            json={
                "pos": {
                    "provider": "square",
                    "merchantId": MERCHANT_ID,
                    "locationId": LOCATION_ID,
                    "accessToken": "demo-square-token",
                    "webhookSignatureKey": "demo-square-signature-key",
                }
            },
        )
        self.check(
            "restaurant connected (PUT /admin/tenants)",
            "-",
            f"HTTP {response.status_code}",
            response.status_code in (200, 201),
        )

    def restaurant_order(self) -> None:
        before = self.queue_depth()
        placed = self.checkout([{"kind": "restaurant", "name": "Margherita", "price": "12.50", "quantity": 2}])
        statuses = [d["status"] for d in placed["deliveries"]]
        queued = self.queue_depth() - before
        self.check(
            "restaurant order: created + approved webhooks",
            placed["order"]["id"][:8],
            f"webhooks answered {statuses}, {queued} queued",
            statuses == [200, 200] and queued == 2,
        )

    def duplicated_webhook(self) -> None:
        self.wix("POST", "/_sandbox/webhooks/delivery", {"duplicate": 3})
        before = self.queue_depth()
        placed = self.checkout([{"kind": "restaurant", "name": "Tiramisu", "price": "6.00", "quantity": 1}])
        self.wix("POST", "/_sandbox/webhooks/delivery", {"duplicate": 1})
        statuses = [d["status"] for d in placed["deliveries"]]
        queued = self.queue_depth() - before
        self.check(
            "each webhook delivered 3 times",
            placed["order"]["id"][:8],
            f"{len(statuses)} deliveries answered 200, {queued} queued (FIFO dedup on event id)",
            statuses == [200] * 6 and queued == 2,
        )

    def forged_webhook(self) -> None:
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        body = sign_webhook(
            forger,
            "wix.ecom.v1.order_approved",
            INSTANCE_ID,
            {"id": "forged-1", "entityId": "forged-order", "actionEvent": {"body": {"order": {}}}},
        )
        before = self.queue_depth()
        response = self.http.post(self.devstack.gateway_url + "/webhooks/wix", content=body)
        queued = self.queue_depth() - before
        self.check(
            "webhook signed with another key",
            "forged",
            f"HTTP {response.status_code}, {queued} queued",
            response.status_code == 401 and queued == 0,
        )

    def run(self) -> bool:
        for scenario in (self.connect_restaurant, self.restaurant_order, self.duplicated_webhook, self.forged_webhook):
            try:
                scenario()
            except (httpx.HTTPError, KeyError, AssertionError) as exc:
                self.check(scenario.__name__, "-", f"error: {type(exc).__name__}: {exc}", False)
        return all(row.ok for row in self.rows)


def print_table(rows: list[Row], out: Callable[[str], None] = print) -> None:
    headers = ("scenario", "wix order", "what happened", "ok")
    cells = [(r.scenario, r.wix_order, r.result, "yes" if r.ok else "NO") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out(line)
    out("-" * len(line))
    for cell in cells:
        out("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))


def run_demo(options: DevstackOptions) -> int:
    with Devstack(options) as devstack:
        print(json.dumps(devstack.write_endpoints(), indent=2))
        print(f"\ndevstack up in {devstack.timings['startup_s']:.1f} s\n")
        demo = Demo(devstack)
        ok = demo.run()
        print_table(demo.rows)
    print("\nall expectations met" if ok else "\nSOME EXPECTATIONS FAILED", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
