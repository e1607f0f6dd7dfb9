"""Wix eCommerce order JSON (wix-api.md section 1) -> the canonical Order, keeping only Wix Restaurants lines."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from iso4217 import Currency
from pydantic import ValidationError

from posbridge import RESTAURANTS_APP_ID
from posbridge.domain.events import ORDER_APPROVED, ORDER_CREATED, ORDER_PAYMENT_STATUS_UPDATED
from posbridge.domain.money import Money, minor_digits
from posbridge.domain.order import Address, Buyer, Fulfillment, LineItem, Modifier, Order
from posbridge.domain.order_money import (
    PAYMENT_STATUSES,
    AdditionalFee,
    AppliedDiscount,
    Balance,
    DiscountKind,
    DiscountScope,
    LineDiscount,
    LineMoney,
    OrderMoney,
    PaymentStatus,
    PriceSummary,
    Shipping,
    Tax,
)
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError
from posbridge.ports.wix import WixCancelEvent, WixOrderEvent


def order_event(message: WorkMessage) -> WixOrderEvent:
    """The WixOrderEvents port (ports/wix.py; this module implements it): the order an order_created or
    order_approved work message carries, read as the canonical order."""
    order = _order_json(message)
    return WixOrderEvent(restaurant_order(order), (order.get("channelInfo") or {}).get("type") == "POS")


def order_updated_at(message: WorkMessage) -> str | None:
    """The order's updatedDate as Wix wrote it (WixOrderEvents port)."""
    updated = _order_json(message).get("updatedDate")
    return updated if isinstance(updated, str) else None


def cancel_event(message: WorkMessage) -> WixCancelEvent:
    """The order of an order_canceled or order_payment_status_updated message (WixOrderEvents port); for a payment
    status change, its status and what Wix refunded in all, read as Flow 1 reads an order."""
    order = _cancel_event_order(message)
    if message.event_type != ORDER_PAYMENT_STATUS_UPDATED:
        return WixCancelEvent(order["id"])
    status, refunded = _wix_refund(order)
    return WixCancelEvent(order["id"], status, refunded)


def _wix_refund(order_json: dict[str, Any]) -> tuple[str, int | None]:
    order = restaurant_order(order_json)
    if order.money is None:
        raise PermanentError("invalid_wix_event", "the order carries no payment status or price summary")
    refunded = order.money.balance.refunded if order.money.balance else None
    return order.money.payment_status, refunded.minor_units() if refunded is not None else None


def _cancel_event_order(message: WorkMessage) -> dict[str, Any]:
    body = (message.payload.get("actionEvent") or {}).get("body") or {}
    order = body.get("order") if isinstance(body, dict) else None
    order_id = order.get("id") if isinstance(order, dict) else None
    if not isinstance(order, dict) or not isinstance(order_id, str) or not order_id:
        raise PermanentError("invalid_wix_event", f"{message.event_type} carries no order id")
    if order_id != message.entity_id:
        raise PermanentError("invalid_wix_event", "the event's order is not the event's entity")
    return order


def _order_json(message: WorkMessage) -> dict[str, Any]:
    event = message.payload
    if message.event_type == ORDER_CREATED:
        order = (event.get("createdEvent") or {}).get("entity")
    elif message.event_type == ORDER_APPROVED:
        order = ((event.get("actionEvent") or {}).get("body") or {}).get("order")
    else:
        raise PermanentError("unhandled_event", f"{message.event_type} is not an order export event")
    if not isinstance(order, dict):
        raise PermanentError("invalid_wix_event", f"{message.event_type} carries no order")
    return order


def is_restaurant_line(line: dict[str, Any]) -> bool:
    return bool((line.get("catalogReference") or {}).get("appId") == RESTAURANTS_APP_ID)


