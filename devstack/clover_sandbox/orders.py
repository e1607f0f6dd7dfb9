"""Clover's order endpoints: the atomic checkout (a totals preview) and create, reads, and payment records.

Paths (`/v3/merchants/{mId}` + ...) from Clover's Platform API as its generated client names them
(`orderCheckoutAtomicOrder` POST /atomic_order/checkouts, `orderCreateAtomicOrder` POST /atomic_order/orders,
`orderGetOrders` GET /orders, `orderGetOrder` GET /orders/{orderId}); "Create a payment record on an order" POST
/orders/{orderId}/payments: "Payment must include a positive amount and a valid tender ID ... references external
tenders and logs them for bookkeeping ... not for Clover credits/debit tenders" (docs.clover.com/reference/
ordercreatepaymentfororder). The checkout answer is `OrderCheckoutResponse {orderCart, total, subtotal,
totalTaxAmount, taxSummaries[OrderTaxRate{id,name,amount}], isVat}`; the create answer is the Order.

Atomic 400s (docs.clover.com/docs/working-with-orders, "Handle 400 Bad Request errors"): `cart_is_empty_or_missing`,
`item_does_not_exist` / `invalid_modifier` / `service_charge_does_not_exist` with the bad id in `details`,
`invalid_discount_attribute`, `bad_request`. There is no quantity field: two of an item are two line items; an
order holds at most 3,000 (docs.clover.com/reference/ordercreatelineitem). Limits: order `title` <= 127, `note` <=
2047, line `note` <= 255 (SDK v3 javadoc as summarised in clover-api.md); `externalPaymentId` <= 32.

Sandbox choices (UNCONFIRMED by Clover): a line without `taxRates` takes its item's rates, or the merchant's default
rates when it has no item; `taxRates: []` means untaxed; a modification without a modifier id is refused (Clover
ignores it, which would hide a bug); a payment record moves `paymentState` to PAID once the amounts recorded reach the
total (PARTIALLY_PAID before) and the order `state` to `locked`.
"""

from __future__ import annotations

import re
from typing import Any

from devstack.clover_sandbox import arithmetic as ar
from devstack.clover_sandbox import schema
from devstack.clover_sandbox.errors import CloverError, bad_request, not_found
from devstack.clover_sandbox.ids import new_id
from devstack.clover_sandbox.state import CARD_TENDERS, Merchant, SandboxState, now_ms

MAX_LINE_ITEMS = 3000
TITLE_MAX, NOTE_MAX, LINE_NOTE_MAX, NAME_MAX, EXTERNAL_PAYMENT_ID_MAX, PAYMENT_NOTE_MAX = 127, 2047, 255, 127, 32, 255
# orderGetOrders "Filter fields" and "Expandable fields" (Clover's generated client); the sandbox filters on a subset
FILTER_FIELDS = (
    "employee.id, note, modifiedTime, orderType, touched, cardTransaction.last4, manualTransaction, employee.name, "
    "title, device.id, externalReferenceId, clientCreatedTime, total, payType, testMode, createdTime, id, state, "
    "deletedTime"
)
MODELLED_FILTERS = {"note", "modifiedTime", "title", "total", "createdTime", "id", "state", "clientCreatedTime"}
LIST_EXPANDS = {"payments", "lineItems", "discounts", "orderType", "lineItems.discounts", "lineItems.modifications"}
GET_EXPANDS = {"lineItems", "discounts", "payments", "refunds", "lineItems.modifications", "lineItems.discounts"}
MAX_EXPANDS = 3  # docs.clover.com/docs/expanding-fields
LIST_LIMIT_MAX = 1000  # docs.clover.com/docs/paginating-elements
_FILTER = re.compile(r"^([A-Za-z.]+)(<=|>=|!=|=|<|>)(.*)$")


# ---- the cart --------------------------------------------------------------------------------------------------


