"""Flow 1 through the devstack: ack latency of POST /webhooks/wix, orders exported per second, and the POS calls each
exported order costs with a customer Square already knows."""

from __future__ import annotations

import statistics
import time
import uuid

from bench.stack import quiet_devstack
from devstack.kitchen import Kitchen
from devstack.wix_sandbox import sign_webhook

ACKS = 300
ORDERS = 60
# The Square calls of an export (Flows 2 and 3 read orders back after Square's webhooks: not counted here)
EXPORT_ROUTES = (
    "POST /v2/customers/search",
    "POST /v2/customers",
    "POST /v2/orders",
    "POST /v2/payments",
    "POST /v2/orders/{order_id}/pay",
)


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

        def checkout() -> str:
            placed = http.post(
                f"{devstack.wix_url}/_sandbox/instances/{instance}/checkout",
                json={
                    "lines": [{"kind": "restaurant", "name": "Soup", "price": "7.00", "quantity": 1}],
                    "buyer": {"email": "bench@example.com"},
                },
            ).json()
            return str(placed["order"]["id"])

        def wait_exported(ids: set[str], since: float) -> None:
            pending = set(ids)
            while pending and time.perf_counter() - since < 120:
                pending = {
                    i
                    for i in pending
                    if http.get(f"{devstack.gateway_url}/admin/tenants/{instance}/orders/{i}").status_code != 200
                }
                time.sleep(0.05)
            if pending:
                raise RuntimeError(f"{len(pending)} orders were not exported within 120 s")

        def export_calls() -> int:
            calls = http.get(f"{devstack.pos_url}/_sandbox/merchants/MBENCH/state").json()["calls"]
            return sum(int(calls.get(route, 0)) for route in EXPORT_ROUTES)

        # The buyer's first order makes the Square customer; every order after it finds that customer.
        wait_exported({checkout()}, time.perf_counter())
        calls_before = export_calls()
        # Throughput: customers place orders; the clock stops when the last one is mapped to a POS order.
        started = time.perf_counter()
        wait_exported({checkout() for _ in range(ORDERS)}, started)
        elapsed = time.perf_counter() - started
        calls_per_order = (export_calls() - calls_before) / ORDERS
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
        {
            "metric": f"POS calls per exported order, known customer, paid ({ORDERS} orders; goal <= 4)",
            "value": round(calls_per_order, 2),
            "unit": "calls",
            "ratio": None,
        },
    ]
