"""`make demo`, Flow 5: POS menu edits reach the Wix menu within seconds, touching only what changed.

On the menu Flow 4 published, each scenario edits the Square sandbox as a seller would (the sandbox fires
catalog.version.updated to the bridge's webhook route), waits until the Wix sandbox shows the change, and reports the
Wix calls it took (from the sandbox's `calls` counters) and the time from the POS edit to the Wix write.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from devstack.demo import INSTANCE_ID, MERCHANT_ID, POS_TOKEN, Demo, Row

TIMEOUT_S = 20.0


class CatalogSync:
    def __init__(self, demo: Demo) -> None:
        self.demo = demo

    def scenarios(self) -> tuple[Callable[[], None], ...]:
        return (self.price_change, self.rename, self.add_item_to_a_category, self.sold_out)

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _wix_state(self) -> dict[str, Any]:
        return dict(self.demo.wix("GET", f"/_sandbox/instances/{INSTANCE_ID}/state"))

    def _calls(self) -> int:
        calls = self._wix_state()["calls"]
        return sum(n for route, n in calls.items() if "/restaurants/" in route)  # Menus calls only

    def _pos_catalog(self) -> list[dict[str, Any]]:
        return list(self.demo.square("GET", f"/_sandbox/merchants/{MERCHANT_ID}/state")["catalog"])

    def _pos(self, name: str) -> dict[str, Any]:
        return next(
            o for o in self._pos_catalog()
            if not o.get("is_deleted") and (o.get("item_data") or o.get("category_data") or {}).get("name") == name
        )  # fmt: skip

    def _variation(self, item: str) -> str:
        return str(next(o["id"] for o in self._pos_catalog() if o.get("item_variation_data", {}).get("item_id")
                        == self._pos(item)["id"] and not o.get("is_deleted")))  # fmt: skip

    def _item(self, name: str) -> dict[str, Any] | None:
        return next((i for i in self._wix_state()["items"] if i["name"] == name), None)

    def _measure(self, scenario: str, change: Callable[[], None], done: Callable[[], str | None]) -> None:
        before = self._calls()
        started = time.monotonic()
        change()
        deadline = started + TIMEOUT_S
        shown = None
        while time.monotonic() < deadline and shown is None:
            shown = done()
            if shown is None:
                time.sleep(0.05)
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # let any duplicate delivery finish: the count includes every call the change caused
        calls = self._calls() - before
        ok = shown is not None
        result = f"{shown}: {calls} Wix call(s), on Wix {elapsed:.2f} s after the POS edit" if ok else "not on Wix"
        self.demo.rows.append(Row(scenario, "-", "-", "-", result, ok))

    def _control(self, path: str, body: dict[str, Any]) -> None:
        self.demo.square("POST", f"/_sandbox/merchants/{MERCHANT_ID}/catalog/{path}", body)

    # -- scenarios -------------------------------------------------------------------------------------------------

    def price_change(self) -> None:
        variation = self._variation("Cheeseburger")

        def done() -> str | None:
            item = self._item("Cheeseburger")
            price = ((item or {}).get("priceInfo") or {}).get("price")
            return f"Cheeseburger now {price}" if price == "14.25" else None

        self._measure("catalog sync: price change on the POS", lambda: self._control(
            "price", {"variationId": variation, "amount": 1425}), done)  # fmt: skip

    def rename(self) -> None:
        item_id = self._pos("Grilled Salmon")["id"]

        def done() -> str | None:
            return "Grilled Salmon renamed 'Wild Salmon'" if self._item("Wild Salmon") else None

        self._measure("catalog sync: rename on the POS", lambda: self._control(
            "rename", {"objectId": item_id, "name": "Wild Salmon"}), done)  # fmt: skip

    def add_item_to_a_category(self) -> None:
        desserts = self._pos("Desserts")["id"]

        def add() -> None:
            body = {"idempotency_key": uuid.uuid4().hex, "batches": [{"objects": [{
                "type": "ITEM", "id": "#affogato", "item_data": {
                    "name": "Affogato", "categories": [{"id": desserts}],
                    "variations": [{"type": "ITEM_VARIATION", "id": "#affogato-r", "item_variation_data": {
                        "item_id": "#affogato", "name": "Regular", "pricing_type": "FIXED_PRICING",
                        "price_money": {"amount": 600, "currency": "USD"}}}]}}]}]}  # fmt: skip
            response = self.demo.http.post(
                f"{self.demo.devstack.pos_url}/v2/catalog/batch-upsert",
                json=body,
                headers={"Authorization": f"Bearer {POS_TOKEN}", "Square-Version": "2025-10-16"},
            )
            response.raise_for_status()

        def done() -> str | None:
            state = self._wix_state()
            item = next((i for i in state["items"] if i["name"] == "Affogato"), None)
            section = next((s for s in state["sections"] if s["name"] == "Desserts" and item
                            and item["id"] in s["itemIds"]), None)  # fmt: skip
            return "Affogato listed in Desserts" if section else None

        self._measure("catalog sync: new item in a POS category", add, done)

    def sold_out(self) -> None:
        variation = self._variation("Chocolate Lava Cake")

        def done() -> str | None:
            item = self._item("Chocolate Lava Cake")
            return "Chocolate Lava Cake sold out" if item and not item["orderSettings"]["inStock"] else None

        self._measure("catalog sync: sold out (86'd) on the POS", lambda: self._control(
            "sold-out", {"variationId": variation, "soldOut": True}), done)  # fmt: skip