def restaurant_order(order: dict[str, Any]) -> Order:
    """The canonical order with only the restaurant lines (possibly none). Raises PermanentError if malformed."""
    try:
        currency = _currency(order)
        return Order(
            id=_text(order, "id"),
            number=order.get("number"),
            status=_text(order, "status"),
            currency=currency,
            line_items=tuple(
                _line(line, currency) for line in order.get("lineItems") or [] if is_restaurant_line(line)
            ),
            buyer=_buyer(order),
            buyer_note=order.get("buyerNote") or None,
            fulfillment=_fulfillment(order.get("shippingInfo") or {}, order.get("recipientInfo") or {}),
            total=_money((order.get("priceSummary") or {}).get("total"), currency, "priceSummary.total"),
            money=order_money(order, currency),
        )
    except InvalidMoney as exc:
        raise PermanentError("invalid_wix_order", f"the Wix order's money cannot be read: {exc}") from exc
    except (ValidationError, InvalidOperation, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PermanentError("invalid_wix_order", f"the Wix order cannot be read: {type(exc).__name__}") from exc


def _text(node: dict[str, Any], key: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing {key}")
    return value


def _count(value: Any) -> int:
    """A whole positive quantity; 2.5 pizzas is refused, not rounded to 2."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 1:
        raise ValueError("quantity must be a positive whole number")
    return int(value)


def _money(price: dict[str, Any] | None, currency: str, path: str = "price") -> Money | None:
    """A Wix `Price` (`{amount: "12.50"}`), or None when absent. Invalid amounts are InvalidMoney naming the field."""
    if not price or price.get("amount") in (None, ""):
        return None
    return Money(amount=_amount(price["amount"], f"{path}.amount", currency), currency=currency)


def _translated(node: dict[str, Any] | None) -> str | None:
    if not node:
        return None
    return node.get("translated") or node.get("original")


def _line(line: dict[str, Any], currency: str) -> LineItem:
    price = _money(line.get("price"), currency, "lineItems[].price")
    if price is None:
        raise ValueError("line item without price")
    modifiers = tuple(
        Modifier(
            name=_translated(modifier.get("label")) or _translated(modifier.get("details")) or "Modifier",
            quantity=_count(modifier.get("quantity", 1)),
            price=_money(modifier.get("price"), currency, "lineItems[].modifierGroups[].modifiers[].price"),
            group_name=_translated(group.get("name")),
            wix_id=_id(modifier.get("id")),
        )
        for group in line.get("modifierGroups") or []
        for modifier in group.get("modifiers") or []
        if modifier.get("quantity", 1) != 0  # a modifier chosen zero times is no modifier
    )
    details = [
        f"{_translated(d.get('name'))}: {_translated(d.get('plainText'))}"
        for d in line.get("descriptionLines") or []
        if d.get("plainText") and d.get("name")
    ]
    # Wix's line price already includes the chosen modifiers; a POS adds modifier prices on top of the base price.
    modifiers_total = sum((m.price.amount * m.quantity for m in modifiers if m.price), Decimal(0))
    if modifiers_total > price.amount:  # inconsistent data: keep the total Wix charged, modifiers free
        modifiers = tuple(m.model_copy(update={"price": None}) for m in modifiers)
        modifiers_total = Decimal(0)
    return LineItem(
        id=_text(line, "id"),
        name=_translated(line.get("productName")) or "Item",
        quantity=_count(line["quantity"]),
        unit_price=Money(amount=price.amount - modifiers_total, currency=currency),
        catalog_item_id=(line.get("catalogReference") or {}).get("catalogItemId"),
        wix_variant_id=_chosen_variant(line.get("catalogReference") or {}),
        variant_name="; ".join(details) or None,
        modifiers=modifiers,
    )


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _chosen_variant(reference: dict[str, Any]) -> str | None:
    """The Wix Restaurants variant (size) the buyer chose: `catalogReference.options.priceVariant.id`.

    Wix documents `options` only as the catalog's free key/value map (@wix/auto_sdk_ecom_orders meta.d.ts
    CatalogReference) and lists operationId, menuId and sectionId for restaurant lines; the variant key is what Wix's
    own restaurant ordering code puts in the cart (`options.priceVariant {id, formattedPrice}`, as Wix's restaurant
    site templates copy it), carried unchanged to the order. Absent: the item is sold in one size only, or the size
    is unknown (README, Flow 1)."""
    options = reference.get("options")
    variant = options.get("priceVariant") if isinstance(options, dict) else None
    return _id(variant.get("id")) if isinstance(variant, dict) else None


def _buyer(order: dict[str, Any]) -> Buyer:
    contact = {
        **((order.get("recipientInfo") or {}).get("contactDetails") or {}),
        **((order.get("billingInfo") or {}).get("contactDetails") or {}),
    }
    return Buyer(
        contact_id=(order.get("buyerInfo") or {}).get("contactId") or None,
        first_name=contact.get("firstName") or None,
        last_name=contact.get("lastName") or None,
        email=(order.get("buyerInfo") or {}).get("email") or None,
        phone=contact.get("phone") or None,
        address=_address((order.get("billingInfo") or {}).get("address")),
    )


def _address(address: dict[str, Any] | None) -> Address | None:
    """Wix's eCommerce `Address` (@wix/auto_sdk_ecom_orders build/cjs/meta.d.ts): `addressLine` (street and number;
    the first line has no number in its name), `addressLine2`, `streetAddress{number, name}`, `city`, `subdivision`
    (ISO 3166-2), `postalCode`, `country` (ISO 3166-1 alpha-2). A street given only as `streetAddress` still makes
    the first line, "number name" (Wix documents no order for the two)."""
    if not address:
        return None
    street = address.get("streetAddress") or {}
    line1 = _clean(address.get("addressLine")) or _clean(
        " ".join(p for p in (_clean(street.get("number")), _clean(street.get("name"))) if p)
    )
    parsed = Address(
        line1=line1,
        line2=_clean(address.get("addressLine2")),
        city=_clean(address.get("city")),
        subdivision=_clean(address.get("subdivision")),
        postal_code=_clean(address.get("postalCode")),
        country=_clean(address.get("country")),
    )
    return parsed if parsed != Address() else None


def _clean(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _instant(value: Any) -> datetime | None:
    """An RFC 3339 time, or None when absent; any other JSON type is a malformed order (TypeError)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"a time slot bound must be a string, got {type(value).__name__}")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _fulfillment(shipping: dict[str, Any], recipient: dict[str, Any]) -> Fulfillment | None:
    logistics = shipping.get("logistics") or {}
    slot = logistics.get("deliveryTimeSlot") or {}
    promised_at = _instant(slot.get("from"))
    window_end = _instant(slot.get("to"))  # meta.d.ts DeliveryTimeSlot {from, to}
    if "pickupDetails" in logistics:
        return Fulfillment(
            type="PICKUP", promised_at=promised_at, window_end=window_end, instructions=logistics.get("instructions")
        )
    destination = logistics.get("shippingDestination")
    if destination:
        # Without pickupDetails, shippingDestination is where the order goes; recipientInfo is the final recipient's
        # address and contact (meta.d.ts Order.recipientInfo), used when the destination carries no address.
        return Fulfillment(
            type="DELIVERY",
            promised_at=promised_at,
            window_end=window_end,
            address=_address(destination.get("address")) or _address(recipient.get("address")),
            instructions=logistics.get("instructions"),
        )
    return None


