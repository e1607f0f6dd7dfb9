"""Flow 4 through the devstack: catalog imports of 100, 1,000 and 5,000 items (with variants and modifiers) into a Wix
sandbox rate-limited to 200 requests/minute per instance, as Wix documents.

Per size, two rows:
- Wix calls made / the minimum for that catalog with 100-per-bulk batching: one Locations call, one menus query,
  ceil(n/100) bulk creates per entity kind, ceil(menus/100) publish switches (goal 1.00). OAuth token mints are
  listed apart: one per step function per cold start (each Lambda has its own token cache).
- wall time (POST .../catalog-imports until the job has finished) / the time the 200/min limit forces for those calls
  at its steady rate, calls x 0.3 s (goal at most 1.10). Measured warm: a 10-item import runs first, so the step
  functions' cold starts (about 0.3 s each in-process) are not counted.

python -m bench.catalog [sizes...] runs it alone (default 100 1000 5000).
"""

from __future__ import annotations

import math
import re
import sys
import time
import uuid
from typing import Any

import httpx

from bench.stack import quiet_devstack
from devstack.app import Devstack
from devstack.kitchen import Kitchen

SIZES = (100, 1_000, 5_000)
WARM_UP_ITEMS = 10
RATE_PER_MINUTE = 200
ITEMS_PER_SECTION = 50
MODIFIER_LISTS = 20
MODIFIERS_PER_LIST = 5


def square_catalog(items: int) -> list[dict[str, Any]]:
    """A Dashboard-built menu: one menu category, sections of 50 dishes; every third dish in three sizes, every other
    one with two of 20 modifier lists (5 modifiers each); one dish in ten sold out."""
    objects: list[dict[str, Any]] = [
        {"type": "CATEGORY", "id": "#menu", "category_data": {"name": "Dinner", "category_type": "MENU_CATEGORY"}}
    ]
    sections = math.ceil(items / ITEMS_PER_SECTION)
    for s in range(sections):
        objects.append(
            {
                "type": "CATEGORY",
                "id": f"#s{s}",
                "category_data": {
                    "name": f"Section {s + 1}",
                    "category_type": "MENU_CATEGORY",
                    "parent_category": {"id": "#menu", "ordinal": s},
                },
            }
        )
    for m in range(MODIFIER_LISTS):
        objects.append(
            {
                "type": "MODIFIER_LIST",
                "id": f"#ml{m}",
                "modifier_list_data": {
                    "name": f"Extras {m + 1}",
                    "max_selected_modifiers": 1 if m % 2 else -1,  # selection_type is deprecated
                    "modifiers": [
                        {
                            "type": "MODIFIER",
                            "id": f"#ml{m}-{k}",
                            "modifier_data": {
                                "name": f"Extra {m + 1}.{k + 1}",
                                "price_money": {"amount": 50 * k, "currency": "USD"},
                                "ordinal": k,
                            },
                        }
                        for k in range(MODIFIERS_PER_LIST)
                    ],
                },
            }
        )
    for i in range(items):
        sizes = [("Small", 900), ("Medium", 1100), ("Large", 1300)] if i % 3 == 0 else [("Regular", 1000 + i % 700)]
        data: dict[str, Any] = {
            "name": f"Dish {i + 1}",
            "description": f"House dish number {i + 1}.",
            "categories": [{"id": f"#s{i // ITEMS_PER_SECTION}", "ordinal": i % ITEMS_PER_SECTION}],
            "variations": [
                {
                    "type": "ITEM_VARIATION",
                    "id": f"#d{i}-{k}",
                    "item_variation_data": {
                        "name": name,
                        "ordinal": k,
                        "pricing_type": "FIXED_PRICING",
                        "price_money": {"amount": cents, "currency": "USD"},
                    },
                }
                for k, (name, cents) in enumerate(sizes)
            ],
        }
        if i % 2 == 0:
            data["modifier_list_info"] = [
                {"modifier_list_id": f"#ml{(i // 2 + j) % MODIFIER_LISTS}", "enabled": True} for j in range(2)
            ]
        objects.append({"type": "ITEM", "id": f"#d{i}", "item_data": data})
    return objects


def _sold_out_every_tenth(http: httpx.Client, pos_url: str, merchant: str, upserted: dict[str, Any]) -> None:
    ids = upserted.get("id_mappings") or []
    variations = [m["object_id"] for m in ids if re.fullmatch(r"#d\d+-0", str(m.get("client_object_id", "")))]
    for object_id in variations[::10]:
        http.post(
            f"{pos_url}/_sandbox/merchants/{merchant}/catalog/sold-out",
            json={"variationId": object_id, "soldOut": True},
        ).raise_for_status()


