"""Flow 1 through the devstack: ack latency of POST /webhooks/wix, and orders exported per second."""

from __future__ import annotations

import statistics
import time
import uuid

from bench.stack import quiet_devstack
from devstack.kitchen import Kitchen
from devstack.wix_sandbox import sign_webhook

ACKS = 300
ORDERS = 60


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rows() -> list[dict[str, object]]:
    with quiet_devstack(30) as (devstack, http):
        assert devstack.wix is not None
        instance = "bench-inst"
        Kitchen(devstack, instance, "MBENCH", "LBENCH", "tok-bench", "sig-bench", http).set_up()

        # Ack latency, warm path (after one warm-up call): half order_updated webhooks (verified, answered, not
        # enqueued), half order_approved ones (verified, enqueued; store-only orders, so the worker just records them).
        latencies: list[float] = []
        url = devstack.gateway_url + "/webhooks/wix"
        for i in range(ACKS + 1):
            event_type = "wix.ecom.v1.order_approved" if i % 2 else "wix.ecom.v1.order_updated"
            order = {
                "id": str(uuid.uuid4()),
                "status": "APPROVED",
                "currency": "USD",
                "lineItems": [
                    {
                        "id": str(uuid.uuid4()),
                        "quantity": 1,
                        "price": {"amount": "5.00"},
                        "productName": {"original": "Mug"},
                        "catalogReference": {"appId": "stores", "catalogItemId": "m"},
                    }
                ],
            }
            body = sign_webhook(
                devstack.wix.private_key_pem,
                event_type,
                instance,
                {"id": str(uuid.uuid4()), "entityId": order["id"], "actionEvent": {"body": {"order": order}}},
            )
            started = time.perf_counter()
            http.post(url, content=body).raise_for_status()
            if i:
                latencies.append((time.perf_counter() - started) * 1000)

        # Throughput: customers place orders; the clock stops when the last one is mapped to a POS order.
        started = time.perf_counter()
        ids = []
        for _ in range(ORDERS):
            placed = http.post(
                f"{devstack.wix_url}/_sandbox/instances/{instance}/checkout",
                json={
                    "lines": [{"kind": "restaurant", "name": "Soup", "price": "7.00", "quantity": 1}],
                    "buyer": {"email": "bench@example.com"},
                },
            ).json()
            ids.append(placed["order"]["id"])
        pending = set(ids)
        while pending and time.perf_counter() - started < 120:
            pending = {
                i
                for i in pending
                if http.get(f"{devstack.gateway_url}/admin/tenants/{instance}/orders/{i}").status_code != 200
            }
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        if pending:
            raise RuntimeError(f"{len(pending)} orders were not exported within 120 s")
    return [
        {
            "metric": "ack POST /webhooks/wix, warm, p50 (devstack gateway)",
            "value": round(statistics.median(latencies), 1),
            "unit": "ms",
            "ratio": None,
        },
        {
            "metric": "ack POST /webhooks/wix, warm, p99 (devstack gateway)",
            "value": round(_percentile(latencies, 0.99), 1),
            "unit": "ms",
            "ratio": None,
        },
        {
            "metric": f"orders exported per second ({ORDERS} orders, sandbox POS)",
            "value": round(ORDERS / elapsed, 1),
            "unit": "/s",
            "ratio": None,
        },
    ]