# --- Money: taxes, discounts, shipping, fees, tip, payment status ---------------------------------------------------
# Field by field from @wix/auto_sdk_ecom_orders build/cjs/meta.d.ts (`Order`, `OrderLineItem`, `LineItemTaxInfo`,
# `AppliedDiscount`, `ShippingPrice`, `AdditionalFee`, `PriceSummary`, `BalanceSummary`); the order object page:
# dev.wix.com/docs/rest/business-solutions/e-commerce/orders/order-object. Tips: "Each tip is applied to an eCommerce
# order as a single additionalFee. The tip's ID is stored in the additionalFee.code field of the order"
# (dev.wix.com/docs/rest/business-solutions/e-commerce/tips/tips/introduction; @wix/auto_sdk_ecom_tips `Tip.id`:
# "Identical to the `code` of the related `order.additionalFee`", @format GUID).


class InvalidMoney(ValueError):
    """An amount, rate or currency Wix would never send: the message names the field and the problem, not values."""


def _currency(order: dict[str, Any]) -> str:
    """`currency` (meta.d.ts `@format CURRENCY`): an ISO 4217 code; an unknown one cannot be priced."""
    code = _text(order, "currency")
    try:
        Currency(code.upper())
    except ValueError:
        raise InvalidMoney("currency: not an ISO 4217 currency code") from None
    return code.upper()