def _batches(objects: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Square counts nested variations and modifiers against the 1,000 objects per batch."""
    batches: list[list[dict[str, Any]]] = [[]]
    count = 0
    for obj in objects:
        size = 1 + len((obj.get("item_data") or {}).get("variations") or [])
        size += len((obj.get("modifier_list_data") or {}).get("modifiers") or [])
        if count + size > 1000:
            batches.append([])
            count = 0
        batches[-1].append(obj)
        count += size
    return batches


def _upsert(http: httpx.Client, pos_url: str, headers: dict[str, str], objects: list[dict[str, Any]]) -> list[Any]:
    batches = _batches(objects)
    id_mappings: list[Any] = []
    for start in range(0, len(batches), 10):  # at most 10,000 objects per request
        body = {"idempotency_key": uuid.uuid4().hex, "batches": [{"objects": b} for b in batches[start : start + 10]]}
        answer = http.post(f"{pos_url}/v2/catalog/batch-upsert", json=body, headers=headers)
        if answer.is_error:
            raise RuntimeError(f"Square batch-upsert answered {answer.status_code}: {answer.text[:300]}")
        id_mappings += answer.json().get("id_mappings") or []
    return id_mappings


def _with_real_ids(item: dict[str, Any], real: dict[str, str]) -> dict[str, Any]:
    data = dict(item["item_data"])
    data["categories"] = [{**c, "id": real.get(c["id"], c["id"])} for c in data["categories"]]
    if "modifier_list_info" in data:
        data["modifier_list_info"] = [
            {**i, "modifier_list_id": real.get(i["modifier_list_id"], i["modifier_list_id"])}
            for i in data["modifier_list_info"]
        ]
    return {**item, "item_data": data}


def run_import(devstack: Devstack, http: httpx.Client, items: int) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    instance, merchant, token = f"bench-cat-{suffix}", f"MB{suffix.upper()}", f"tok-{suffix}"
    Kitchen(devstack, instance, merchant, f"L{suffix}", token, "sig", http).set_up()
    headers = {"Authorization": f"Bearer {token}", "Square-Version": "2025-10-16"}
    objects = square_catalog(items)
    # Categories and modifier lists first: temporary ids resolve only within one request, so the items that follow
    # (in requests of at most 10,000 objects) name them by their real ids.
    id_mappings = _upsert(http, devstack.pos_url, headers, [o for o in objects if o["type"] != "ITEM"])
    real = {m["client_object_id"]: m["object_id"] for m in id_mappings}
    dishes = [_with_real_ids(o, real) for o in objects if o["type"] == "ITEM"]
    id_mappings += _upsert(http, devstack.pos_url, headers, dishes)
    _sold_out_every_tenth(http, devstack.pos_url, merchant, {"id_mappings": id_mappings})

    started = time.perf_counter()
    job_id = http.post(f"{devstack.gateway_url}/admin/tenants/{instance}/catalog-imports", json={}).json()["jobId"]
    while True:
        job = http.get(f"{devstack.gateway_url}/admin/tenants/{instance}/catalog-imports/{job_id}").json()
        if job["status"] != "running":
            break
        time.sleep(0.2)
    wall = time.perf_counter() - started
    if job["status"] != "succeeded":
        raise RuntimeError(f"catalog import of {items} items failed: {job.get('reason')}")
    state = http.get(f"{devstack.wix_url}/_sandbox/instances/{instance}/state").json()
    tokens = sum(n for route, n in state["calls"].items() if route.endswith("/oauth2/token"))
    calls = sum(state["calls"].values()) - tokens
    totals = {kind: p["total"] for kind, p in job["progress"].items() if kind != "cleanup"}
    minimum = 3 + sum(math.ceil(n / 100) for n in totals.values() if n)  # locations, menus query, publish
    if state["visibilityViolations"]:
        raise RuntimeError(f"{len(state['visibilityViolations'])} visibility violations during the import")
    return {
        "items": items,
        "calls": calls,
        "minimum": minimum,
        "tokens": tokens,
        "throttled": state["rateLimited"],
        "wall_s": wall,
        "forced_s": calls * 60 / RATE_PER_MINUTE,
        "totals": totals,
    }


def rows(sizes: tuple[int, ...] = SIZES) -> list[dict[str, object]]:
    found = []
    with quiet_devstack(60) as (devstack, http):
        http.post(f"{devstack.wix_url}/_sandbox/rate-limit", json={"perMinute": RATE_PER_MINUTE}).raise_for_status()
        run_import(devstack, http, WARM_UP_ITEMS)  # cold starts of the 13 step functions are not what is measured
        for items in sizes:
            found.append(run_import(devstack, http, items))
    out: list[dict[str, object]] = []
    for r in found:
        label = f"catalog import {r['items']:,} items"
        out.append(
            {
                "metric": f"{label}: Wix calls made / minimum (+{r['tokens']} token mints, {r['throttled']} 429s)",
                "value": f"{r['calls']} / {r['minimum']}",
                "unit": "call",
                "ratio": round(r["calls"] / r["minimum"], 2),
            }
        )
        out.append(
            {
                "metric": f"{label}: wall time / time 200 calls/min forces",
                "value": f"{r['wall_s']:.1f} / {r['forced_s']:.1f}",
                "unit": "s",
                "ratio": round(r["wall_s"] / r["forced_s"], 2),
            }
        )
    return out


if __name__ == "__main__":
    chosen = tuple(int(a) for a in sys.argv[1:]) or SIZES
    for row in rows(chosen):
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        print(f"{row['metric']!s:<95} {row['value']!s:>14} {row['unit']!s:<4} {ratio}")
