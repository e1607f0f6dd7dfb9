"""`make demo`, Flows 2 and 3: the same restaurant's kitchen works on the POS and the Wix dashboard follows.

- a cashier rings up an order of menu items on the POS: it shows up in Wix with a Pending fulfillment;
- the kitchen moves an online order through Accepted -> Ready -> Fulfilled: the Wix sandbox shows each step;
- Square loses one webhook on purpose: the order is not in Wix until the reconciliation run heals it.

The cashier rings up items of the menu the catalog import scenario (Flow 4) published to Wix; run alone, the catalog
mapping the publish writes is written for those items instead (devstack/kitchen.py, `map_catalog`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from devstack.demo import INSTANCE_ID, LOCATION_ID, MERCHANT_ID, POS_SIGNATURE_KEY, POS_TOKEN, Demo, Row
from devstack.kitchen import Kitchen, wait_for
from posbridge.store.catalog_lookup import CatalogLookup


class PosToWix:
    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.kitchen = Kitchen(
            demo.devstack, INSTANCE_ID, MERCHANT_ID, LOCATION_ID, POS_TOKEN, POS_SIGNATURE_KEY, demo.http
        )
        self.variations: dict[str, str] = {}

    def scenarios(self) -> tuple[Callable[[], None], ...]:
        return (self.kitchen_on_the_bridge, self.cashier_order, self.online_order_moves, self.lost_webhook_healed)

    def _row(self, scenario: str, wix: str, pos: str, lines: str, result: str, ok: bool) -> None:
        self.demo.rows.append(Row(scenario, wix[:8] or "-", pos[:10] or "-", lines, result, ok))

    def kitchen_on_the_bridge(self) -> None:
        """Square's webhook subscription points at the bridge; the menu is on Wix (published by the catalog import
        scenario before, else mapped here as the publish would)."""
        url = f"{self.demo.devstack.pos_url}/_sandbox/merchants/{MERCHANT_ID}/notification-url"
        self.demo.http.put(url, json={"notificationUrl": self.demo.devstack.square_webhook_url}).raise_for_status()
        variations = self.kitchen.seed_catalog()
        self.variations = {k: variations[k] for k in ("Margherita Pizza Large", "Tomato Soup Bowl")}
        assert self.demo.devstack.stack is not None
        published = CatalogLookup(self.demo.devstack.stack.output("MappingsTableName")).variations(
            INSTANCE_ID, self.variations.values()
        )
        if len(published) == len(self.variations):
            result = f"menu published by the catalog import ({len(published)} of its items rung up below)"
        else:
            self.kitchen.map_catalog(self.variations)
            result = f"{len(self.variations)} items mapped as the catalog publish would"
        self._row("POS webhooks to the bridge; menu on Wix", "", "", "-", result, True)

    def cashier_order(self) -> None:
        order = self.kitchen.ring_up(
            [
                {"catalog_object_id": self.variations["Margherita Pizza Large"], "quantity": "2"},
                {"catalog_object_id": self.variations["Tomato Soup Bowl"], "quantity": "1"},
            ]
        )
        synced = self.kitchen.wait_pos_order(order["id"], wixStatus="Pending")
        wix = self.kitchen.wix_orders_for(order["id"])
        status = self.kitchen.wix_status(synced["wixOrderId"])
        ok = len(wix) == 1 and status == "Pending" and len(wix[0]["lineItems"]) == 2
        number = wix[0]["number"] if wix else "?"
        self._row(
            "cashier rings up an order on the POS",
            synced["wixOrderId"],
            order["id"],
            f"{len(wix[0]['lineItems']) if wix else 0}/2",
            f"Wix order #{number}, fulfillment {status}",
            ok,
        )

    def online_order_moves(self) -> None:
        placed = self.demo.checkout([{"kind": "restaurant", "name": "Carbonara", "price": "13.00", "quantity": 1}])
        wix_id = placed["order"]["id"]
        pos = wait_for(lambda: self.kitchen.pos_order_for(wix_id))
        self.kitchen.wait_pos_order(pos["id"], wixStatus="Pending")
        for state, status in (("RESERVED", "Accepted"), ("PREPARED", "Ready"), ("COMPLETED", "Fulfilled")):
            self.kitchen.move(pos["id"], state)
            self.kitchen.wait_pos_order(pos["id"], wixStatus=status)
            shown = self.kitchen.wix_status(wix_id)
            self._row(
                f"kitchen: {state.lower()} on the POS", wix_id, pos["id"], "1/1", f"Wix shows {shown}", shown == status
            )

    def lost_webhook_healed(self) -> None:
        self.kitchen.square_webhooks(drop=1)
        order = self.kitchen.ring_up(
            [{"catalog_object_id": self.variations["Tomato Soup Bowl"], "quantity": "3"}], ticket_name="Table 7"
        )
        time.sleep(0.5)
        missing = not self.kitchen.wix_orders_for(order["id"])
        self._row(
            "Square loses the webhook of an order",
            "",
            order["id"],
            "1/1",
            "not in Wix" if missing else "in Wix anyway?",
            missing,
        )
        answer = self.kitchen.reconcile()
        summary = answer.json()
        synced = self.kitchen.wait_pos_order(order["id"], wixStatus="Pending")
        healed = len(self.kitchen.wix_orders_for(order["id"])) == 1
        self._row(
            "reconciliation run (on demand)",
            synced["wixOrderId"],
            order["id"],
            "1/1",
            f"HTTP {answer.status_code}: {summary.get('pos_queued')} POS change(s) queued; now in Wix, Pending",
            answer.status_code == 200 and healed,
        )
