"""eCommerce orders and fulfillments (wix-api.md sections 1 and 2), plus the customer checkout that places orders."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from devstack.wix_sandbox import pricing
from devstack.wix_sandbox.query import EQUALITY, matches, mentions, page, parse_query, sort_items
from devstack.wix_sandbox.state import Clock, Instance, new_id, parse_iso
from devstack.wix_sandbox.validation import ApiError, Checker, bad_request, is_guid, json_object, not_found
from devstack.wix_sandbox.webhooks import OutgoingEvent, order_event

RESTAURANTS_APP_ID = "9a5d83fd-8570-482e-81ab-cfa88942ee60"
STORES_APP_ID = "215238eb-22a5-4c36-9e7b-e7c08025e04e"

CHANNEL_TYPES = (
    "UNSPECIFIED", "WEB", "POS", "EBAY", "AMAZON", "OTHER_PLATFORM", "WIX_APP_STORE", "WIX_INVOICES",
    "BACKOFFICE_MERCHANT", "WISH", "CLASS_PASS", "GLOBAL_E", "FACEBOOK", "ETSY", "TIKTOK", "FAIRE_COM",
    "PAYPAL_AGENTIC_CHECKOUT", "STRIPE_AGENTIC_CHECKOUT",
)  # fmt: skip
# Statuses Create Order accepts; CANCELED/REJECTED come from later actions.
CREATE_STATUSES = ("APPROVED", "PENDING", "INITIALIZED")
PAYMENT_STATUSES = (
    "UNSPECIFIED", "NOT_PAID", "PAID", "PARTIALLY_REFUNDED", "FULLY_REFUNDED", "PENDING", "PARTIALLY_PAID",
    "PENDING_MERCHANT", "CANCELED", "DECLINED",
)  # fmt: skip
ITEM_TYPE_PRESETS = ("PHYSICAL", "DIGITAL", "GIFT_CARD", "SERVICE", "UNRECOGNISED")
APPROVAL_STRATEGIES = ("DEFAULT", "PAYMENT_RECEIVED", "PAYMENT_METHOD_SAVED")
FULFILLMENT_STATUSES = ("Pending", "Accepted", "Ready", "In_Delivery", "Fulfilled")

_ANY = EQUALITY | {"$gt", "$gte", "$lt", "$lte", "$exists"}
_HAS = frozenset({"$hasSome", "$hasAll"})
# Search Orders filterable fields and their operators [SDK OrderSearchSpec, ecom-v1-order-orders.universal-*.d.ts; a
# subset: tests/contracts/test_wix_orders_search_spec.py]; anything else is a 400.
SEARCH_FIELDS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("channelInfo.type", "fulfillmentStatus", "paymentStatus", "status"), EQUALITY),
    **dict.fromkeys(
        (
            "createdDate",
            "updatedDate",
            "number",
            "businessLocation.id",
            "buyerInfo.email",
            "priceSummary.total.amount",
            "purchasedDate",
            "shippingInfo.logistics.deliveryTimeSlot.from",
            "shippingInfo.logistics.deliveryTimeSlot.to",
        ),
        _ANY,
    ),
    **dict.fromkeys(
        ("id", "buyerInfo.contactId", "buyerInfo.memberId", "channelInfo.externalOrderId", "checkoutId"), EQUALITY
    ),
    **dict.fromkeys(("lineItems.catalogReference.appId", "lineItems.catalogReference.catalogItemId"), _HAS),
}
# Wix's eCommerce `Address` (@wix/auto_sdk_ecom_orders build/cjs/meta.d.ts): the writable fields and their
# @maxLength; `countryFullname`/`subdivisionFullname` are @readonly, and the first line is `addressLine` (unnumbered).
_ADDRESS_TEXT = {"city": 50, "subdivision": 50, "postalCode": 50, "addressLine": 150, "addressLine2": 100}
_ADDRESS_FIELDS = frozenset({*_ADDRESS_TEXT, "country", "streetAddress", "geocode"})
_COUNTRY = re.compile(r"^[A-Z]{2}$")  # ISO-3166 alpha-2 (@format COUNTRY)
_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")  # ISO 3166-2: country code, "-", up to three characters
# Sortable among them (the spec's `sort: 'BOTH'`); ids, channelInfo.externalOrderId and line fields only filter.
SORTABLE_FIELDS = frozenset(
    (
        "channelInfo.type", "fulfillmentStatus", "paymentStatus", "status", "createdDate", "updatedDate", "number",
        "businessLocation.id", "buyerInfo.email", "priceSummary.total.amount", "purchasedDate",
        "shippingInfo.logistics.deliveryTimeSlot.from", "shippingInfo.logistics.deliveryTimeSlot.to",
    )
)  # fmt: skip
_DECIMAL_TEXT = re.compile(r"^\d+(\.\d+)?$")
_DEFAULT_SORT = [{"fieldName": "createdDate", "order": "DESC"}]


def app_identity(app_id: str) -> dict[str, str]:
    return {"identityType": "APP", "appId": app_id}


def money(amount: Decimal, currency: str = "USD") -> dict[str, str]:
    value = f"{amount:.2f}"
    return {"amount": value, "formattedAmount": f"${value}" if currency == "USD" else f"{value} {currency}"}


# --- Create Order ---------------------------------------------------------------------------------------------------


def validate_create(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create Order's required fields and limits [SDK @requiredField/@maxSize]; returns (order, settings)."""
    c = Checker()
    order = c.obj(body, "order", "order", required=True)
    c.done()
    assert order is not None
    channel = c.obj(order, "channelInfo", "order.channelInfo", required=True)
    if channel is not None:
        c.enum(channel, "type", "order.channelInfo.type", CHANNEL_TYPES)
        c.text(channel, "externalOrderId", "order.channelInfo.externalOrderId", max_len=100)
        c.text(channel, "externalOrderUrl", "order.channelInfo.externalOrderUrl", max_len=300)
    lines = c.array(order, "lineItems", "order.lineItems", required=True, min_len=1, max_len=300) or []
    for i, line in enumerate(lines):
        _check_line(c, line, f"order.lineItems[{i}]")
    c.obj(order, "priceSummary", "order.priceSummary", required=True)
    c.text(order, "buyerNote", "order.buyerNote", max_len=1000)
    c.enum(order, "status", "order.status", CREATE_STATUSES)
    c.enum(order, "paymentStatus", "order.paymentStatus", PAYMENT_STATUSES)
    c.text(order, "currency", "order.currency", min_len=3, max_len=3)
    location = c.obj(order, "businessLocation", "order.businessLocation")
    if location is not None:
        c.text(location, "id", "order.businessLocation.id", required=True)
    purchased = c.text(order, "purchasedDate", "order.purchasedDate")
    if purchased is not None:
        try:
            parse_iso(purchased)
        except ValueError:
            c.fail("order.purchasedDate", "must be an ISO-8601 date")
    conversion = c.obj(order, "currencyConversionDetails", "order.currencyConversionDetails")
    if conversion is not None:
        c.text(conversion, "conversionRate", "order.currencyConversionDetails.conversionRate", required=True)
        c.text(conversion, "originalCurrency", "order.currencyConversionDetails.originalCurrency", required=True)
    settings = c.obj(body, "settings", "settings") or {}
    c.enum(settings, "orderApprovalStrategy", "settings.orderApprovalStrategy", APPROVAL_STRATEGIES)
    notifications = c.obj(settings, "notifications", "settings.notifications") or {}
    c.boolean(notifications, "sendNotificationToBuyer", "settings.notifications.sendNotificationToBuyer")
    c.boolean(notifications, "sendNotificationsToBusiness", "settings.notifications.sendNotificationsToBusiness")
    c.done("Invalid order")
    return order, settings