class Priced:
    """A validated cart and Clover's arithmetic over it."""

    def __init__(self, merchant: Merchant, body: dict[str, Any]) -> None:
        schema.check(body, schema.ATOMIC_REQUEST)
        cart = body.get("orderCart")
        if not isinstance(cart, dict) or not cart.get("lineItems"):
            raise bad_request("cart_is_empty_or_missing")
        self.cart = cart
        lines = cart["lineItems"]
        if len(lines) > MAX_LINE_ITEMS:
            raise bad_request("bad_request", f"An order holds at most {MAX_LINE_ITEMS} line items")
        _text(cart, "title", TITLE_MAX)
        _text(cart, "note", NOTE_MAX)
        if cart.get("currency") not in (None, merchant.currency):
            raise bad_request("bad_request", "currency does not match the merchant's")
        order_type = cart.get("orderType")
        if order_type is not None and order_type.get("id") not in merchant.order_types:
            raise bad_request("bad_request", f"Order type does not exist: {order_type.get('id')}")
        self.service_charge: dict[str, Any] | None = None
        if cart.get("serviceCharge") is not None:
            charge_id = cart["serviceCharge"].get("id")
            if merchant.service_charge is None or merchant.service_charge["id"] != charge_id:
                raise bad_request("service_charge_does_not_exist", str(charge_id))
            self.service_charge = merchant.service_charge
        self.lines = [_line(merchant, line) for line in lines]
        self.order_discounts = [_discount(d) for d in cart.get("discounts") or []]
        self.totals = ar.compute(
            [p.arithmetic for p in self.lines],
            [d for d, _ in self.order_discounts],
            self.service_charge["percentageDecimal"] if self.service_charge else None,
        )

    def tax_summaries(self) -> list[dict[str, Any]]:
        by_rate: dict[str, int] = {}
        for priced, t in zip(self.lines, self.totals.lines, strict=True):
            rates = priced.tax_rates
            exact = [t.net * r["rate"] for r in rates]
            shares = ar.apportion(t.tax, exact) if rates else []
            for rate, share in zip(rates, shares, strict=True):
                by_rate[rate["id"]] = by_rate.get(rate["id"], 0) + share
        return [{"id": rid, "name": _rate_name(rid, self.lines), "amount": amount} for rid, amount in by_rate.items()]


class _PricedLine:
    def __init__(self, wire: dict[str, Any], arithmetic: ar.Line, tax_rates: list[dict[str, Any]]) -> None:
        self.wire = wire
        self.arithmetic = arithmetic
        self.tax_rates = tax_rates


def _rate_name(rate_id: str, lines: list[_PricedLine]) -> str:
    return next(str(r["name"]) for p in lines for r in p.tax_rates if r["id"] == rate_id)


def _text(obj: dict[str, Any], key: str, limit: int) -> None:
    value = obj.get(key)
    if isinstance(value, str) and len(value) > limit:
        raise bad_request("bad_request", f"{key} is longer than {limit} characters")


def _discount(raw: dict[str, Any]) -> tuple[ar.Discount, dict[str, Any]]:
    amount, percentage = raw.get("amount"), raw.get("percentage")
    if not raw.get("name") or (amount is None) == (percentage is None):
        raise bad_request("invalid_discount_attribute")  # a name and exactly one of amount / percentage
    if amount is not None and amount > 0:  # "amount (negative cents)": the tutorial's `-200`
        raise bad_request("invalid_discount_attribute")
    if percentage is not None and not 0 <= percentage <= 100:
        raise bad_request("invalid_discount_attribute")
    return ar.Discount(amount=amount, percentage=percentage), {"id": new_id(), **raw}


def _line(merchant: Merchant, raw: dict[str, Any]) -> _PricedLine:
    item = None
    if raw.get("item") is not None:
        item = merchant.items.get(str(raw["item"].get("id")))
        if item is None:
            raise bad_request("item_does_not_exist", str(raw["item"].get("id")))
    elif raw.get("name") is None or raw.get("price") is None:
        raise bad_request("bad_request", "A line item needs a price or an inventory item id")
    price = raw.get("price", item["price"] if item else 0)
    if price < 0:
        raise bad_request("bad_request", "price must not be negative")
    name = raw.get("name") or (item["name"] if item else "")
    if len(name) > NAME_MAX:
        raise bad_request("bad_request", f"name is longer than {NAME_MAX} characters")
    _text(raw, "note", LINE_NOTE_MAX)
    if raw.get("unitQty") is not None:  # PER_UNIT items only (x1000); the sandbox's items are FIXED-priced
        raise bad_request("bad_request", "unitQty applies to PER_UNIT items only")
    modifications = []
    for mod in raw.get("modifications") or []:
        modifier_id = (mod.get("modifier") or {}).get("id")
        modifier = merchant.modifiers.get(str(modifier_id))
        if modifier is None:
            raise bad_request("invalid_modifier", str(modifier_id))
        modifications.append(
            {
                "id": new_id(),
                "name": mod.get("name", modifier["name"]),
                "amount": mod.get("amount", modifier["price"]),
                "modifier": {"id": modifier["id"]},
            }
        )
    discounts = [_discount(d) for d in raw.get("discounts") or []]
    if raw.get("taxRates") is not None:
        rates = []
        for ref in raw["taxRates"]:
            rate = merchant.tax_rates.get(str(ref.get("id")))
            if rate is None:
                raise bad_request("bad_request", f"Tax rate does not exist: {ref.get('id')}")
            rates.append(rate)
    elif item is not None:
        rates = [merchant.tax_rates[r] for r in item.get("taxRateIds", [])] or (
            [r for r in merchant.tax_rates.values() if r.get("isDefault")] if item.get("defaultTaxRates", True) else []
        )
    else:
        rates = [r for r in merchant.tax_rates.values() if r.get("isDefault")]
    wire: dict[str, Any] = {"id": new_id(), "name": name, "price": price, "printed": bool(raw.get("printed", False))}
    if item is not None:
        wire["item"] = {"id": item["id"]}
    if raw.get("note"):
        wire["note"] = raw["note"]
    if modifications:
        wire["modifications"] = {"elements": modifications}
    if discounts:
        wire["discounts"] = {"elements": [d for _, d in discounts]}
    wire["taxRates"] = {"elements": [{"id": r["id"], "name": r["name"], "rate": r["rate"]} for r in rates]}
    wire["isRevenue"] = True
    arithmetic = ar.Line(
        price=price,
        modifiers=tuple(m["amount"] for m in modifications),
        discounts=tuple(d for d, _ in discounts),
        tax_rates=tuple(r["rate"] for r in rates),
    )
    return _PricedLine(wire, arithmetic, rates)


