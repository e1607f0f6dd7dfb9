"""Flow 5 through the devstack: incremental catalog syncs on a 5,000-item catalog (bench/catalog.py's menu).

The catalog is imported once (Flow 4, admin API + state machine), then:
- 1 / 10 / 100 price changes on single-priced dishes are made on the POS and one signed catalog.version.updated
  reaches the webhook route; the row is the Menus calls the sync made / the goal, ceil(changes/100) per entity type
  touched (items only here; 1 for a single price change). Reads made by the sync count too.
- time from the POS edit (the sandbox fires the webhook itself) to the new price on Wix, for one price change, on
  this catalog and on the demo's 11-dish menu: webhook -> ingest -> SQS -> sync (the changes since the cursor, the
  changed item from the POS and its mapping entries, diff) -> one bulk update.
- the same for the very first POS change after the import: the import leaves the sync's cursor at its snapshot, so
  this sync too reads only what changed (without it, the first sync read the whole catalog and mapping: ~25 s).

No Wix rate limit here (the calls are counted, not throttled). python -m bench.catalog_sync runs it alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
import uuid

import httpx

from bench.catalog import _upsert, _with_real_ids, square_catalog
from bench.stack import quiet_devstack
from devstack.app import Devstack
from devstack.kitchen import Kitchen

ITEMS = 5_000
CHANGES = (1, 10, 100)
SIGNATURE_KEY = "sig"


class Tenant:
    def __init__(self, devstack: Devstack, http: httpx.Client, items: int = ITEMS) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.devstack, self.http = devstack, http
        self.instance, self.merchant, self.token = f"bench-sync-{suffix}", f"MS{suffix.upper()}", f"tok-{suffix}"
        Kitchen(devstack, self.instance, self.merchant, f"L{suffix}", self.token, SIGNATURE_KEY, http).set_up()
        if not items:  # the demo's sample menu
            url = f"{devstack.pos_url}/_sandbox/merchants/{self.merchant}/seed-catalog"
            seeded = http.post(url).raise_for_status().json()["objects"]
            self.singles = [o["item_data"]["variations"][0]["id"] for o in seeded
                            if o["type"] == "ITEM" and len(o["item_data"]["variations"]) == 1]  # fmt: skip
            self.names: dict[str, str] = {o["item_data"]["variations"][0]["id"]: o["item_data"]["name"] for o in seeded
                          if o["type"] == "ITEM"}  # fmt: skip
            return
        headers = {"Authorization": f"Bearer {self.token}", "Square-Version": "2025-10-16"}
        objects = square_catalog(items)
        ids = _upsert(http, devstack.pos_url, headers, [o for o in objects if o["type"] != "ITEM"])
        real = {m["client_object_id"]: m["object_id"] for m in ids}
        dishes = [_with_real_ids(o, real) for o in objects if o["type"] == "ITEM"]
        ids += _upsert(http, devstack.pos_url, headers, dishes)
        by_client = {m["client_object_id"]: m["object_id"] for m in ids}
        # single-priced dishes (bench/catalog.py: every third dish has three sizes)
        self.singles = [by_client[f"#d{i}-0"] for i in range(items) if i % 3]
        self.names = {str(by_client[f"#d{i}-0"]): f"Dish {i + 1}" for i in range(items)}

    def import_catalog(self) -> None:
        gw = self.devstack.gateway_url
        job_id = self.http.post(f"{gw}/admin/tenants/{self.instance}/catalog-imports", json={}).json()["jobId"]
        job_url = f"{gw}/admin/tenants/{self.instance}/catalog-imports/{job_id}"
        while (job := self.http.get(job_url).json())["status"] == "running":
            time.sleep(0.2)
        if job["status"] != "succeeded":
            raise RuntimeError(f"catalog import failed: {job.get('reason')}")

    def menus_calls(self) -> dict[str, int]:
        state = self.http.get(f"{self.devstack.wix_url}/_sandbox/instances/{self.instance}/state").json()
        return {k: v for k, v in state["calls"].items() if "/restaurants/" in k}

    def notify(self, on: bool) -> None:
        url = f"{self.devstack.pos_url}/_sandbox/merchants/{self.merchant}/notification-url"
        self.http.put(url, json={"notificationUrl": self.devstack.square_webhook_url if on else None})

    def set_price(self, variation_id: str, cents: int) -> None:
        url = f"{self.devstack.pos_url}/_sandbox/merchants/{self.merchant}/catalog/price"
        self.http.post(url, json={"variationId": variation_id, "amount": cents}).raise_for_status()

    def signed_webhook(self) -> None:
        body = json.dumps({
            "merchant_id": self.merchant, "type": "catalog.version.updated", "event_id": uuid.uuid4().hex,
            "created_at": "2026-01-01T00:00:00Z",
            "data": {"type": "catalog_version", "id": "",
                     "object": {"catalog_version": {"updated_at": uuid.uuid4().hex}}},
        }).encode()  # fmt: skip
        url = self.devstack.square_webhook_url
        sig = base64.b64encode(hmac.new(SIGNATURE_KEY.encode(), url.encode() + body, hashlib.sha256).digest()).decode()
        answer = self.http.post(url, content=body, headers={"x-square-hmacsha256-signature": sig})
        answer.raise_for_status()

    def wait_price(self, name: str, price: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.http.get(f"{self.devstack.wix_url}/_sandbox/instances/{self.instance}/state").json()
            item = next((i for i in state["items"] if i["name"] == name), None)
            if item and (item.get("priceInfo") or {}).get("price") == price:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not reach {price} on Wix in {timeout_s} s")

    def dish_name(self, variation_index: int) -> str:
        return self.names[self.singles[variation_index]]

    def webhook_to_wix(self, first: int) -> float:
        """Median of 3 price changes made on the POS (which notifies the bridge) until the price shows on Wix."""
        self.notify(True)
        timings = []
        for n in range(3):
            started = time.perf_counter()
            self.set_price(self.singles[first + n], 7777 + n)
            self.wait_price(self.dish_name(first + n), f"77.{77 + n}")
            timings.append(time.perf_counter() - started)
        return sorted(timings)[1]


def rows() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    with quiet_devstack(120) as (devstack, http):
        # the demo menu first, while moto holds no big catalog (moto's DynamoDB Query reads every item of the table,
        # which makes the webhook ingest's POS-link lookup slower once the 5,000-item mapping is in it)
        demo = Tenant(devstack, http, items=0)
        demo.import_catalog()
        demo_s = demo.webhook_to_wix(0)
        t = Tenant(devstack, http)
        t.import_catalog()
        t.notify(True)  # no sync has run since the import: this is the first
        started = time.perf_counter()
        t.set_price(t.singles[0], 4321)
        t.wait_price(t.dish_name(0), "43.21")
        first_s = time.perf_counter() - started
        t.notify(False)  # the batches below are announced by one webhook each
        offset = 1
        for changes in CHANGES:
            before = t.menus_calls()
            cents = 5000 + changes
            for k in range(changes):
                t.set_price(t.singles[offset + k], cents)
            t.signed_webhook()
            last = offset + changes - 1
            t.wait_price(t.dish_name(last), f"{cents // 100}.{cents % 100:02d}")
            time.sleep(1.0)
            after = t.menus_calls()
            calls = sum(after.values()) - sum(before.values())
            goal = math.ceil(changes / 100)
            out.append({
                "metric": f"catalog sync, {changes} price change(s) on {ITEMS:,} items: Menus calls / goal",
                "value": f"{calls} / {goal}", "unit": "call", "ratio": round(calls / goal, 2),
            })  # fmt: skip
            offset += changes
        big_s = t.webhook_to_wix(offset)
        for label, seconds in (("demo menu, 11 dishes", demo_s), (f"{ITEMS:,}-item catalog", big_s)):
            out.append({
                "metric": f"catalog sync: POS webhook -> Wix write, {label} (devstack, median of 3)",
                "value": f"{seconds:.2f}", "unit": "s", "ratio": None,
            })  # fmt: skip
        out.append({
            "metric": f"first POS change after an import, {ITEMS:,}-item catalog: webhook -> Wix write (s)",
            "value": f"{first_s:.2f}", "unit": "s", "ratio": None,
        })  # fmt: skip
    return out


if __name__ == "__main__":
    for row in rows():
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        print(f"{row['metric']!s:<85} {row['value']!s:>10} {row['unit']!s:<4} {ratio}")