def _decimal(value: Any, path: str) -> Decimal:
    # Wix sends money as decimal strings ("12.50"); a JSON number is read through its text, never as a binary float.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidMoney(f"{path}: not a decimal string")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidMoney(f"{path}: not a decimal string") from None
    if not number.is_finite():
        raise InvalidMoney(f"{path}: not a finite number")
    return number


def _amount(value: Any, path: str, currency: str, *, signed: bool = False) -> Decimal:
    """`Price.amount` (`@decimalValue options { gte:0 }`), or a signed one (`Balance.amount`): no finer than the
    currency's minor unit, because no POS can collect a fraction of a cent."""
    number = _decimal(value, path)
    if number < 0 and not signed:
        raise InvalidMoney(f"{path}: negative")
    if number != number.quantize(Decimal(1).scaleb(-minor_digits(currency))):
        raise InvalidMoney(f"{path}: more decimals than {currency} has")
    return number


def _required(price: Any, path: str, currency: str) -> Money:
    money = _money(price if isinstance(price, dict) else None, currency, path)
    if money is None:
        raise InvalidMoney(f"{path}: missing")
    return money


def _zero(currency: str) -> Money:
    return Money(amount=Decimal(0), currency=currency)


def _tax(node: dict[str, Any] | None, path: str, currency: str, included_default: bool) -> Tax | None:
    """`taxInfo` (LineItemTaxInfo), else the deprecated `taxDetails` (ItemTaxFullDetails: `totalTax`, `taxRate`);
    `taxIncludedInPrice` falls back to the order's `taxIncludedInPrices`."""
    node = node or {}
    info, details = node.get("taxInfo") or {}, node.get("taxDetails") or {}
    if info.get("taxAmount"):
        amount = _required(info["taxAmount"], f"{path}.taxInfo.taxAmount", currency)
        rate_text, taxable = info.get("taxRate"), info.get("taxableAmount")
        rate_path, taxable_path = f"{path}.taxInfo.taxRate", f"{path}.taxInfo.taxableAmount"
    elif details.get("totalTax"):
        amount = _required(details["totalTax"], f"{path}.taxDetails.totalTax", currency)
        rate_text, taxable = details.get("taxRate"), details.get("taxableAmount")
        rate_path, taxable_path = f"{path}.taxDetails.taxRate", f"{path}.taxDetails.taxableAmount"
    else:
        return None
    rate = None if rate_text in (None, "") else _decimal(rate_text, rate_path)
    if rate is not None and rate < 0:  # @decimalValue options { gte:0, maxScale:6 }
        raise InvalidMoney(f"{rate_path}: negative")
    included = info.get("taxIncludedInPrice")
    return Tax(
        amount=amount,
        rate=rate,
        taxable_amount=_money(taxable, currency, taxable_path),
        included_in_price=included if isinstance(included, bool) else included_default,
    )


