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
from datetime import datetime
from typing import Any
from urllib.parse import quote

from posbridge.domain.money import Money
from posbridge.domain.order import Buyer, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.pos_export import OrderPayment, PosOrder, PosOrderPage, PosRefund
from posbridge.domain.pos_order import PosOrderSnapshot
from posbridge.errors import PermanentError
from posbridge.ports.pos import CATALOG_REFERENCE_UNKNOWN, REFUND_NOT_SUPPORTED
from posbridge.pos.clover import customers
from posbridge.pos.clover.cart import (
    ADJUSTMENT_NAME,
    MerchantSetup,
    build_cart,
    marker,
    reconcile,
    target_total,
    title,
)
from posbridge.pos.clover.client import CloverClient, OutcomeUnknown
from posbridge.pos.clover.order_snapshot import snapshot_from_clover, summary_from_clover

EXTERNAL_PAYMENT_TENDER = "com.clover.tender.external_payment"  # TenderConstants.EXTERNAL_PAYMENT
EXTERNAL_PAYMENT_ID_MAX = 32
PAYMENT_NOTE_MAX = 255
PAGE = 100  # Clover's default page size (max 1000, docs.clover.com/docs/paginating-elements)
UNKNOWN_CATALOG = frozenset({"item_does_not_exist", "invalid_modifier"})  # working-with-orders 400s
DEFAULT_ORDER_TYPES = {"PICKUP": "Pickup", "DELIVERY": "Delivery"}

__all__ = ["ADJUSTMENT_NAME", "CloverClient", "CloverPos", "snapshot_from_clover", "summary_from_clover"]


class CloverPos:
    """PosGateway for Clover. Raises TransientError (after the client's retries) or PermanentError."""

    def __init__(
        self,
        client: CloverClient,
        order_type_labels: Mapping[str, str] | None = None,
        currency: str | None = None,
    ) -> None:
        self._client = client
        self._merchant_currency = currency  # the tenant's currency: names the amounts of a deleted order's payment
        self._order_type_labels = dict(order_type_labels or DEFAULT_ORDER_TYPES)
        self._tax_rates: dict[int, str] | None = None
        self._order_types: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"CloverPos(merchant_id={self._client.merchant_id!r})"

    # ---- Flow 1 --------------------------------------------------------------------------------------------------

    def find_or_create_customer(self, buyer: Buyer, idempotency_key: str) -> str | None:
        """The merchant's customer with the buyer's e-mail, else phone, else a new one (customers.py). Clover's atomic
        cart documents no customer field, so the order itself names the buyer in its note (cart.py)."""
        return customers.find_or_create(self._client, buyer)

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
        """`GET /orders/{id}` with its lines, their modifications and discounts (Clover expands at most 3 fields per
        call, docs.clover.com/docs/expanding-fields: `lineItems.*` brings the lines), then its order discounts and
        payments (order_snapshot.py maps them). A deleted order is 404: PermanentError("pos_order_not_found")."""
        path = f"/orders/{quote(order_id, safe='')}"
        try:
            raw = self._client.get(path, {"expand": "lineItems.modifications,lineItems.discounts,discounts"})
        except PermanentError as exc:
            if exc.details.get("status") == 404:
                raise PermanentError("pos_order_not_found", f"Clover has no order {order_id} (deleted?)") from exc
            raise
        payments = self._client.get(f"{path}/payments").get("elements") or []
        return snapshot_from_clover(raw, payments, self._client.merchant_id)

    def cancel_order(self, order: PosOrderSnapshot, idempotency_key: str) -> None:
        """`DELETE /orders/{orderId}`: "Deletes a single order" (docs.clover.com/reference/orderdeleteorder, route
        `orderDeleteOrder`): the one documented way to take an order off the merchant's Orders app. Clover has no
        cancelled order state (Order.state is "open"/"locked", set by Clover). A delete repeated after a lost reply
        answers 404: the order is gone, which is what was asked. The payment record stays a payment of its own;
        `refund_payment` says what becomes of it."""
        try:
            self._client.request("DELETE", f"/orders/{quote(order.id, safe='')}", safe=False)
        except OutcomeUnknown:
            raise  # redelivered: the next attempt deletes again or meets the 404 below
        except PermanentError as exc:
            if exc.details.get("status") != 404:
                raise

    def refund_payment(self, payment_id: str, idempotency_key: str, reason: str) -> PosRefund:
        """What Clover holds of the payment's refunds. Clover's Platform API creates no refund: `/refunds` is read
        only (`payGetRefunds`, `payGetRefund`); the refund calls it documents are the Ecommerce API's (`POST
        /v1/refunds`, `/v1/orders/{orderId}/returns`, for Ecommerce card charges, docs.clover.com/dev/docs/
        ecommerce-refunding-payments) and the device's REST Pay API (`/v1/payments/{paymentId}/refunds`,
        docs.clover.com/docs/refunding-a-charge). An external-tender record (how Flow 1 records Wix's money) moved
        no money on Clover: Wix refunds the buyer. So a payment refunded at the till reads as refunded (`new` False);
        any other raises PermanentError(REFUND_NOT_SUPPORTED) for an operator (the order was deleted by
        `cancel_order`; the till can refund the record if the books need it)."""
        raw = self._client.get(f"/payments/{quote(payment_id, safe='')}", {"expand": "refunds"})
        try:
            currency = str(raw.get("currency") or self._currency(raw))
            taken = int(raw.get("amount") or 0) + int(raw.get("tipAmount") or 0)
            refunds = [r for r in (raw.get("refunds") or {}).get("elements") or [] if not r.get("voided")]
            refunded = sum(int(r.get("amount") or 0) + int(r.get("tipAmount") or 0) for r in refunds)
        except (TypeError, ValueError, AttributeError):
            raise PermanentError("clover_unexpected_response", "Clover's payment cannot be read.") from None
        if taken > 0 and refunded >= taken:
            last = max(refunds, key=lambda r: int(r.get("createdTime") or 0))
            return PosRefund(
                refund_id=str(last["id"]) if last.get("id") else None,
                refunded=Money.from_minor_units(refunded, currency),
                new=False,
            )
        raise PermanentError(
            REFUND_NOT_SUPPORTED,
            f"Clover's API cannot refund payment {payment_id} (an external-tender record; Wix refunds the buyer).",
            {"refunded_minor": refunded, "taken_minor": taken},
        )

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

    def _currency(self, payment: dict[str, Any]) -> str:
        """A payment names no currency: its order's (Order.currency)."""
        order_id = (payment.get("order") or {}).get("id")
        if not order_id:
            raise ValueError("the payment names no order")
        try:
            order = self._client.get(f"/orders/{quote(str(order_id), safe='')}")
        except PermanentError:
            order = {}  # deleted (cancel_order): the merchant's currency, as configured
        currency = order.get("currency") or self._merchant_currency
        if not currency:
            raise ValueError("no currency for the payment")
        return str(currency)

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
