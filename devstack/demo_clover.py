"""`make demo`, a Clover restaurant beside the Square one: the same flows through the same functions, the provider
chosen by the tenant's registration (pos/registry.py).

- the restaurant connects its Clover merchant (the pair of its authorisation, the app's Clover Auth Code);
- an online order paid on Wix, with tax, a coupon, a service fee and a tip, shows on Clover's POS screen paid, with
  the money Wix took to the cent (an external-tender payment: Clover's Orders app shows it paid);
- the Clover inventory (categories, an item group with variants, a modifier group with its min/max, a sold-out item)
  is imported through the same draft publish as Square's;
- a cashier rings up an order of those items on Clover: Clover's webhook reaches the bridge, the order is in Wix;
- the cashier refunds the online order's payment at the till (the only state change Clover's REST API shows: it has
  no fulfillments nor a canceled state): the Wix order is canceled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from devstack.demo import Demo, Row
from devstack.kitchen import wait_for

CLOVER_INSTANCE_ID = "demo-clover-restaurant-0001"
CATALOG = {
    "categories": ["Mains", "Desserts"],
    "modifierGroups": [
        {
            "name": "Toppings",
            "minRequired": 0,
            "maxAllowed": 2,
            "modifiers": [{"name": "Extra cheese", "price": 150}, {"name": "Bacon", "price": 200}],
        },
    ],
    "itemGroups": [
        {
            "name": "Burger",
            "category": "Mains",
            "modifierGroups": [0],
            "variants": [{"option": "Single", "price": 1100}, {"option": "Double", "price": 1500}],
        },
    ],
    "items": [
        {"name": "Fries", "price": 450, "category": "Mains"},
        {"name": "Cheesecake", "price": 650, "category": "Desserts", "available": False},
    ],
}


class CloverRestaurant:
    def __init__(self, demo: Demo, instance_id: str = CLOVER_INSTANCE_ID) -> None:
        self.demo = demo
        self.instance_id = instance_id
        self.gateway = demo.devstack.gateway_url
        self.clover = demo.devstack.clover_url
        self.merchant_id = ""
        self.ids: dict[str, str] = {}
        self.exported: dict[str, Any] = {}  # the online order's Wix order and its Clover order id

    def scenarios(self) -> tuple[Callable[[], None], ...]:
        return (
            self.clover_restaurant_connected,
            self.wix_order_paid_on_clover,
            self.clover_inventory_imported,
            self.clover_cashier_order_in_wix,
            self.clover_till_refund_cancels_wix_order,
        )

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _row(self, scenario: str, wix: str, pos: str, lines: str, result: str, ok: bool) -> None:
        self.demo.rows.append(Row(f"Clover: {scenario}", wix[:8] or "-", pos[:10] or "-", lines, result, ok))

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        return self.demo.call(method, f"{self.clover}/_sandbox{path}", body)

    def _admin(self, path: str) -> dict[str, Any] | None:
        response = self.demo.http.get(f"{self.gateway}/admin/tenants/{self.instance_id}{path}")
        return dict(response.json()) if response.status_code == 200 else None

    def _synced(self, pos_order_id: str, field: str) -> dict[str, Any] | None:
        """The bridge's view of a Clover order (admin API) once `field` is set."""
        found = self._admin(f"/pos-orders/{pos_order_id}")
        return found if found and found.get(field) else None

    def _screen(self) -> list[dict[str, Any]]:
        return list(self._control("GET", f"/merchants/{self.merchant_id}/pos-screen")["orders"])

    def _wix_state(self) -> dict[str, Any]:
        return dict(self.demo.wix("GET", f"/_sandbox/instances/{self.instance_id}/state"))

    # -- scenarios -------------------------------------------------------------------------------------------------

    def clover_restaurant_connected(self) -> None:
        self.demo.wix("POST", "/_sandbox/instances", {"instanceId": self.instance_id})
        made = self._control("POST", "/merchants", {})
        self.merchant_id = made["merchantId"]
        self.ids = self._control("POST", f"/merchants/{self.merchant_id}/catalog", CATALOG)["ids"]
        response = self.demo.http.put(
            f"{self.gateway}/admin/tenants/{self.instance_id}",
            json={
                "pos": {
                    "provider": "clover",
                    "merchantId": self.merchant_id,
                    "locationId": self.merchant_id,  # a Clover merchant is one location
                    "accessToken": made["access_token"],
                    "accessTokenExpiration": made["access_token_expiration"],
                    "refreshToken": made["refresh_token"],
                    "refreshTokenExpiration": made["refresh_token_expiration"],
                    "webhookSignatureKey": self.demo.devstack.clover_auth_code,
                }
            },
        )
        ok = response.status_code in (200, 201)
        self._row("restaurant connected", "", self.merchant_id, "-", f"HTTP {response.status_code}", ok)

    def wix_order_paid_on_clover(self) -> None:
        placed = self.demo.wix(
            "POST",
            f"/_sandbox/instances/{self.instance_id}/checkout",
            {
                "lines": [
                    {"kind": "restaurant", "name": "Burger", "price": "11.00", "quantity": 2,
                     "modifiers": [{"name": "Extra cheese", "price": "1.50"}]},
                    {"kind": "restaurant", "name": "Fries", "price": "4.50", "quantity": 1},
                ],
                "buyer": {"firstName": "Ada", "lastName": "Demo", "email": "ada@example.com"},
                "tax": {"rate": "0.08875"},
                "coupon": {"code": "WELCOME10", "percentage": "10"},
                "fees": [{"name": "Service fee", "amount": "1.50", "taxable": True}],
                "tip": "3.00",
                "fulfillment": {"type": "PICKUP"},
            },
        )  # fmt: skip
        order = placed["order"]
        wix_id, wix_total = order["id"], order["priceSummary"]["total"]["amount"]
        mapping = wait_for(lambda: self._admin(f"/orders/{wix_id}"))
        pos_id = str(mapping.get("posOrderId") or "")
        shown = [o for o in self._screen() if o["id"] == pos_id]
        ticket = shown[0] if shown else {}
        collected = int(ticket.get("collected") or 0)
        self.exported = {"wix_id": wix_id, "pos_id": pos_id}
        result = (
            f"on Clover's POS screen {ticket.get('paymentState')}, {ticket.get('orderType')}, "
            f"{len(ticket.get('lines') or [])} lines, total {int(ticket.get('total') or 0) / 100:.2f}; "
            f"collected {collected / 100:.2f} (tip incl.) = Wix {wix_total}"
        )
        ok = (
            mapping.get("status") == "exported"
            and ticket.get("paymentState") == "PAID"
            and f"{collected / 100:.2f}" == wix_total
        )
        # Clover has no quantity: two of an item are two lines (docs.clover.com/docs/working-with-orders)
        self._row("Wix order paid, to the cent", wix_id, pos_id, "3 (x2,x1)", result, ok)

    def clover_inventory_imported(self) -> None:
        admin = f"{self.gateway}/admin/tenants/{self.instance_id}/catalog-imports"
        started = self.demo.http.post(admin, json={})
        started.raise_for_status()
        job_id = started.json()["jobId"]
        job: dict[str, Any] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = dict(self.demo.call("GET", f"{admin}/{job_id}"))
            if job["status"] != "running":
                break
            time.sleep(0.2)
        state = self._wix_state()
        items = {i["name"]: i for i in state["items"]}
        burger = items.get("Burger") or {}
        variants = [v.get("name") for v in (burger.get("priceVariants") or {}).get("variants", [])]
        sold_out = not ((items.get("Cheesecake") or {}).get("orderSettings") or {}).get("inStock", True)
        sections = sorted(s["name"] for s in state["sections"])
        result = (
            f"{job['status']}: sections {', '.join(sections)}; Burger variants {len(variants)}; "
            f"Cheesecake {'sold out' if sold_out else 'in stock'}"
        )
        ok = job["status"] == "succeeded" and {"Burger", "Fries", "Cheesecake"} <= set(items) and sold_out
        self._row("inventory imported (draft publish)", "", "", f"{len(items)} dishes", result, ok)

    def clover_cashier_order_in_wix(self) -> None:
        clover = self.demo.devstack.clover
        assert clover is not None
        with clover.state.lock:  # the cashier's device has a token of its own
            token = clover.state.issue(self.merchant_id)["access_token"]
        lines = [
            {"item": {"id": self.ids["item:Burger - Double"]}, "name": "Burger - Double", "price": 1500},
            {"item": {"id": self.ids["item:Fries"]}, "name": "Fries", "price": 450},
        ]
        response = self.demo.http.post(
            f"{self.clover}/v3/merchants/{self.merchant_id}/atomic_order/orders",
            json={"orderCart": {"title": "Table 4", "lineItems": lines}},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        pos_id = response.json()["id"]
        synced = wait_for(lambda: self._synced(pos_id, "wixOrderId"))
        wix = [o for o in self._wix_state()["orders"] if (o.get("channelInfo") or {}).get("externalOrderId") == pos_id]
        count = len(wix[0]["lineItems"]) if wix else 0
        ok = len(wix) == 1 and count == 2
        result = f"Wix order #{wix[0]['number'] if wix else '?'}, {synced.get('wixStatus')}"
        self._row("cashier's order imported into Wix", str(synced["wixOrderId"]), pos_id, f"{count}/2", result, ok)

    def clover_till_refund_cancels_wix_order(self) -> None:
        wix_id, pos_id = self.exported["wix_id"], self.exported["pos_id"]
        state = self._control("GET", f"/merchants/{self.merchant_id}/state")
        (payment,) = [p for p in state["payments"] if p["order"]["id"] == pos_id]
        self._control("POST", f"/merchants/{self.merchant_id}/payments/{payment['id']}/refund", {})
        synced = wait_for(lambda: self._synced(pos_id, "wixCanceled"))
        wix = [o for o in self._wix_state()["orders"] if o["id"] == wix_id]
        status = wix[0].get("status") if wix else None
        ok = bool(synced.get("wixCanceled")) and status == "CANCELED"
        self._row("cashier refunds it at the till", wix_id, pos_id, "-", f"Wix order {status}", ok)