def _line_money(line: dict[str, Any], index: int, currency: str, included: bool) -> LineMoney:
    path = f"lineItems[{index}]"
    quantity = _count(line.get("quantity"))
    price = _required(line.get("price"), f"{path}.price", currency)
    line_price = _money(line.get("lineItemPrice"), currency, f"{path}.lineItemPrice")
    return LineMoney(
        line_id=_text(line, "id"),
        quantity=quantity,
        unit_price=price,
        # "Defaults to `price` when not provided" (meta.d.ts OrderLineItem.priceBeforeDiscounts)
        unit_price_before_discounts=_money(line.get("priceBeforeDiscounts"), currency, f"{path}.priceBeforeDiscounts")
        or price,
        line_price=line_price or price.times(quantity),
        discount=_money(line.get("totalDiscount"), currency, f"{path}.totalDiscount") or _zero(currency),
        tax=_tax(line, path, currency, included),
        total_before_tax=_money(line.get("totalPriceBeforeTax"), currency, f"{path}.totalPriceBeforeTax"),
        total_after_tax=_money(line.get("totalPriceAfterTax"), currency, f"{path}.totalPriceAfterTax"),
    )


def _any_line_money(line: dict[str, Any], index: int, currency: str, included: bool) -> LineMoney:
    """A restaurant line must read; another app's line that does not is kept as zero (so `differences` names the
    subtotal it leaves out) rather than refusing an order whose restaurant part is sound."""
    try:
        return _line_money(line, index, currency, included)
    except (InvalidMoney, ValueError, TypeError, AttributeError):
        if is_restaurant_line(line):
            raise
        zero = _zero(currency)
        line_id = line["id"] if isinstance(line.get("id"), str) else ""
        return LineMoney(line_id=line_id, quantity=1, unit_price=zero, unit_price_before_discounts=zero,
                         line_price=zero, discount=zero)  # fmt: skip


_DISCOUNT_SOURCES: dict[str, DiscountKind] = {
    "coupon": "COUPON",
    "discountRule": "AUTOMATIC",
    "merchantDiscount": "MERCHANT",
}
_DISCOUNT_SCOPES: tuple[DiscountScope, ...] = ("GLOBAL", "SPECIFIC_ITEMS", "SHIPPING")


def _discount(discount: dict[str, Any], index: int, currency: str) -> AppliedDiscount:
    path = f"appliedDiscounts[{index}]"
    sources = [key for key in _DISCOUNT_SOURCES if discount.get(key)]
    if len(sources) != 1:  # a oneof (AppliedDiscountDiscountSourceOneOf)
        raise InvalidMoney(f"{path}: needs exactly one of coupon, discountRule, merchantDiscount")
    key = sources[0]
    source = discount[key]
    lines = tuple(
        LineDiscount(
            line_id=_text(share, "id"),
            amount=_required(share.get("totalDiscount"), f"{path}.lineItemDiscounts[{i}].totalDiscount", currency),
        )
        for i, share in enumerate(discount.get("lineItemDiscounts") or [])
    )
    amount = _money(source.get("amount"), currency, f"{path}.{key}.amount")
    if amount is None:
        amount = Money(amount=sum((share.amount.amount for share in lines), Decimal(0)), currency=currency)
    if key == "coupon":
        name = source.get("name") or source.get("code")
    elif key == "discountRule":
        name = _translated(source.get("name"))
    else:
        name = source.get("description") or source.get("discountReason")
    scope = discount.get("discountType")
    if scope is not None and scope not in _DISCOUNT_SCOPES:
        raise InvalidMoney(f"{path}.discountType: not a DiscountType")
    return AppliedDiscount(
        id=discount.get("id"),
        kind=_DISCOUNT_SOURCES[key],
        scope=scope,
        name=name or None,
        coupon_code=source.get("code") if key == "coupon" else None,
        amount=amount,
        lines=lines,
    )