def _check_line(c: Checker, line: Any, path: str) -> None:
    if not isinstance(line, dict):
        c.fail(path, "must be an object")
        return
    if line.get("id") not in (None, "") and not is_guid(line["id"]):
        c.fail(f"{path}.id", "must be a GUID")
    ref = c.obj(line, "catalogReference", f"{path}.catalogReference", required=True)
    if ref is not None:
        c.text(ref, "appId", f"{path}.catalogReference.appId", required=True, min_len=1)
        c.text(ref, "catalogItemId", f"{path}.catalogReference.catalogItemId", required=True, min_len=1, max_len=36)
        c.obj(ref, "options", f"{path}.catalogReference.options")
    item_type = c.obj(line, "itemType", f"{path}.itemType", required=True)
    if item_type is not None:
        if "preset" in item_type:
            c.enum(item_type, "preset", f"{path}.itemType.preset", ITEM_TYPE_PRESETS)
        else:
            c.text(item_type, "custom", f"{path}.itemType.custom", required=True, min_len=1)
        if item_type.get("preset") == "DIGITAL" and not line.get("digitalFile"):
            c.fail(f"{path}.digitalFile", "is required for DIGITAL items")
    price = c.obj(line, "price", f"{path}.price", required=True)
    if price is not None:
        c.decimal(price, "amount", f"{path}.price.amount", required=True)
    name = c.obj(line, "productName", f"{path}.productName", required=True)
    if name is not None:
        c.text(name, "original", f"{path}.productName.original", required=True, min_len=1, max_len=200)
    c.integer(line, "quantity", f"{path}.quantity", required=True, lo=1, hi=100000)
    c.array(line, "descriptionLines", f"{path}.descriptionLines", max_len=20)
    c.array(line, "modifierGroups", f"{path}.modifierGroups", max_len=10)


def create_order(
    inst: Instance,
    clock: Clock,
    order_in: dict[str, Any],
    settings: dict[str, Any],
    *,
    created_by: dict[str, str],
    identity: dict[str, Any],
) -> tuple[dict[str, Any], list[OutgoingEvent]]:
    """Store a validated order; Wix then fires order_created and, for an APPROVED order, order_approved."""
    now = clock.now()
    order = copy.deepcopy(order_in)
    if order.get("purchasedDate") and parse_iso(order["purchasedDate"]) > now:
        raise ApiError(428, "purchasedDate cannot be in the future", code="PURCHASED_DATE_CANNOT_BE_IN_FUTURE")
    location_id = (order.get("businessLocation") or {}).get("id")
    if location_id is not None:
        location = inst.locations.get(location_id)
        if location is None:
            raise bad_request(f"order.businessLocation.id {location_id!r} is not a location of this site")
        order["businessLocation"] = {"id": location_id, "name": location["name"]}
    for line in order["lineItems"]:
        line["id"] = line.get("id") or new_id()
    inst.last_order_number += 1
    stamp = clock.iso()
    status = order.get("status", "APPROVED")
    order = {"id": new_id(), "number": str(inst.last_order_number), **order}
    order.update(
        createdDate=stamp,
        updatedDate=stamp,
        status=status,
        paymentStatus=order.get("paymentStatus", "NOT_PAID"),
        fulfillmentStatus="NOT_FULFILLED",
        currency=order.get("currency", "USD"),
        taxIncludedInPrices=order.get("taxIncludedInPrices", False),
        createdBy=created_by,
        archived=False,
        seenByAHuman=False,
    )
    order["channelInfo"].setdefault("type", "UNSPECIFIED")
    total = ((order.get("priceSummary") or {}).get("total") or {}).get("amount")
    if "balanceSummary" not in order and total is not None and order["paymentStatus"] != "PARTIALLY_PAID":
        order["balanceSummary"] = balance_summary(order["paymentStatus"], Decimal(total), None)
    if status == "APPROVED":
        order.setdefault("purchasedDate", stamp)
    inst.orders[order["id"]] = order
    inst.fulfillments[order["id"]] = []
    _notify(inst, order, "order_placed", settings.get("notifications") or {})
    events: list[OutgoingEvent] = []
    if status != "INITIALIZED":  # INITIALIZED orders are invisible until approved or declined
        events.append(order_event(inst, clock, "created", order, identity))
    if status == "APPROVED":
        events.append(order_event(inst, clock, "approved", order, identity))
    return order, events


