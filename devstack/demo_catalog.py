"""`make demo`, Flow 4: the restaurant's POS catalog becomes its Wix menu, and a failed import changes nothing.

- the Square sandbox's sample restaurant (a Dinner menu of 4 sections, dishes in several sizes, modifier lists, a
  sold-out Tiramisu) is imported through the admin API; the resulting Wix menu is printed;
- another import runs and Wix refuses it mid-way (403 on the sections: the app lost a permission; a 5xx outage goes
  the same way after its retries, only slower): it fails and rolls back, and the menu customers see is sampled all
  along: it never changed, and the Wix sandbox's visibility journal has no violation;
- a re-run completes and replaces the menu (the previous entities are deleted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from devstack.demo import INSTANCE_ID, MERCHANT_ID, Demo, Row

SECTIONS_CREATE = "/restaurants/menus-section/v1/bulk/sections/create"


def customer_view(state: dict[str, Any]) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """What a customer browsing the site sees: visible menus, their sections, their dishes."""
    sections = {s["id"]: s for s in state["sections"]}
    items = {i["id"]: i for i in state["items"]}
    return [
        (
            m["name"],
            [(sections[s]["name"], [items[i]["name"] for i in sections[s]["itemIds"]]) for s in m["sectionIds"]],
        )
        for m in state["menus"]
        if m.get("visible", True)
    ]


class CatalogImport:
    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.admin = f"{demo.devstack.gateway_url}/admin"

    def scenarios(self) -> tuple[Callable[[], None], ...]:
        return (self.import_sample_catalog, self.failed_import_changes_nothing, self.rerun_completes)

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _row(self, scenario: str, done: str, result: str, ok: bool) -> None:
        self.demo.rows.append(Row(scenario, "-", "-", done, result, ok))

    def _wix_state(self) -> dict[str, Any]:
        return dict(self.demo.wix("GET", f"/_sandbox/instances/{INSTANCE_ID}/state"))

    def _run_import(self) -> dict[str, Any]:
        started = self.demo.http.post(f"{self.admin}/tenants/{INSTANCE_ID}/catalog-imports", json={})
        started.raise_for_status()
        job_id = started.json()["jobId"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = dict(self.demo.call("GET", f"{self.admin}/tenants/{INSTANCE_ID}/catalog-imports/{job_id}"))
            if job["status"] != "running":
                return job
            time.sleep(0.2)
        raise AssertionError(f"catalog import {job_id} did not finish in 120 s")

    def _print_menus(self, title: str, state: dict[str, Any]) -> None:
        items = {i["name"]: i for i in state["items"]}
        print(f"\n{title}")
        for menu, sections in customer_view(state):
            print(f"  {menu}")
            for section, dishes in sections:
                print(f"    {section}")
                for name in dishes:
                    item = items[name]
                    prices = (item.get("priceInfo") or {}).get("price") or " / ".join(
                        v["priceInfo"]["price"] for v in item["priceVariants"]["variants"]
                    )
                    stock = "" if item["orderSettings"]["inStock"] else "  (sold out)"
                    print(f"      {name:<22} {prices}{stock}")
        print()

    @staticmethod
    def _api_calls(state: dict[str, Any]) -> int:
        return sum(n for route, n in state["calls"].items() if not route.endswith("/oauth2/token"))

    # -- scenarios -------------------------------------------------------------------------------------------------

    def import_sample_catalog(self) -> None:
        self.demo.square("POST", f"/_sandbox/merchants/{MERCHANT_ID}/seed-catalog")
        calls_before = self._api_calls(self._wix_state())
        job = self._run_import()
        state = self._wix_state()
        view = customer_view(state)
        sold_out = sorted(i["name"] for i in state["items"] if not i["orderSettings"]["inStock"])
        sized = sum(1 for i in state["items"] if i.get("priceVariants"))
        self._print_menus("The Wix menu after the catalog import:", state)
        ok = (
            job["status"] == "succeeded"
            and len(view) == 1
            and len(view[0][1]) == 4
            and sold_out == ["Tiramisu"]
            and not state["visibilityViolations"]
        )
        result = (
            f"{len(view)} menu, {len(view[0][1]) if view else 0} sections, {len(state['items'])} dishes "
            f"({sized} in sizes), {len(state['modifierGroups'])} modifier groups, sold out: {', '.join(sold_out)}; "
            f"{self._api_calls(state) - calls_before} Wix calls"
        )
        self._row("catalog import: POS sample restaurant -> Wix menu", f"{job['done']}/{job['total']}", result, ok)

    def failed_import_changes_nothing(self) -> None:
        before = self._wix_state()
        live = customer_view(before)
        samples: list[bool] = []
        stop = threading.Event()

        def watch() -> None:  # a customer refreshing the menu page during the import
            while not stop.is_set():
                samples.append(customer_view(self._wix_state()) == live)
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        self.demo.wix("POST", "/_sandbox/faults", {"path": SECTIONS_CREATE, "status": 403, "times": 1})
        watcher.start()
        try:
            job = self._run_import()
        finally:
            stop.set()
            watcher.join()
            self.demo.http.delete(f"{self.demo.devstack.wix_url}/_sandbox/faults")
        after = self._wix_state()
        kinds = ("menus", "sections", "items", "variants", "modifiers", "modifierGroups")
        leftovers = sum(len({e["id"] for e in after[k]} - {e["id"] for e in before[k]}) for k in kinds)
        ok = (
            job["status"] == "failed"
            and job["rolledBack"]
            and all(samples)
            and customer_view(after) == live
            and leftovers == 0
            and not after["visibilityViolations"]
        )
        result = (
            f"failed in {job['step']}, rolled back; the live menu was the same at all {len(samples)} looks, "
            f"{leftovers} entities left, {len(after['visibilityViolations'])} visibility violations"
        )
        self._row("import that Wix refuses mid-way (403 on sections)", f"{job['done']}/{job['total']}", result, ok)

    def rerun_completes(self) -> None:
        before = self._wix_state()
        job = self._run_import()
        after = self._wix_state()
        old_ids = {m["id"] for m in before["menus"]} | {i["id"] for i in before["items"]}
        still_there = old_ids & ({m["id"] for m in after["menus"]} | {i["id"] for i in after["items"]})
        ok = job["status"] == "succeeded" and not still_there and len(customer_view(after)) == 1
        ok = ok and not after["visibilityViolations"]
        result = f"{job['status']}: new menu published, {len(old_ids)} old menus and dishes deleted"
        self._row("re-run of the import", f"{job['done']}/{job['total']}", result, ok)
