"""The Clover adapter behind the PosGateway port: one merchant, reached through one CloverClient.

Flow 1 on Clover (cart.py says how the order maps; client.py how requests are made):
1. look for an order this export already made (title + the export's marker on the note's last line), because Clover
   documents no idempotency key for `POST /atomic_order/orders` (nor for payments): a lost reply must never become
   a second order;
2. preview the cart with `POST /atomic_order/checkouts` ("computes totals, taxes, discounts and service charges ...
   creates nothing", docs.clover.com/dev/docs/create-an-atomic-order) and close any gap to Wix's total with the
   named adjustment, until Clover's own total equals Wix's (a few previews at most);
3. create it with `POST /atomic_order/orders` (the same body); a create with no verdict (5xx, timeout) looks again
   before anything else;
4. record the money Wix took as a payment with the merchant's external tender (payments: `POST
   /orders/{orderId}/payments`, "references external tenders and logs them for bookkeeping", docs.clover.com/
   reference/ordercreatepaymentfororder; tender `com.clover.tender.external_payment`, TenderConstants.java), keyed by
   `externalPaymentId` (<= 32) so a retry finds the payment instead of paying twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from posbridge.domain.money import Money
from posbridge.domain.order import Buyer, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.pos_order import PosLine, PosModifier, PosOrderSnapshot, PosOrderSummary, PosPosition
from posbridge.errors import PermanentError
from posbridge.pos.clover.cart import (
    ADJUSTMENT_NAME,
    MARKER_PREFIX,
    MerchantSetup,
    build_cart,
    marker,
    reconcile,
    target_total,
    title,
)
from posbridge.pos.clover.client import CloverClient, OutcomeUnknown
from posbridge.pos.port import CATALOG_REFERENCE_UNKNOWN, OrderPayment, PosOrder, PosOrderPage

EXTERNAL_PAYMENT_TENDER = "com.clover.tender.external_payment"  # TenderConstants.EXTERNAL_PAYMENT
EXTERNAL_PAYMENT_ID_MAX = 32
PAYMENT_NOTE_MAX = 255
PAGE = 100  # Clover's default page size (max 1000, docs.clover.com/docs/paginating-elements)
UNKNOWN_CATALOG = frozenset({"item_does_not_exist", "invalid_modifier"})  # working-with-orders 400s
DEFAULT_ORDER_TYPES = {"PICKUP": "Pickup", "DELIVERY": "Delivery"}

__all__ = ["ADJUSTMENT_NAME", "CloverClient", "CloverPos", "snapshot_from_clover", "summary_from_clover"]


class CloverPos:
    """PosGateway for Clover. Raises TransientError (after the client's retries) or PermanentError."""

    def __init__(self, client: CloverClient, order_type_labels: Mapping[str, str] | None = None) -> None:
        self._client = client
        self._order_type_labels = dict(order_type_labels or DEFAULT_ORDER_TYPES)
        self._tax_rates: dict[int, str] | None = None
        self._order_types: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"CloverPos(merchant_id={self._client.merchant_id!r})"

    # ---- Flow 1 --------------------------------------------------------------------------------------------------

    def find_or_create_customer(self, buyer: Buyer, idempotency_key: str) -> str | None:
        """Not exported to Clover's customers yet: the buyer's name and phone go in the order's note."""
        return None

    def create_order(
        self,
        order: Order,
        customer_id: str | None,
        idempotency_key: str,
        catalog: Mapping[str, CatalogLine] | None = None,
    ) -> PosOrder:
        setup = MerchantSetup(self._merchant_tax_rates(), self._order_type(order))
        cart, owners = build_cart(order, setup, idempotency_key, catalog)
        mark = marker(idempotency_key)
        existing = self._find_made(title(order), mark)
        if existing is not None:
            return self._pos_order(existing, owners, order)
        adjustment = reconcile(cart, lambda c: self._preview(c, catalog), target_total(order))
        try:
            created = self._post_cart("/atomic_order/orders", cart, catalog, safe=False)
        except OutcomeUnknown:
            found = self._find_made(title(order), mark)
            if found is None:
                raise  # redelivered later: the next attempt looks first
            created = found
        return self._pos_order(created, owners, order, adjustment)

    def pay_order(self, order: PosOrder, payment: OrderPayment, payment_key: str, pay_key: str) -> str | None:
        """Money Wix took, recorded with the merchant's external tender. An order the staff collect at handover is
        left unpaid: Clover shows unpaid orders (the title and note say UNPAID and how much), and its Register
        takes the money then."""
        if payment.to_collect is not None:
            return None
        if order.total is None:
            raise PermanentError("clover_unexpected_response", f"Clover's order {order.id} has no total.")
        amount = order.total.minor_units()
        if amount <= 0:
            return None  # "Payment must include a positive amount": nothing to record for a $0 order
        external_id = _external_payment_id(payment_key)
        path = f"/orders/{quote(order.id, safe='')}/payments"
        found = self._find_payment(path, external_id)
        if found is not None:
            return found
        body: dict[str, Any] = {
            "amount": amount,
            "tender": {"id": self._external_tender()},
            "externalPaymentId": external_id,
            "note": f"Paid on Wix (order {payment.wix_order_id})"[:PAYMENT_NOTE_MAX],
        }
        if payment.tip is not None and payment.tip.amount > 0:
            body["tipAmount"] = payment.tip.minor_units()
        try:
            made = self._client.post(path, body, safe=False)
        except OutcomeUnknown:
            found = self._find_payment(path, external_id)
            if found is None:
                raise
            return found
        payment_id = made.get("id")
        if not isinstance(payment_id, str) or not payment_id:
            raise PermanentError("clover_unexpected_response", "Clover's payment answer has no id.")
        return payment_id

    # ---- Flows 2 and 3 (reads) -----------------------------------------------------------------------------------

    def order_snapshot(self, order_id: str) -> PosOrderSnapshot:
        raw = self._client.get(
            f"/orders/{quote(order_id, safe='')}", {"expand": "lineItems,lineItems.modifications,lineItems.discounts"}
        )
        try:
            return snapshot_from_clover(raw, self._client.merchant_id)
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentError("clover_unexpected_response", f"Clover's order: {type(exc).__name__}") from None

    def cancel_order(self, order: PosOrderSnapshot, idempotency_key: str) -> None:
        """Clover's Platform API documents no cancelled state for an order (its `state` is "open"/"locked", set by
        Clover): not done; the staff void it on the device."""
        raise PermanentError("clover_cancel_not_supported", "Clover documents no way to cancel an order by API.")

    def orders_updated_since(self, since: str, cursor: str | None = None) -> PosOrderPage:
        """`GET /orders?filter=modifiedTime>=<ms>&orderBy=modifiedTime ASC` with offset paging (Clover lists are
        `elements` + `limit`/`offset`; `modifiedTime` is Unix ms: docs.clover.com/docs/applying-filters)."""
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
        offset = int(cursor) if cursor else 0
        params = [
            ("filter", f"modifiedTime>={int(moment.timestamp() * 1000)}"),
            ("orderBy", "modifiedTime ASC"),
            ("limit", str(PAGE)),
            ("offset", str(offset)),
        ]
        elements = self._client.get("/orders", params).get("elements") or []
        try:
            summaries = tuple(summary_from_clover(o, self._client.merchant_id) for o in elements)
        except (KeyError, TypeError, ValueError):
            raise PermanentError("clover_unexpected_response", "Clover's order list") from None
        following = str(offset + len(elements)) if len(elements) == PAGE else None
        return PosOrderPage(orders=summaries, cursor=following)

    # ---- helpers -------------------------------------------------------------------------------------------------

    def _preview(self, cart: dict[str, Any], catalog: Mapping[str, CatalogLine] | None) -> int:
        total = self._post_cart("/atomic_order/checkouts", cart, catalog, safe=True).get("total")
        if not isinstance(total, int) or isinstance(total, bool):
            raise PermanentError("clover_unexpected_response", "Clover's checkout answer has no total.")
        return total

    def _post_cart(
        self, path: str, cart: dict[str, Any], catalog: Mapping[str, CatalogLine] | None, *, safe: bool
    ) -> dict[str, Any]:
        try:
            return self._client.post(path, {"orderCart": cart}, safe=safe)
        except PermanentError as refused:
            if catalog and refused.details.get("message") in UNKNOWN_CATALOG:
                raise PermanentError(CATALOG_REFERENCE_UNKNOWN, str(refused), refused.details) from refused
            raise

    def _find_made(self, order_title: str, mark: str) -> dict[str, Any] | None:
        """The order a previous attempt of this export created, if any: same title, note ending with its marker."""
        answer = self._client.get("/orders", [("filter", f"title={order_title}"), ("expand", "lineItems")])
        for candidate in answer.get("elements") or []:
            note = candidate.get("note")
            if isinstance(note, str) and note.endswith(mark):
                return dict(candidate)
        return None

    def _find_payment(self, path: str, external_id: str) -> str | None:
        for payment in self._client.get(path).get("elements") or []:
            if payment.get("externalPaymentId") == external_id and isinstance(payment.get("id"), str):
                return str(payment["id"])
        return None

    def _merchant_tax_rates(self) -> dict[int, str]:
        """The merchant's percentage tax rates by rate (`GET /tax_rates`; flat `taxAmount` rates are left out)."""
        if self._tax_rates is None:
            rates: dict[int, str] = {}
            for rate in self._client.get("/tax_rates").get("elements") or []:
                if isinstance(rate.get("rate"), int) and rate["rate"] > 0 and not rate.get("taxAmount"):
                    rates.setdefault(rate["rate"], str(rate["id"]))
            self._tax_rates = rates
        return self._tax_rates

    def _order_type(self, order: Order) -> str | None:
        """The merchant's order type for pickup or delivery, found by label or made (docs: "Create an order type
        before you create the order", `POST /order_types`)."""
        kind = order.fulfillment.type if order.fulfillment else "PICKUP"
        label = self._order_type_labels.get(kind)
        if not label:
            return None
        if label not in self._order_types:
            for existing in self._client.get("/order_types").get("elements") or []:
                if existing.get("label") == label:
                    self._order_types[label] = str(existing["id"])
                    break
            else:
                made = self._client.post("/order_types", {"label": label, "taxable": True}, safe=False)
                self._order_types[label] = str(made["id"])
        return self._order_types[label]

    def _external_tender(self) -> str:
        for tender in self._client.get("/tenders").get("elements") or []:
            if tender.get("labelKey") == EXTERNAL_PAYMENT_TENDER and tender.get("enabled", True):
                return str(tender["id"])
        raise PermanentError(
            "clover_external_tender_missing",
            "The merchant has no enabled External Payment tender to record Wix's money.",
        )

    def _pos_order(
        self, created: dict[str, Any], owners: list[str | None], order: Order, adjustment: int = 0
    ) -> PosOrder:
        order_id = created.get("id")
        if not isinstance(order_id, str) or not order_id:
            raise PermanentError("clover_unexpected_response", "Clover's order has no id.")
        lines = (created.get("lineItems") or {}).get("elements") or []
        line_ids: dict[str, str] = {}
        for owner, line in zip(owners, lines, strict=False):
            if owner is not None and owner not in line_ids and isinstance(line.get("id"), str):
                line_ids[owner] = line["id"]  # a Wix line of quantity n is n Clover lines: the first stands for it
        total = created.get("total")
        return PosOrder(
            id=order_id,
            version=None,  # Clover orders have no version (SDK Order.java)
            line_ids=line_ids,
            adjustment_minor=adjustment,
            adjustment_name=ADJUSTMENT_NAME if adjustment else None,
            total=Money.from_minor_units(total, order.currency) if isinstance(total, int) else None,
        )


def _external_payment_id(payment_key: str) -> str:
    return "pb" + hashlib.sha256(payment_key.encode()).hexdigest()[: EXTERNAL_PAYMENT_ID_MAX - 2]


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def summary_from_clover(raw: dict[str, Any], merchant_id: str) -> PosOrderSummary:
    return PosOrderSummary(
        order_id=raw["id"],
        location_id=merchant_id,
        state=raw.get("state"),
        position=PosPosition(updated_at=_moment(int(raw["modifiedTime"]))),
    )


def snapshot_from_clover(raw: dict[str, Any], merchant_id: str) -> PosOrderSnapshot:
    """The order read back (Flows 2 and 3). Clover's `state` ("open", "locked") says nothing about the kitchen, so the
    order is OPEN; the money is read from its lines: discounts are amount discounts as recorded, tax is what the
    total holds beyond the discounted lines."""
    currency = raw.get("currency") or "USD"
    lines: list[PosLine] = []
    gross = discounts = 0
    for line in (raw.get("lineItems") or {}).get("elements") or []:
        mods = (line.get("modifications") or {}).get("elements") or []
        line_discounts = (line.get("discounts") or {}).get("elements") or []
        gross += int(line["price"]) + sum(int(m.get("amount", 0)) for m in mods)
        discounts += -sum(int(d.get("amount") or 0) for d in line_discounts)
        lines.append(
            PosLine(
                uid=line["id"],
                name=line.get("name") or "",
                quantity=Decimal(1),
                variation_id=(line.get("item") or {}).get("id"),
                unit_price=Money.from_minor_units(int(line["price"]), currency),
                modifiers=tuple(
                    PosModifier(
                        name=m.get("name") or "", unit_price=Money.from_minor_units(int(m.get("amount", 0)), currency)
                    )
                    for m in mods
                ),
                note=line.get("note"),
            )
        )
    total = int(raw.get("total") or 0)
    note = raw.get("note") or ""
    return PosOrderSnapshot(
        id=raw["id"],
        location_id=merchant_id,
        state="OPEN",
        position=PosPosition(updated_at=_moment(int(raw["modifiedTime"]))),
        created_at=_moment(int(raw["createdTime"])),
        currency=currency,
        lines=tuple(lines),
        ticket_name=raw.get("title"),
        made_by_bridge=note.rsplit("\n", 1)[-1].startswith(MARKER_PREFIX),
        discount=Money.from_minor_units(discounts, currency),
        tax=Money.from_minor_units(max(total - (gross - discounts), 0), currency),
        fees=Money.from_minor_units(0, currency),
        total=Money.from_minor_units(total, currency),
    )