def _notify(inst: Instance, order: dict[str, Any], kind: str, settings: dict[str, Any]) -> None:
    """Record the e-mails Wix would send, honouring settings.notifications (both default to true)."""
    if settings.get("sendNotificationToBuyer", True):
        email = (order.get("buyerInfo") or {}).get("email")
        inst.notifications.append({"orderId": order["id"], "kind": kind, "to": "buyer", "email": email})
    if settings.get("sendNotificationsToBusiness", True):
        inst.notifications.append({"orderId": order["id"], "kind": kind, "to": "business"})


# --- Search, cancel, approve ----------------------------------------------------------------------------------------


def search_orders(inst: Instance, body: dict[str, Any]) -> dict[str, Any]:
    search = json_object(body.get("search") or {}, "search")
    q = parse_query(
        search,
        scope="orders",
        max_limit=100,
        default_limit=100,
        allowed=SEARCH_FIELDS,
        default_sort=_DEFAULT_SORT,
        sortable=SORTABLE_FIELDS,
    )
    explicit_status = mentions(q.filter, "status")
    found = [
        o for o in inst.orders.values()
        if o["status"] != "INITIALIZED"
        and (explicit_status or o["status"] not in ("PENDING", "REJECTED"))
        and matches(o, q.filter)
    ]  # fmt: skip
    orders, metadata = page(sort_items(found, q.sort), q, "orders")
    return {"orders": orders, "metadata": metadata}


def cancel_order(
    inst: Instance, clock: Clock, order_id: str, body: dict[str, Any], identity: dict[str, Any]
) -> tuple[dict[str, Any], list[OutgoingEvent]]:
    c = Checker()
    send_email = c.boolean(body, "sendOrderCanceledEmail", "sendOrderCanceledEmail")
    message = c.text(body, "customMessage", "customMessage")
    restock = c.boolean(body, "restockAllItems", "restockAllItems")
    c.done()
    order = inst.get_order(order_id)
    if order["status"] == "CANCELED":
        raise ApiError(428, f"Order {order_id} is already canceled", code="ORDER_ALREADY_CANCELED")
    order.update(status="CANCELED", updatedDate=clock.iso())
    if send_email:
        _notify(inst, order, "order_canceled", {"sendNotificationsToBusiness": False})
    event = order_event(
        inst,
        clock,
        "canceled",
        order,
        identity,
        restockAllItems=bool(restock),
        sendOrderCanceledEmail=bool(send_email),
        customMessage=message or "",
    )
    return order, [event]


def refund_order(
    inst: Instance, clock: Clock, order_id: str, body: dict[str, Any], identity: dict[str, Any]
) -> tuple[dict[str, Any], list[OutgoingEvent]]:
    """The restaurant refunds a paid order in its dashboard, fully or by `amount` (a decimal string; absent: all that
    is left). The order's `paymentStatus` becomes FULLY_REFUNDED or PARTIALLY_REFUNDED and `balanceSummary.refunded`
    the sum refunded ("Sum of all successfully refunded payments", meta.d.ts BalanceSummary); Wix sends
    `wix.ecom.v1.order_payment_status_updated` (onOrderPaymentStatusUpdated, slug payment_status_updated), whose
    body is PaymentStatusUpdated {order, previousPaymentStatus}."""
    c = Checker()
    amount = c.decimal(body, "amount", "amount", max_places=2)
    c.done()
    order = inst.get_order(order_id)
    previous = order.get("paymentStatus")
    if previous not in ("PAID", "PARTIALLY_REFUNDED"):
        raise bad_request(f"only a PAID or PARTIALLY_REFUNDED order can be refunded, order {order_id} is {previous}")
    summary = order.get("balanceSummary") or {}
    paid = Decimal((summary.get("paid") or {}).get("amount", order["priceSummary"]["total"]["amount"]))
    done = Decimal((summary.get("refunded") or {}).get("amount", "0"))
    amount = paid - done if amount is None else amount
    if amount <= 0 or done + amount > paid:
        raise bad_request(f"the refund must be positive and at most the {paid - done} left to refund")
    status = "FULLY_REFUNDED" if done + amount == paid else "PARTIALLY_REFUNDED"
    currency = order.get("currency", "USD")
    order.update(paymentStatus=status, updatedDate=clock.iso())
    order["balanceSummary"] = {**summary, "paid": money(paid, currency), "refunded": money(done + amount, currency)}
    return order, [order_event(inst, clock, "payment_status_updated", order, identity, previousPaymentStatus=previous)]


def approve_order(
    inst: Instance, clock: Clock, order_id: str, identity: dict[str, Any]
) -> tuple[dict[str, Any], list[OutgoingEvent]]:
    order = inst.get_order(order_id)
    if order["status"] not in ("PENDING", "INITIALIZED"):
        raise bad_request(f"only PENDING or INITIALIZED orders can be approved, order {order_id} is {order['status']}")
    events: list[OutgoingEvent] = []
    if order["status"] == "INITIALIZED":  # becomes visible now, so it is "created" now
        events.append(order_event(inst, clock, "created", order, identity))
    stamp = clock.iso()
    order.update(status="APPROVED", paymentStatus="PAID", updatedDate=stamp)
    order["balanceSummary"] = balance_summary("PAID", Decimal(order["priceSummary"]["total"]["amount"]), None)
    order.setdefault("purchasedDate", stamp)
    events.append(order_event(inst, clock, "approved", order, identity))
    return order, events