def _is_guid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _fee(fee: dict[str, Any], index: int, currency: str, included: bool) -> AdditionalFee:
    path = f"additionalFees[{index}]"
    return AdditionalFee(
        id=fee.get("id"),
        code=fee.get("code"),
        name=fee.get("name") or "Fee",
        price=_required(fee.get("price"), f"{path}.price", currency),
        tax=_tax(fee, path, currency, included),
        price_before_tax=_money(fee.get("priceBeforeTax"), currency, f"{path}.priceBeforeTax"),
        price_after_tax=_money(fee.get("priceAfterTax"), currency, f"{path}.priceAfterTax"),
        source=fee.get("source"),
        provider_app_id=fee.get("providerAppId"),
        line_ids=tuple(fee.get("lineItemIds") or ()),
        # Wix documents no other mark of a tip than its GUID code; a service fee's code is the provider's own text.
        is_tip=_is_guid(fee.get("code")),
    )


def _shipping(shipping: dict[str, Any], currency: str, included: bool) -> Shipping | None:
    cost = shipping.get("cost") or {}
    price = _money(cost.get("price"), currency, "shippingInfo.cost.price")
    if price is None:
        return None
    path = "shippingInfo.cost"
    return Shipping(
        title=shipping.get("title") or None,
        price=price,
        discount=_money(cost.get("discount"), currency, f"{path}.discount"),
        tax=_tax(cost, path, currency, included),
        total_before_tax=_money(cost.get("totalPriceBeforeTax"), currency, f"{path}.totalPriceBeforeTax"),
        total_after_tax=_money(cost.get("totalPriceAfterTax"), currency, f"{path}.totalPriceAfterTax"),
    )


def _payment_status(order: dict[str, Any]) -> PaymentStatus:
    status = order.get("paymentStatus") or "UNSPECIFIED"
    if status not in PAYMENT_STATUSES:
        raise InvalidMoney("paymentStatus: not a Wix payment status")
    return status


def _balance(order: dict[str, Any], currency: str) -> Balance | None:
    summary = order.get("balanceSummary") or {}
    balance = summary.get("balance") or {}
    if balance.get("amount") in (None, ""):
        return None
    return Balance(
        balance=Money(
            amount=_amount(balance["amount"], "balanceSummary.balance.amount", currency, signed=True), currency=currency
        ),
        paid=_money(summary.get("paid"), currency, "balanceSummary.paid"),
        refunded=_money(summary.get("refunded"), currency, "balanceSummary.refunded"),
    )


def order_money(order: dict[str, Any], currency: str | None = None) -> OrderMoney | None:
    """The whole order's money (every line, restaurant or not: the totals are the order's), or None for an order
    without `priceSummary.total`. Raises InvalidMoney on an amount, rate, currency or status Wix would not send."""
    currency = currency or _currency(order)
    summary = order.get("priceSummary") or {}
    total = _money(summary.get("total"), currency, "priceSummary.total")
    if total is None:
        return None
    included = order.get("taxIncludedInPrices") is True

    def part(key: str) -> Money:  # an absent summary part is zero (a Wix order without shipping has none)
        return _money(summary.get(key), currency, f"priceSummary.{key}") or _zero(currency)

    return OrderMoney(
        currency=currency,
        tax_included_in_prices=included,
        payment_status=_payment_status(order),
        lines=tuple(
            _any_line_money(line, i, currency, included) for i, line in enumerate(order.get("lineItems") or [])
        ),
        discounts=tuple(_discount(d, i, currency) for i, d in enumerate(order.get("appliedDiscounts") or [])),
        shipping=_shipping(order.get("shippingInfo") or {}, currency, included),
        fees=tuple(_fee(fee, i, currency, included) for i, fee in enumerate(order.get("additionalFees") or [])),
        summary=PriceSummary(
            subtotal=part("subtotal"),
            shipping=part("shipping"),
            tax=part("tax"),
            discount=part("discount"),
            total=total,
            additional_fees=part("totalAdditionalFees"),
        ),
        balance=_balance(order, currency),
    )