# ---- endpoints -------------------------------------------------------------------------------------------------


def checkout(merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    """Prices the cart; creates nothing and shows nothing on devices."""
    priced = Priced(merchant, body)
    return {
        "orderCart": priced.cart,
        "total": priced.totals.total,
        "subtotal": priced.totals.subtotal,
        "totalTaxAmount": priced.totals.tax,
        "taxSummaries": priced.tax_summaries(),
        "isVat": False,
    }


def create(state: SandboxState, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    priced = Priced(merchant, body)
    now = now_ms(state.clock)
    order_id = new_id()
    cart = priced.cart
    order: dict[str, Any] = {
        "id": order_id,
        "currency": merchant.currency,
        "total": priced.totals.total,
        "paymentState": "OPEN",
        "state": "open",
        "taxRemoved": False,
        "isVat": False,
        "manualTransaction": False,
        "groupLineItems": bool(cart.get("groupLineItems", False)),
        "testMode": False,
        "createdTime": now,
        "clientCreatedTime": cart.get("clientCreatedTime", now),
        "modifiedTime": now,
    }
    for key in ("title", "note"):
        if cart.get(key):
            order[key] = cart[key]
    if cart.get("orderType"):
        order["orderType"] = {"id": cart["orderType"]["id"]}
    if priced.service_charge is not None:
        order["serviceCharge"] = dict(priced.service_charge)
    lines = []
    for p in priced.lines:
        p.wire["orderRef"] = {"id": order_id}
        p.wire["createdTime"] = now
        lines.append(p.wire)
    stored = {**order, "lineItems": {"elements": lines}}
    if priced.order_discounts:
        stored["discounts"] = {"elements": [d for _, d in priced.order_discounts]}
    merchant.orders[order_id] = stored
    state.emit(merchant.merchant_id, "O", order_id, "CREATE")
    return present(merchant, stored, {"lineItems", "lineItems.modifications", "lineItems.discounts", "discounts"})


def _expands(args: dict[str, str], allowed: set[str]) -> set[str]:
    raw = args.get("expand")
    if not raw:
        return set()
    fields = {f.strip() for f in raw.split(",") if f.strip()}
    if len(fields) > MAX_EXPANDS:
        raise bad_request("bad_request", f"At most {MAX_EXPANDS} fields can be expanded")
    unknown = fields - allowed
    if unknown:
        raise bad_request("bad_request", f"Cannot expand {sorted(unknown)[0]}")
    return fields


def present(merchant: Merchant, stored: dict[str, Any], expand: set[str]) -> dict[str, Any]:
    """The order as Clover answers it: nested collections are references unless expanded."""
    href = f"/v3/merchants/{merchant.merchant_id}/orders/{stored['id']}"
    out: dict[str, Any] = {"href": href}
    out.update({k: v for k, v in stored.items() if k not in ("lineItems", "discounts", "payments")})
    if "lineItems" in expand or any(e.startswith("lineItems.") for e in expand):
        lines = []
        for line in stored["lineItems"]["elements"]:
            shown = {k: v for k, v in line.items() if k not in ("modifications", "discounts")}
            for nested in ("modifications", "discounts"):
                if f"lineItems.{nested}" in expand and nested in line:
                    shown[nested] = line[nested]
            lines.append(shown)
        out["lineItems"] = {"elements": lines}
    if "discounts" in expand and "discounts" in stored:
        out["discounts"] = stored["discounts"]
    if "payments" in expand:
        out["payments"] = {"elements": [p for p in merchant.payments.values() if p["order"]["id"] == stored["id"]]}
    if "refunds" in expand:
        out["refunds"] = {"elements": [r for r in merchant.refunds.values() if r["orderRef"]["id"] == stored["id"]]}
    return out


def get(merchant: Merchant, order_id: str, args: dict[str, str]) -> dict[str, Any]:
    stored = merchant.orders.get(order_id)
    if stored is None:
        raise not_found()
    return present(merchant, stored, _expands(args, GET_EXPANDS))


def _matches(order: dict[str, Any], clause: str) -> bool:
    match = _FILTER.match(clause)
    if match is None:
        raise bad_request("bad_request", f"Invalid filter: {clause}")
    name, op, value = match.groups()
    if name not in FILTER_FIELDS.split(", "):
        raise bad_request("bad_request", f"Invalid filter field: {name}")
    if name not in MODELLED_FILTERS:
        raise bad_request("bad_request", f"The sandbox does not model the filter field {name}")
    actual = order.get(name)
    if name in ("modifiedTime", "createdTime", "total", "clientCreatedTime"):
        try:
            wanted: Any = int(value)
        except ValueError:
            raise bad_request("bad_request", f"Invalid filter value: {clause}") from None
    else:
        wanted = value
    if actual is None:
        return op == "!="
    result: bool = {
        "=": actual == wanted,
        "!=": actual != wanted,
        "<": actual < wanted,
        ">": actual > wanted,
        "<=": actual <= wanted,
        ">=": actual >= wanted,
    }[op]
    return result


def list_orders(merchant: Merchant, filters: list[str], args: dict[str, str]) -> dict[str, Any]:
    expand = _expands(args, LIST_EXPANDS)
    try:
        limit = int(args.get("limit", 100))
        offset = int(args.get("offset", 0))
    except ValueError:
        raise bad_request("bad_request", "limit and offset must be integers") from None
    if not 0 < limit <= LIST_LIMIT_MAX or offset < 0:
        raise bad_request("bad_request", f"limit must be 1-{LIST_LIMIT_MAX} and offset >= 0")
    found = [o for o in merchant.orders.values() if all(_matches(o, f) for f in filters)]
    order_by = args.get("orderBy", "createdTime DESC")
    field_name, _, direction = order_by.partition(" ")
    if field_name not in ("createdTime", "modifiedTime") or direction.upper() not in ("ASC", "DESC", ""):
        raise bad_request("bad_request", f"Invalid orderBy: {order_by}")
    found.sort(key=lambda o: (o[field_name], o["id"]), reverse=direction.upper() != "ASC")
    page = found[offset : offset + limit]
    return {
        "elements": [present(merchant, o, expand) for o in page],
        "href": f"/v3/merchants/{merchant.merchant_id}/orders?limit={limit}",
    }


def create_payment(state: SandboxState, merchant: Merchant, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    schema.check(body, schema.PAYMENT)
    order = merchant.orders.get(order_id)
    if order is None:
        raise not_found()
    amount = body.get("amount")
    if not isinstance(amount, int) or amount <= 0:
        raise bad_request("bad_request", "Payment must include a positive amount")
    tender = merchant.tenders.get(str((body.get("tender") or {}).get("id")))
    if tender is None or tender["labelKey"] in CARD_TENDERS:
        raise bad_request("bad_request", "Payment must include a valid tender ID (not a card tender)")
    if len(body.get("externalPaymentId") or "") > EXTERNAL_PAYMENT_ID_MAX:
        raise bad_request("bad_request", f"externalPaymentId is longer than {EXTERNAL_PAYMENT_ID_MAX} characters")
    _text(body, "note", PAYMENT_NOTE_MAX)
    for key in ("tipAmount", "taxAmount"):
        if body.get(key) is not None and body[key] < 0:
            raise bad_request("bad_request", f"{key} must not be negative")
    now = now_ms(state.clock)
    payment_id = new_id()
    payment: dict[str, Any] = {
        "id": payment_id,
        "order": {"id": order_id},
        "tender": {"id": tender["id"], "labelKey": tender["labelKey"], "label": tender["label"]},
        "amount": amount,
        "result": "SUCCESS",
        "createdTime": now,
        "modifiedTime": now,
    }
    for key in ("tipAmount", "taxAmount", "externalPaymentId", "note", "offline"):
        if body.get(key) is not None:
            payment[key] = body[key]
    merchant.payments[payment_id] = payment
    paid = sum(p["amount"] for p in merchant.payments.values() if p["order"]["id"] == order_id)
    order["paymentState"] = "PAID" if paid >= order["total"] else "PARTIALLY_PAID"
    order["state"] = "locked"
    order["modifiedTime"] = now
    state.emit(merchant.merchant_id, "P", payment_id, "CREATE")
    state.emit(merchant.merchant_id, "O", order_id, "UPDATE")
    return payment


def order_payments(merchant: Merchant, order_id: str) -> dict[str, Any]:
    if order_id not in merchant.orders:
        raise not_found()
    return {"elements": [p for p in merchant.payments.values() if p["order"]["id"] == order_id]}


def create_order_type(merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    schema.check(body, schema.ORDER_TYPE)
    label = body.get("label")
    if not isinstance(label, str) or not label or len(label) > NAME_MAX:
        raise bad_request("bad_request", "label is required (at most 127 characters)")
    type_id = new_id()
    order_type = {"id": type_id, "labelKey": body.get("labelKey", label), "taxable": True, "isDefault": False}
    order_type.update({k: v for k, v in body.items() if v is not None})
    merchant.order_types[type_id] = order_type
    return order_type


def elements(values: list[dict[str, Any]]) -> dict[str, Any]:
    return {"elements": values}


def require(condition: bool, error: CloverError) -> None:
    if not condition:
        raise error


# ---- deleting orders, reading payments and refunds ---------------------------------------------------------------


def delete_order(state: SandboxState, merchant: Merchant, order_id: str) -> dict[str, Any]:
    """`DELETE /orders/{orderId}`: "Deletes a single order" (docs.clover.com/reference/orderdeleteorder; route
    `orderDeleteOrder`). Sandbox choices (UNCONFIRMED by Clover): the order is gone from reads and lists afterwards
    (404, the stricter reading: a caller must not rely on reading it back), its payment records stay (payments are
    their own objects, `GET /payments/{payId}`), a second delete is 404, and the answer is an empty object. Clover
    sends an `O:` DELETE webhook."""
    stored = merchant.orders.pop(order_id, None)
    if stored is None:
        raise not_found()
    stored["deletedTimestamp"] = now_ms(state.clock)
    merchant.deleted_orders[order_id] = stored
    state.emit(merchant.merchant_id, "O", order_id, "DELETE")
    return {}


def get_payment(merchant: Merchant, payment_id: str, args: dict[str, str]) -> dict[str, Any]:
    """`GET /payments/{payId}` (route `payGetPayment`); `refunds` expands the Refunds of it (payments/Payment.js
    `refunds`)."""
    payment = merchant.payments.get(payment_id)
    if payment is None:
        raise not_found()
    expand = _expands(args, {"refunds", "tender", "order"})
    row = dict(payment)
    if "refunds" in expand:
        row["refunds"] = {"elements": [r for r in merchant.refunds.values() if r["payment"]["id"] == payment_id]}
    return row


def refund_at_the_till(state: SandboxState, merchant: Merchant, payment_id: str) -> dict[str, Any]:
    """Control: a cashier refunds the whole payment on the device (Clover's REST API has no call that creates a
    refund: `/refunds` is GET only, routes `payGetRefunds`, `payGetRefund`). Fields from payments/Refund.js."""
    payment = merchant.payments.get(payment_id)
    if payment is None:
        raise KeyError(f"payment {payment_id!r} not found")
    if any(r["payment"]["id"] == payment_id for r in merchant.refunds.values()):
        raise ValueError("the payment is refunded already")
    now = now_ms(state.clock)
    refund_id = new_id()
    refund = {
        "id": refund_id,
        "orderRef": {"id": payment["order"]["id"]},
        "payment": {"id": payment_id},
        "amount": payment["amount"],
        "tipAmount": payment.get("tipAmount", 0),
        "taxAmount": payment.get("taxAmount", 0),
        "createdTime": now,
        "voided": False,
    }
    merchant.refunds[refund_id] = refund
    order = merchant.orders.get(payment["order"]["id"])
    if order is not None:
        order["paymentState"] = "REFUNDED"
        order["modifiedTime"] = now
        state.emit(merchant.merchant_id, "O", order["id"], "UPDATE")
    return refund