# --- Customer checkout (control API) --------------------------------------------------------------------------------


def checkout(inst: Instance, clock: Clock, body: dict[str, Any]) -> tuple[dict[str, Any], list[OutgoingEvent]]:
    """A site visitor orders: restaurant lines carry the Restaurants app id and {operationId, menuId, sectionId}."""
    c = Checker()
    lines = c.array(body, "lines", "lines", required=True, min_len=1, max_len=300) or []
    for i, line in enumerate(lines):
        path = f"lines[{i}]"
        if not isinstance(line, dict):
            c.fail(path, "must be an object")
            continue
        c.enum(line, "kind", f"{path}.kind", ("restaurant", "store"), required=True)
        c.text(line, "name", f"{path}.name", required=True, min_len=1, max_len=200)
        c.decimal(line, "price", f"{path}.price", required=True)
        c.integer(line, "quantity", f"{path}.quantity", required=True, lo=1, hi=100000)
        c.text(line, "catalogItemId", f"{path}.catalogItemId", min_len=1, max_len=36)
        variant_id = c.text(line, "variantId", f"{path}.variantId", min_len=1, max_len=36)
        item = inst.menus["item"].get(line.get("catalogItemId") or "")
        if variant_id is not None and (item is None or variant_id not in _item_variants(item)):
            c.fail(f"{path}.variantId", "is not a price variant of the menu item")
        c.decimal(line, "taxRate", f"{path}.taxRate", max_places=6)  # LineItemTaxInfo.taxRate: maxScale 6
        for j, modifier in enumerate(c.array(line, "modifiers", f"{path}.modifiers", max_len=500) or []):
            if not isinstance(modifier, dict):
                c.fail(f"{path}.modifiers[{j}]", "must be an object")
                continue
            c.text(modifier, "name", f"{path}.modifiers[{j}].name", required=True, min_len=1, max_len=200)
            c.decimal(modifier, "price", f"{path}.modifiers[{j}].price", required=True)
            modifier_id = c.text(modifier, "id", f"{path}.modifiers[{j}].id", min_len=1, max_len=36)
            if modifier_id is not None and (item is None or _modifier_group(inst, item, modifier_id) is None):
                c.fail(f"{path}.modifiers[{j}].id", "is not a modifier of the menu item's modifier groups")
    buyer = c.obj(body, "buyer", "buyer", required=True) or {}
    for key in ("firstName", "lastName", "phone"):
        c.text(buyer, key, f"buyer.{key}", max_len=200)
    c.text(buyer, "email", "buyer.email", required=True, min_len=3, max_len=200)
    _check_address(c, buyer, "buyer.address")
    c.text(body, "buyerNote", "buyerNote", max_len=1000)
    fulfillment = c.obj(body, "fulfillment", "fulfillment")
    if fulfillment is not None:
        kind = c.enum(fulfillment, "type", "fulfillment.type", ("PICKUP", "DELIVERY"), required=True)
        when = c.text(fulfillment, "time", "fulfillment.time")
        if when is not None:
            try:
                parse_iso(when)
            except ValueError:
                c.fail("fulfillment.time", "must be an ISO-8601 date")
        c.obj(fulfillment, "address", "fulfillment.address", required=kind == "DELIVERY")
        _check_address(c, fulfillment, "fulfillment.address")
        c.decimal(fulfillment, "fee", "fulfillment.fee", max_places=2)
    approve = c.boolean(body, "approve", "approve")
    money_in = _check_checkout_money(c, body, len(lines))
    c.done("Invalid checkout")

    visitor_id = new_id()
    contact = {k: buyer[k] for k in ("firstName", "lastName", "phone") if buyer.get(k)}
    line_items = [_checkout_line(inst, line) for line in lines]
    priced = pricing.price_order(
        [
            pricing.LineIn(Decimal(li["price"]["amount"]), li["quantity"], money_in.line_rates[i])
            for i, li in enumerate(line_items)
        ],
        included=money_in.included,
        discounts=money_in.discounts,
        shipping=Decimal(fulfillment["fee"]) if fulfillment and fulfillment.get("fee") else None,
        shipping_rate=money_in.shipping_rate,
        fees=money_in.fees,
        tip=money_in.tip,
    )
    status = "APPROVED" if approve is not False else "PENDING"
    payment_status = money_in.payment_status or ("PAID" if approve is not False else "NOT_PAID")
    total = priced.summary["total"]
    if payment_status == "PARTIALLY_PAID" and not (money_in.paid is not None and 0 < money_in.paid < total):
        raise bad_request("paid: a PARTIALLY_PAID order needs 0 < paid < the order's total")
    order_in: dict[str, Any] = {
        "lineItems": line_items,
        "channelInfo": {"type": "WEB"},
        "buyerInfo": {"visitorId": visitor_id, "contactId": new_id(), "email": buyer["email"]},
        "billingInfo": {"contactDetails": contact, **({"address": buyer["address"]} if buyer.get("address") else {})},
        "recipientInfo": {"contactDetails": contact},
        "businessLocation": {"id": inst.default_location["id"]},
        "checkoutId": new_id(),
        "status": status,
        "paymentStatus": payment_status,
        "taxIncludedInPrices": money_in.included,
    }
    _apply_prices(order_in, priced, money_in)
    order_in["balanceSummary"] = balance_summary(payment_status, total, money_in.paid)
    if body.get("buyerNote"):
        order_in["buyerNote"] = body["buyerNote"]
    if fulfillment is not None:
        order_in["shippingInfo"] = _shipping_info(inst, fulfillment, contact, priced.shipping)
    return create_order(
        inst,
        clock,
        order_in,
        {},
        created_by={"visitorId": visitor_id},
        identity={"identityType": "ANONYMOUS_VISITOR", "anonymousVisitorId": visitor_id},
    )


