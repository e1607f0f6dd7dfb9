"""Wix eCommerce order JSON (wix-api.md section 1) -> the canonical Order, keeping only Wix Restaurants lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from posbridge import RESTAURANTS_APP_ID
from posbridge.domain.money import Money
from posbridge.domain.order import Address, Buyer, Fulfillment, LineItem, Modifier, Order
from posbridge.errors import PermanentError


def is_restaurant_line(line: dict[str, Any]) -> bool:
    return bool((line.get("catalogReference") or {}).get("appId") == RESTAURANTS_APP_ID)


def restaurant_order(order: dict[str, Any]) -> Order:
    """The canonical order with only the restaurant lines (possibly none). Raises PermanentError if malformed."""
    try:
        currency = _text(order, "currency")
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
            total=_money((order.get("priceSummary") or {}).get("total"), currency),
        )
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


def _money(price: dict[str, Any] | None, currency: str) -> Money | None:
    if not price or price.get("amount") in (None, ""):
        return None
    return Money(amount=Decimal(str(price["amount"])), currency=currency)


def _translated(node: dict[str, Any] | None) -> str | None:
    if not node:
        return None
    return node.get("translated") or node.get("original")


def _line(line: dict[str, Any], currency: str) -> LineItem:
    price = _money(line.get("price"), currency)
    if price is None:
        raise ValueError("line item without price")
    modifiers = tuple(
        Modifier(
            name=_translated(modifier.get("label")) or _translated(modifier.get("details")) or "Modifier",
            quantity=_count(modifier.get("quantity", 1)),
            price=_money(modifier.get("price"), currency),
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


def _fulfillment(shipping: dict[str, Any], recipient: dict[str, Any]) -> Fulfillment | None:
    logistics = shipping.get("logistics") or {}
    slot = (logistics.get("deliveryTimeSlot") or {}).get("from")
    promised_at = datetime.fromisoformat(slot.replace("Z", "+00:00")) if slot else None
    if "pickupDetails" in logistics:
        return Fulfillment(type="PICKUP", promised_at=promised_at, instructions=logistics.get("instructions"))
    destination = logistics.get("shippingDestination")
    if destination:
        # Without pickupDetails, shippingDestination is where the order goes; recipientInfo is the final recipient's
        # address and contact (meta.d.ts Order.recipientInfo), used when the destination carries no address.
        return Fulfillment(
            type="DELIVERY",
            promised_at=promised_at,
            address=_address(destination.get("address")) or _address(recipient.get("address")),
            instructions=logistics.get("instructions"),
        )
    return None