def _item_variants(item: dict[str, Any]) -> set[str]:
    return {v.get("variantId") for v in (item.get("priceVariants") or {}).get("variants") or []}


def _modifier_group(inst: Instance, item: dict[str, Any], modifier_id: str) -> dict[str, Any] | None:
    """The item's modifier group that offers this modifier, if any."""
    for ref in item.get("modifierGroups") or []:
        group = inst.menus["modifierGroup"].get(ref.get("id"))
        if group and any(m.get("id") == modifier_id for m in group.get("modifiers") or []):
            return group
    return None


@dataclass(frozen=True)
class CheckoutMoney:
    """What the customer chose and the site charges on top of the dishes (see pricing.py for the arithmetic)."""

    included: bool  # the site's "prices include tax" setting: the order's taxIncludedInPrices
    line_rates: list[Decimal]
    shipping_rate: Decimal
    discounts: list[pricing.DiscountIn]
    fees: list[pricing.FeeIn]
    tip: Decimal | None
    payment_status: str | None
    paid: Decimal | None


def _check_discount(c: Checker, body: dict[str, Any], key: str, line_count: int) -> pricing.DiscountIn | None:
    spec = c.obj(body, key, key)
    if spec is None:
        return None
    kind = "coupon" if key == "coupon" else "automatic"
    # Coupon.code / DiscountRuleName.original (1..256); a coupon needs its code, a rule its name.
    code = c.text(spec, "code", f"{key}.code", required=kind == "coupon", min_len=1, max_len=100)
    name = c.text(spec, "name", f"{key}.name", required=kind == "automatic", min_len=1, max_len=256)
    percentage = c.decimal(spec, "percentage", f"{key}.percentage", max_places=2)
    amount = c.decimal(spec, "amount", f"{key}.amount", max_places=2)
    if (percentage is None) == (amount is None):
        c.fail(key, "give exactly one of percentage, amount")
    if percentage is not None and not 0 < percentage <= 100:
        c.fail(f"{key}.percentage", "must be more than 0 and at most 100")
    if amount is not None and amount <= 0:
        c.fail(f"{key}.amount", "must be more than 0")
    indexes = c.array(spec, "lines", f"{key}.lines", min_len=1, max_len=300)
    if indexes is not None and not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < line_count for i in indexes
    ):
        c.fail(f"{key}.lines", "must list indexes of the checkout's lines")
    return pricing.DiscountIn(
        kind=kind,
        name=str(name or code),
        code=code,
        percentage=percentage,
        amount=amount,
        lines=tuple(sorted(set(indexes))) if indexes else None,
    )


def _check_checkout_money(c: Checker, body: dict[str, Any], line_count: int) -> CheckoutMoney:
    """`tax {rate, includedInPrices, shipping}` (the site's tax settings), per line `taxRate`, `coupon` and
    `automaticDiscount` `{code|name, percentage|amount, lines?}`, `fulfillment.fee` (delivery fee), `fees
    [{name, amount, taxable}]`, `tip`, `paymentStatus` (PaymentStatus) and `paid` (for PARTIALLY_PAID)."""
    tax = c.obj(body, "tax", "tax") or {}
    rate = c.decimal(tax, "rate", "tax.rate", max_places=6) or Decimal(0)
    included = bool(c.boolean(tax, "includedInPrices", "tax.includedInPrices"))
    taxed_shipping = c.boolean(tax, "shipping", "tax.shipping")
    line_rates = []
    for line in body.get("lines") or []:
        own = line.get("taxRate") if isinstance(line, dict) else None
        line_rates.append(Decimal(own) if isinstance(own, str) and _DECIMAL_TEXT.match(own) else rate)
    discounts = [d for d in (_check_discount(c, body, k, line_count) for k in ("automaticDiscount", "coupon")) if d]
    fees = []
    for i, fee in enumerate(c.array(body, "fees", "fees", max_len=99) or []):  # Order.additionalFees: maxSize 100
        if not isinstance(fee, dict):
            c.fail(f"fees[{i}]", "must be an object")
            continue
        name = c.text(fee, "name", f"fees[{i}].name", required=True, min_len=1, max_len=50)  # AdditionalFee.name
        amount = c.decimal(fee, "amount", f"fees[{i}].amount", required=True, max_places=2)
        taxable = c.boolean(fee, "taxable", f"fees[{i}].taxable")
        if name and amount is not None:
            fees.append(pricing.FeeIn(name, amount, rate if taxable else Decimal(0)))
    tip = c.decimal(body, "tip", "tip", max_places=2)  # Tip.amount: maxScale 2
    if tip is not None and tip <= 0:  # Set Tip On Order fails when "the total tip amount is zero or negative"
        c.fail("tip", "must be more than 0")
    return CheckoutMoney(
        included=included,
        line_rates=line_rates,
        shipping_rate=rate if taxed_shipping is not False else Decimal(0),
        discounts=discounts,
        fees=fees,
        tip=tip,
        payment_status=c.enum(body, "paymentStatus", "paymentStatus", PAYMENT_STATUSES),
        paid=c.decimal(body, "paid", "paid", max_places=2),
    )


def _tax_info(amount: Decimal, before_tax: Decimal, rate: Decimal, included: bool) -> dict[str, Any]:
    """LineItemTaxInfo: `taxableAmount` is the amount before tax, `taxRate` a fraction (maxScale 6)."""
    return {
        "taxAmount": money(amount),
        "taxableAmount": money(before_tax),
        "taxRate": format(rate.normalize(), "f"),
        "taxIncludedInPrice": included,
    }


def _charge_cost(cost: pricing.PricedCharge) -> dict[str, Any]:
    """ShippingPrice: the delivery fee before discounts and tax, after tax, and its tax."""
    result: dict[str, Any] = {
        "price": money(cost.price),
        "totalPriceBeforeTax": money(cost.before_tax),
        "totalPriceAfterTax": money(cost.after_tax),
        "discount": money(Decimal(0)),
    }
    if cost.rate:
        result["taxInfo"] = _tax_info(cost.tax, cost.before_tax, cost.rate, cost.included)
    return result


def balance_summary(payment_status: str, total: Decimal, paid: Decimal | None) -> dict[str, Any]:
    left, collected = pricing.balance(payment_status, total, paid)
    summary = {"balance": money(left), "paid": money(collected)}
    if payment_status in ("FULLY_REFUNDED", "PARTIALLY_REFUNDED"):
        summary["refunded"] = money(total if payment_status == "FULLY_REFUNDED" else Decimal(0))
    return summary


def _apply_prices(order: dict[str, Any], priced: pricing.PricedOrder, money_in: CheckoutMoney) -> None:
    """Writes the priced amounts where the Order type keeps them (lines, appliedDiscounts, additionalFees, taxInfo,
    priceSummary); shippingInfo.cost is written with the shipping info."""
    taxed = (
        any(line.rate for line in priced.lines)
        or any(f.rate for f in priced.fees)
        or bool(priced.shipping and priced.shipping.rate)
    )
    for line, p in zip(order["lineItems"], priced.lines, strict=True):
        line["totalDiscount"] = money(p.discount)
        line["totalPriceBeforeTax"] = money(p.before_tax)
        line["totalPriceAfterTax"] = money(p.after_tax)
        if taxed:
            line["taxInfo"] = _tax_info(p.tax, p.before_tax, p.rate, p.included)
    discounts = []
    for d in priced.discounts:
        entry: dict[str, Any] = {"id": new_id(), "discountType": "GLOBAL" if d.spec.lines is None else "SPECIFIC_ITEMS"}
        if d.spec.kind == "coupon":
            entry["coupon"] = {"id": new_id(), "code": d.spec.code, "name": d.spec.name, "amount": money(d.amount)}
        else:
            entry["discountRule"] = {"id": new_id(), "name": {"original": d.spec.name, "translated": d.spec.name},
                                     "amount": money(d.amount)}  # fmt: skip
        entry["lineItemDiscounts"] = [
            {"id": order["lineItems"][i]["id"], "totalDiscount": money(share)} for i, share in d.shares
        ]
        discounts.append(entry)
    if discounts:
        order["appliedDiscounts"] = discounts
    fees = []
    named = [(f.name, f"fee-{i + 1}") for i, f in enumerate(money_in.fees)]
    if priced.tip is not None:
        named.append(("Tip", new_id()))  # the tip's id is the fee's code (Tips API introduction)
    for (name, code), charge in zip(named, priced.fees, strict=True):
        fee: dict[str, Any] = {
            "id": new_id(),
            "code": code,
            "name": name,
            "price": money(charge.price),
            "priceBeforeTax": money(charge.before_tax),
            "priceAfterTax": money(charge.after_tax),
        }
        if charge.rate:
            fee["taxInfo"] = _tax_info(charge.tax, charge.before_tax, charge.rate, charge.included)
        fees.append(fee)
    if fees:
        order["additionalFees"] = fees
    summary = priced.summary
    order["priceSummary"] = {key: money(summary[key]) for key in
                             ("subtotal", "shipping", "tax", "discount", "total", "totalAdditionalFees")}  # fmt: skip
    if taxed:
        order["taxInfo"] = {"totalTax": money(summary["tax"])}


def _checkout_line(inst: Instance, line: dict[str, Any]) -> dict[str, Any]:
    modifiers = line.get("modifiers") or []
    unit = Decimal(line["price"]) + sum((Decimal(m["price"]) for m in modifiers), Decimal(0))
    item_id = line.get("catalogItemId") or new_id()
    if line["kind"] == "restaurant":
        menu_id, section_id = _placement(inst, item_id)
        options: dict[str, Any] = {
            "operationId": inst.default_operation["id"],
            "menuId": menu_id,
            "sectionId": section_id,
        }
        if line.get("variantId"):
            # The chosen size rides in options.priceVariant, as Wix's restaurant ordering code puts it in the cart
            # (undocumented by Wix: see posbridge.wix.orders._chosen_variant); the cart's options reach the order.
            price = money(Decimal(line["price"]))["formattedAmount"]
            options["priceVariant"] = {"id": line["variantId"], "formattedPrice": price}
        reference = {"appId": RESTAURANTS_APP_ID, "catalogItemId": item_id, "options": options}
    else:
        reference = {"appId": STORES_APP_ID, "catalogItemId": item_id, "options": {}}
    total = unit * line["quantity"]
    result: dict[str, Any] = {
        "id": new_id(),
        "productName": {"original": line["name"], "translated": line["name"]},
        "catalogReference": reference,
        "quantity": line["quantity"],
        "itemType": {"preset": "PHYSICAL"},
        "price": money(unit),
        "priceBeforeDiscounts": money(unit),
        "lineItemPrice": money(total),
        "totalPriceBeforeTax": money(total),
        "totalPriceAfterTax": money(total),
        "totalDiscount": money(Decimal(0)),
    }
    if modifiers:
        # Order line modifierGroups[] {id, name, modifiers[] {id, quantity, label, price}} (meta.d.ts ModifierGroup,
        # ItemModifier): a catalog modifier under its menu group, any other under a group of its own.
        groups: dict[str, dict[str, Any]] = {}
        item = inst.menus["item"].get(item_id)
        for m in modifiers:
            group = _modifier_group(inst, item, m["id"]) if item and m.get("id") else None
            key = group["id"] if group else "options"
            entry = groups.setdefault(key, {
                "id": group["id"] if group else new_id(),
                "name": {"original": group["name"] if group else "Options",
                         "translated": group["name"] if group else "Options"},
                "modifiers": [],
            })  # fmt: skip
            label = {"original": m["name"], "translated": m["name"]}
            entry["modifiers"].append(
                {"id": m.get("id") or new_id(), "quantity": 1, "label": label, "price": money(Decimal(m["price"]))}
            )
        result["modifierGroups"] = list(groups.values())
    return result


def _pickup_address(location: dict[str, Any]) -> dict[str, Any]:
    """A Locations API address as an order's `PickupAddress` (meta.d.ts): its fields only, `streetAddress` without the
    location's `apt`, and `addressLine` as the street line."""
    street = {k: v for k, v in (location.get("streetAddress") or {}).items() if k in ("number", "name") and v}
    address = {k: location[k] for k in ("country", "subdivision", "city", "postalCode") if location.get(k)}
    if street:
        address["streetAddress"] = street
        address["addressLine"] = " ".join(street[k] for k in ("number", "name") if k in street)
    return address


def _check_address(c: Checker, parent: dict[str, Any], field: str) -> None:
    address = c.obj(parent, "address", field)
    if address is None:
        return
    for key in sorted(set(address) - _ADDRESS_FIELDS):
        c.fail(f"{field}.{key}", "is not a field of Address")
    for key, max_len in _ADDRESS_TEXT.items():
        c.text(address, key, f"{field}.{key}", max_len=max_len)
    country, subdivision = address.get("country"), address.get("subdivision")
    if country is not None and not (isinstance(country, str) and _COUNTRY.match(country)):
        c.fail(f"{field}.country", "must be an ISO-3166 alpha-2 code")
    if isinstance(subdivision, str) and not _SUBDIVISION.match(subdivision):
        c.fail(f"{field}.subdivision", "must be an ISO 3166-2 code such as US-NY")
    street = c.obj(address, "streetAddress", f"{field}.streetAddress") or {}
    for key in sorted(set(street) - {"number", "name"}):
        c.fail(f"{field}.streetAddress.{key}", "is not a field of StreetAddress")
    for key in ("number", "name"):
        c.text(street, key, f"{field}.streetAddress.{key}")


def _placement(inst: Instance, item_id: str) -> tuple[str, str]:
    """The menu and section that list the item; any existing ones, or placeholders on a site without menus."""
    sections, menus = inst.menus["section"], inst.menus["menu"]
    section = next((s for s in sections.values() if item_id in s.get("itemIds", [])), None)
    section = section or next(iter(sections.values()), None)
    section_id = section["id"] if section else new_id()
    menu = next((m for m in menus.values() if section_id in m.get("sectionIds", [])), None)
    menu = menu or next(iter(menus.values()), None)
    return (menu["id"] if menu else new_id()), section_id


def _shipping_info(
    inst: Instance, fulfillment: dict[str, Any], contact: dict[str, Any], cost: pricing.PricedCharge | None
) -> dict[str, Any]:
    logistics: dict[str, Any] = {}
    if fulfillment.get("time"):
        logistics["deliveryTime"] = fulfillment["time"]
        logistics["deliveryTimeSlot"] = {"from": fulfillment["time"], "to": fulfillment["time"]}
    if fulfillment["type"] == "PICKUP":
        location = inst.default_location
        logistics["pickupDetails"] = {"address": _pickup_address(location["address"]), "pickupMethod": "STORE_PICKUP"}
        title = "Pickup"
    else:
        logistics["shippingDestination"] = {"address": fulfillment["address"], "contactDetails": contact}
        title = "Delivery"
    return {
        "title": title,
        "code": fulfillment["type"].lower(),
        "logistics": logistics,
        "cost": _charge_cost(cost) if cost else {"price": money(Decimal(0))},
    }


# --- Fulfillments ---------------------------------------------------------------------------------------------------


def with_fulfillments(inst: Instance, order_id: str) -> dict[str, Any]:
    inst.get_order(order_id)
    return {"orderId": order_id, "fulfillments": inst.fulfillments[order_id]}


def list_by_ids(inst: Instance, body: dict[str, Any]) -> dict[str, Any]:
    c = Checker()
    ids = c.string_list(body, "orderIds", "orderIds", max_len=100)
    if not ids:
        c.fail("orderIds", "must have between 1 and 100 order ids")
    c.done()
    return {"ordersWithFulfillments": [with_fulfillments(inst, i) for i in ids if i in inst.orders]}


def _check_fulfillment_fields(c: Checker, fulfillment: dict[str, Any]) -> None:
    c.enum(fulfillment, "status", "fulfillment.status", FULFILLMENT_STATUSES)
    c.boolean(fulfillment, "completed", "fulfillment.completed")
    tracking = c.obj(fulfillment, "trackingInfo", "fulfillment.trackingInfo")
    custom = c.obj(fulfillment, "customInfo", "fulfillment.customInfo")
    if tracking is not None and custom is not None:
        c.fail("fulfillment", "set trackingInfo or customInfo, not both")
    if tracking is not None:
        c.text(tracking, "trackingNumber", "fulfillment.trackingInfo.trackingNumber", max_len=100)
        c.text(tracking, "shippingProvider", "fulfillment.trackingInfo.shippingProvider", max_len=100)
        c.text(tracking, "trackingLink", "fulfillment.trackingInfo.trackingLink", max_len=2048)
    if custom is not None:
        fields = c.obj(custom, "fieldsData", "fulfillment.customInfo.fieldsData") or {}
        if len(fields) > 100 or not all(isinstance(v, str) for v in fields.values()):
            c.fail("fulfillment.customInfo.fieldsData", "must map at most 100 keys to strings")


def _check_tracking_unique(inst: Instance, order_id: str, fulfillment: dict[str, Any], own_id: str | None) -> None:
    number = (fulfillment.get("trackingInfo") or {}).get("trackingNumber")
    taken = any(
        f["id"] != own_id and (f.get("trackingInfo") or {}).get("trackingNumber") == number
        for f in inst.fulfillments[order_id]
    )
    if number and taken:
        raise ApiError(409, f"tracking number {number!r} already exists", code="TRACKING_NUMBER_ALREADY_EXISTS")


def create_fulfillment(inst: Instance, clock: Clock, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    order = inst.get_order(order_id)
    c = Checker()
    fulfillment = c.obj(body, "fulfillment", "fulfillment", required=True)
    c.done()
    assert fulfillment is not None
    _check_fulfillment_fields(c, fulfillment)
    ordered = {li["id"]: li["quantity"] for li in order["lineItems"]}
    done_qty = _fulfilled_quantities(inst, order_id)
    lines_out: list[dict[str, Any]] = []
    for i, line in enumerate(
        c.array(fulfillment, "lineItems", "fulfillment.lineItems", required=True, min_len=1, max_len=300) or []
    ):
        path = f"fulfillment.lineItems[{i}]"
        if not isinstance(line, dict):
            c.fail(path, "must be an object")
            continue
        line_id = c.text(line, "id", f"{path}.id", required=True, min_len=1)
        quantity = c.integer(line, "quantity", f"{path}.quantity", lo=1, hi=100000)
        if line_id is None:
            continue
        if line_id not in ordered:
            c.fail(f"{path}.id", f"line item {line_id!r} is not on order {order_id}")
            continue
        if any(out["id"] == line_id for out in lines_out):
            c.fail(f"{path}.id", "line item listed twice")
            continue
        left = ordered[line_id] - done_qty.get(line_id, 0)
        wanted = left if quantity is None and "quantity" not in line else quantity
        if wanted is not None and (left == 0 or wanted > left):
            c.fail(f"{path}.quantity", f"only {left} of line item {line_id} left to fulfill")
        elif wanted is not None:
            lines_out.append({"id": line_id, "quantity": wanted})
    c.done("Invalid fulfillment")
    _check_tracking_unique(inst, order_id, fulfillment, None)
    created = {
        **{k: v for k, v in copy.deepcopy(fulfillment).items() if v is not None},
        "id": new_id(),
        "createdDate": clock.iso(),
        "lineItems": lines_out,
    }
    inst.fulfillments[order_id].append(created)
    _refresh_fulfillment_status(inst, clock, order)
    return {"orderWithFulfillments": with_fulfillments(inst, order_id), "fulfillmentId": created["id"]}


def update_fulfillment(inst: Instance, fulfillment_id: str, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    current = _find_fulfillment(inst, fulfillment_id, order_id)
    c = Checker()
    patch = c.obj(body, "fulfillment", "fulfillment", required=True)
    c.done()
    assert patch is not None
    if patch.get("id") not in (None, fulfillment_id):
        c.fail("fulfillment.id", "does not match the fulfillment id in the path")
    _check_fulfillment_fields(c, patch)
    if "lineItems" in patch and patch["lineItems"] != current["lineItems"]:
        c.fail("fulfillment.lineItems", "cannot change line items: delete the fulfillment and create it again")
    c.done("Invalid fulfillment")
    _check_tracking_unique(inst, order_id, patch, fulfillment_id)
    for key, value in patch.items():
        if key in ("id", "createdDate", "lineItems"):
            continue
        if value is None:  # null clears a field
            current.pop(key, None)
        else:
            current[key] = copy.deepcopy(value)
    return {"orderWithFulfillments": with_fulfillments(inst, order_id)}


def delete_fulfillment(inst: Instance, clock: Clock, fulfillment_id: str, order_id: str) -> dict[str, Any]:
    current = _find_fulfillment(inst, fulfillment_id, order_id)
    inst.fulfillments[order_id].remove(current)
    _refresh_fulfillment_status(inst, clock, inst.orders[order_id])
    return {"orderWithFulfillments": with_fulfillments(inst, order_id)}


def _find_fulfillment(inst: Instance, fulfillment_id: str, order_id: str) -> dict[str, Any]:
    inst.get_order(order_id)
    for fulfillment in inst.fulfillments[order_id]:
        if fulfillment["id"] == fulfillment_id:
            return fulfillment
    raise not_found("Fulfillment", fulfillment_id)


def _fulfilled_quantities(inst: Instance, order_id: str) -> dict[str, int]:
    done: dict[str, int] = {}
    for fulfillment in inst.fulfillments[order_id]:
        for line in fulfillment["lineItems"]:
            done[line["id"]] = done.get(line["id"], 0) + line["quantity"]
    return done


def _refresh_fulfillment_status(inst: Instance, clock: Clock, order: dict[str, Any]) -> None:
    """The order's fulfillmentStatus comes from fulfilled quantities, not from the fulfillment status strings."""
    done = _fulfilled_quantities(inst, order["id"])
    if all(done.get(li["id"], 0) >= li["quantity"] for li in order["lineItems"]):
        status = "FULFILLED"
    elif done:
        status = "PARTIALLY_FULFILLED"
    else:
        status = "NOT_FULFILLED"
    if status != order["fulfillmentStatus"]:
        order.update(fulfillmentStatus=status, updatedDate=clock.iso())
