"""Orders API: create (idempotent), retrieve, sparse update with optimistic concurrency, search; plus POS-app orders.

Orders rung up in the POS app have no `version`: the API cannot update them and they never fire `order.created`.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

from devstack.square_sandbox import catalog
from devstack.square_sandbox import fields as f
from devstack.square_sandbox.addresses import address
from devstack.square_sandbox.errors import (
    ControlNotFound,
    bad_request,
    missing,
    not_found,
    unknown_reference,
    version_mismatch,
)
from devstack.square_sandbox.state import Merchant, new_order_id, new_uid, paginate
from posbridge.pos.square import arithmetic as ar

ORDER_STATES = ("OPEN", "COMPLETED", "CANCELED", "DRAFT")
FULFILLMENT_TYPES = ("PICKUP", "SHIPMENT", "DELIVERY")
FULFILLMENT_STATES = ("PROPOSED", "RESERVED", "PREPARED", "COMPLETED", "CANCELED", "FAILED")
FINAL_ORDER_STATES = ("COMPLETED", "CANCELED")
FINAL_FULFILLMENT_STATES = ("COMPLETED", "CANCELED", "FAILED")
ORDER_MOVES = {"DRAFT": ("OPEN", "CANCELED"), "OPEN": ("COMPLETED", "CANCELED"), "COMPLETED": (), "CANCELED": ()}
DETAILS_KEY = {"PICKUP": "pickup_details", "DELIVERY": "delivery_details", "SHIPMENT": "shipment_details"}
SCHEDULED_AT = {"PICKUP": "pickup_at", "DELIVERY": "deliver_at"}
POS_APP_SOURCE = "Square Point of Sale"
CREATE_SCOPE = "POST /v2/orders"
UPDATE_SCOPE = "PUT /v2/orders/{order_id}"
_QUANTITY = re.compile(r"^\d{1,12}(\.\d{1,5})?$")
_PERCENTAGE = re.compile(r"^\d{1,6}(\.\d{1,6})?$")  # "7.25" is 7.25% (OrderLineItemTax.percentage)
TAX_TYPES = ("ADDITIVE", "INCLUSIVE")
DISCOUNT_TYPES = ("FIXED_PERCENTAGE", "FIXED_AMOUNT")
SCOPES = ("ORDER", "LINE_ITEM")
CALCULATION_PHASES = (ar.SUBTOTAL_PHASE, ar.TOTAL_PHASE, *ar.APPORTIONED_PHASES)
# what each kind of adjustment is called on the order, in a line's `applied_*` list, and in that list's references
ADJUSTMENTS = {
    "taxes": ("applied_taxes", "tax_uid"),
    "discounts": ("applied_discounts", "discount_uid"),
    "service_charges": ("applied_service_charges", "service_charge_uid"),
}
_CLEAR_SEGMENT = re.compile(r"^(\w+)(?:\[([^\]]+)\])?$")


# ---- building an order from a request ------------------------------------------------------------------------------


def _quantity(raw: dict[str, Any], field: str) -> str:
    if raw.get("quantity") is None:
        raise missing(field)
    value = f.opt_str(raw, "quantity", field)
    if value is None or not _QUANTITY.match(value) or Decimal(value) <= 0:
        raise bad_request(
            "INVALID_VALUE", f'`{field}` must be a positive decimal string such as "2"; got {value!r}.', field
        )
    return value


def _by_uid(items: list[Any] | None) -> dict[str, dict[str, Any]]:
    return {i["uid"]: i for i in items or [] if isinstance(i, dict) and isinstance(i.get("uid"), str)}


def _modifier(m: Merchant, raw: Any, field: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    raw = f.as_object(raw, field)
    modifier: dict[str, Any] = {"uid": f.opt_str(raw, "uid", f"{field}.uid", 60) or new_uid()}
    quantity = _quantity(raw, f"{field}.quantity") if raw.get("quantity") is not None else "1"
    catalog_id = f.opt_str(raw, "catalog_object_id", f"{field}.catalog_object_id")
    if catalog_id and previous is not None and previous.get("catalog_object_id") == catalog_id:
        modifier.update({k: previous[k] for k in ("catalog_object_id", "catalog_version", "name", "base_price_money")})
    elif catalog_id:
        found = catalog.live(m, catalog_id, "MODIFIER")
        if found is None:
            raise unknown_reference(f"Modifier `{catalog_id}` not found.", f"{field}.catalog_object_id")
        data = found["modifier_data"]
        price = data.get("price_money") or {"amount": 0, "currency": m.currency}
        if raw.get("base_price_money") is not None:
            # "If both catalog_object_id and base_price_money are set, base_price_money will override the predefined
            # CatalogModifier price" (squareup square/types/order_line_item_modifier.py).
            price = f.money(raw["base_price_money"], f"{field}.base_price_money", m.currency)
        modifier.update(
            catalog_object_id=catalog_id, catalog_version=found["version"], name=data["name"], base_price_money=price
        )
    else:
        modifier["name"] = f.req_str(raw, "name", f"{field}.name", 255)
        if raw.get("base_price_money") is None:
            raise missing(f"{field}.base_price_money")
        modifier["base_price_money"] = f.money(raw["base_price_money"], f"{field}.base_price_money", m.currency)
    modifier["quantity"] = quantity
    return modifier


def _line_item(m: Merchant, raw: Any, field: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    """A line priced from the catalog (price frozen once the line exists) or an ad-hoc line with its own price."""
    raw = f.as_object(raw, field)
    line: dict[str, Any] = {
        "uid": f.opt_str(raw, "uid", f"{field}.uid", 60) or new_uid(),
        "quantity": _quantity(raw, f"{field}.quantity"),
    }
    catalog_id = f.opt_str(raw, "catalog_object_id", f"{field}.catalog_object_id")
    if catalog_id and previous is not None and previous.get("catalog_object_id") == catalog_id:
        line.update(
            {
                k: previous[k]
                for k in ("catalog_object_id", "catalog_version", "name", "variation_name", "base_price_money")
                if k in previous
            }
        )
    elif catalog_id:
        variation = catalog.live(m, catalog_id, "ITEM_VARIATION")
        item = catalog.live(m, variation["item_variation_data"]["item_id"], "ITEM") if variation else None
        if variation is None or item is None:
            raise unknown_reference(f"Item variation `{catalog_id}` not found.", f"{field}.catalog_object_id")
        price = catalog.variation_price(m, variation)
        if raw.get("base_price_money") is not None:
            # "base_price_money is required for ad hoc line items and variable priced CatalogItemVariations. If both
            # catalog_object_id and base_price_money are set, base_price_money will override the
            # CatalogItemVariation's price" (Square's CreateOrderRequestLineItem reference,
            # square/connect-ruby-sdk docs/CreateOrderRequestLineItem.md; squareup's OrderLineItem is silent).
            price = f.money(raw["base_price_money"], f"{field}.base_price_money", m.currency)
        elif price is None:  # VARIABLE_PRICING: the seller names the price on the order
            raise missing(f"{field}.base_price_money")
        line.update(
            catalog_object_id=catalog_id,
            catalog_version=variation["version"],
            name=item["item_data"]["name"],
            variation_name=variation["item_variation_data"].get("name", ""),
            base_price_money=price,
        )
    else:
        line["name"] = f.req_str(raw, "name", f"{field}.name", 512)
        if raw.get("base_price_money") is None:
            raise missing(f"{field}.base_price_money")
        line["base_price_money"] = f.money(raw["base_price_money"], f"{field}.base_price_money", m.currency)
        variation_name = f.opt_str(raw, "variation_name", f"{field}.variation_name", 400)
        if variation_name is not None:
            line["variation_name"] = variation_name
    note = f.opt_str(raw, "note", f"{field}.note", 2000)
    if note is not None:
        line["note"] = note
    earlier = _by_uid(previous.get("modifiers") if previous else None)
    modifiers = []
    for k, value in enumerate(f.opt_list(raw, "modifiers", f"{field}.modifiers")):
        uid = value.get("uid") if isinstance(value, dict) else None
        modifiers.append(
            _modifier(m, value, f"{field}.modifiers[{k}]", earlier.get(uid) if isinstance(uid, str) else None)
        )
    if modifiers:
        line["modifiers"] = modifiers
    for list_key, ref_key in ADJUSTMENTS.values():
        refs = []
        for k, value in enumerate(f.opt_list(raw, list_key, f"{field}.{list_key}")):
            at = f"{field}.{list_key}[{k}]"
            value = f.as_object(value, at)
            ref = {"uid": f.opt_str(value, "uid", f"{at}.uid", 60) or new_uid()}
            ref[ref_key] = f.req_str(value, ref_key, f"{at}.{ref_key}", 60)
            refs.append(ref)
        if refs:
            line[list_key] = refs
    return line


def _recipient(details: dict[str, Any], field: str) -> dict[str, Any]:
    recipient = f.req_object(details, "recipient", f"{field}.recipient")
    if recipient.get("customer_id") is None:
        f.req_str(recipient, "display_name", f"{field}.recipient.display_name", 255)
    for key in ("display_name", "email_address", "customer_id"):
        f.opt_str(recipient, key, f"{field}.recipient.{key}", 255)
    # Square's generated reference (square-php-sdk doc/models/fulfillment-recipient.md): phone_number at most 17.
    f.opt_str(recipient, "phone_number", f"{field}.recipient.phone_number", 17)
    address(recipient, "address", f"{field}.recipient.address")
    return copy.deepcopy(recipient)


def _fulfillment(raw: Any, field: str) -> dict[str, Any]:
    raw = f.as_object(raw, field)
    if raw.get("type") is None:
        raise missing(f"{field}.type")
    kind = f.enum(raw["type"], FULFILLMENT_TYPES, f"{field}.type")
    fulfillment: dict[str, Any] = {
        "uid": f.opt_str(raw, "uid", f"{field}.uid", 60) or new_uid(),
        "type": kind,
        "state": f.enum(raw.get("state", "PROPOSED"), FULFILLMENT_STATES, f"{field}.state"),
    }
    key = DETAILS_KEY[kind]
    details = copy.deepcopy(f.req_object(raw, key, f"{field}.{key}"))
    details["recipient"] = _recipient(details, f"{field}.{key}")
    if kind in SCHEDULED_AT:
        details["schedule_type"] = f.enum(
            details.get("schedule_type", "SCHEDULED"), ("SCHEDULED", "ASAP"), f"{field}.{key}.schedule_type"
        )
        at = SCHEDULED_AT[kind]
        if details.get(at) is not None or details["schedule_type"] == "SCHEDULED":
            if details.get(at) is None:
                raise missing(f"{field}.{key}.{at}")
            f.rfc3339(details[at], f"{field}.{key}.{at}")
    f.opt_str(details, "note", f"{field}.{key}.note", 550)
    fulfillment[key] = details
    return fulfillment


def _percentage(raw: dict[str, Any], field: str, maximum: Decimal | None = None) -> Decimal:
    value = f.req_str(raw, "percentage", field)
    if not _PERCENTAGE.match(value):
        raise bad_request("INVALID_VALUE", f'`{field}` must be a decimal string such as "7.25"; got {value!r}.', field)
    if maximum is not None and Decimal(value) > maximum:
        raise bad_request("VALUE_TOO_HIGH", f"`{field}` must be at most {maximum}.", field)
    return Decimal(value)


def _adjustment_base(raw: Any, field: str, kind: str) -> dict[str, Any]:
    """uid, name; a catalog reference is refused: the sandbox's catalog has no taxes, discounts or charges."""
    raw = f.as_object(raw, field)
    if raw.get("catalog_object_id") is not None:
        raise unknown_reference(
            f"{kind} `{raw['catalog_object_id']}` not found (the sandbox's catalog has no taxes, discounts or "
            "service charges: only ad hoc ones are modeled).",
            f"{field}.catalog_object_id",
        )
    out: dict[str, Any] = {"uid": f.opt_str(raw, "uid", f"{field}.uid", 60) or new_uid()}
    name = f.opt_str(raw, "name", f"{field}.name", 255)
    if name is not None:
        out["name"] = name
    return out


def _exactly_one(raw: dict[str, Any], field: str) -> None:
    """ "Exactly 1 of percentage or amount_money should be set" (square/types/order_service_charge.py); a discount's
    type decides which one it has (order_line_item_discount.py: "percentage is not set for amount-based
    discounts", "amount_money is not set for percentage-based discounts")."""
    if (raw.get("percentage") is None) == (raw.get("amount_money") is None):
        raise bad_request("INVALID_VALUE", f"Set exactly one of `percentage` or `amount_money` on `{field}`.", field)


def _tax(raw: Any, field: str) -> dict[str, Any]:
    """An ad hoc tax: `type` ADDITIVE or INCLUSIVE, a `percentage`, `scope` ORDER or LINE_ITEM
    (developer.squareup.com/docs/orders-api/apply-taxes-and-discounts)."""
    tax = _adjustment_base(raw, field, "Tax")
    tax["type"] = f.enum(raw.get("type"), TAX_TYPES, f"{field}.type")
    tax["percentage"] = str(_percentage(raw, f"{field}.percentage"))
    tax["scope"] = f.enum(raw.get("scope"), SCOPES, f"{field}.scope")
    return tax


def _discount(raw: Any, field: str, currency: str) -> dict[str, Any]:
    """ "Discounts that do not reference a catalog object ID must have a type of FIXED_PERCENTAGE or FIXED_AMOUNT"
    (square/types/order_line_item_discount.py)."""
    discount = _adjustment_base(raw, field, "Discount")
    discount["type"] = f.enum(raw.get("type"), DISCOUNT_TYPES, f"{field}.type")
    _exactly_one(raw, field)
    if discount["type"] == "FIXED_PERCENTAGE":
        discount["percentage"] = str(_percentage(raw, f"{field}.percentage", Decimal(100)))
    elif raw.get("amount_money") is None:
        raise missing(f"{field}.amount_money")
    else:
        discount["amount_money"] = f.money(raw["amount_money"], f"{field}.amount_money", currency)
    discount["scope"] = f.enum(raw.get("scope"), SCOPES, f"{field}.scope")
    return discount


def _service_charge(raw: Any, field: str, currency: str, taxes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The phase rules of developer.squareup.com/docs/orders-api/service-charges ("Phase limitations": a wrong phase
    is a 400): SUBTOTAL_PHASE and TOTAL_PHASE are order-level charges, TOTAL_PHASE never taxable; the apportioned
    phases need APPORTIONED_TREATMENT, the amount phase an `amount_money`, the percentage phase a `percentage`."""
    charge = _adjustment_base(raw, field, "Service charge")
    _exactly_one(raw, field)
    if raw.get("percentage") is not None:
        charge["percentage"] = str(_percentage(raw, f"{field}.percentage"))
    else:
        charge["amount_money"] = f.money(raw["amount_money"], f"{field}.amount_money", currency)
    if raw.get("calculation_phase") is None:
        raise missing(f"{field}.calculation_phase")
    phase = charge["calculation_phase"] = f.enum(
        raw["calculation_phase"], CALCULATION_PHASES, f"{field}.calculation_phase"
    )
    taxable = bool(f.opt_bool(raw, "taxable", f"{field}.taxable"))
    charge["taxable"] = taxable
    if taxable and phase == ar.TOTAL_PHASE:
        raise bad_request("BAD_REQUEST", "A TOTAL_PHASE service charge cannot be taxable.", f"{field}.taxable")
    treatment = raw.get("treatment_type")
    if phase in ar.APPORTIONED_PHASES:
        if treatment != "APPORTIONED_TREATMENT":
            raise bad_request(
                "BAD_REQUEST", f"A {phase} service charge needs APPORTIONED_TREATMENT.", f"{field}.treatment_type"
            )
        wanted = "percentage" if phase == ar.APPORTIONED_PERCENTAGE_PHASE else "amount_money"
        if wanted not in charge:
            raise bad_request("BAD_REQUEST", f"A {phase} service charge needs `{wanted}`.", field)
        charge["treatment_type"] = treatment
        charge["scope"] = f.enum(raw.get("scope", "ORDER"), SCOPES, f"{field}.scope")
    else:
        if treatment == "APPORTIONED_TREATMENT" or raw.get("scope") == "LINE_ITEM":
            raise bad_request(
                "BAD_REQUEST", f"A {phase} service charge cannot apply at the line-item level.", f"{field}.scope"
            )
        if treatment is not None:
            charge["treatment_type"] = treatment
    refs = []
    for k, value in enumerate(f.opt_list(raw, "applied_taxes", f"{field}.applied_taxes")):
        at = f"{field}.applied_taxes[{k}]"
        value = f.as_object(value, at)
        tax_uid = f.req_str(value, "tax_uid", f"{at}.tax_uid", 60)
        if tax_uid not in taxes:
            raise bad_request("INVALID_VALUE", f"`{at}.tax_uid` names no tax of the order.", f"{at}.tax_uid")
        if not (taxable and phase == ar.SUBTOTAL_PHASE):
            raise bad_request("BAD_REQUEST", "Only a taxable SUBTOTAL_PHASE service charge takes taxes.", at)
        refs.append({"uid": f.opt_str(value, "uid", f"{at}.uid", 60) or new_uid(), "tax_uid": tax_uid})
    if refs:
        charge["applied_taxes"] = refs
    return charge


def _adjustments(raw: dict[str, Any], currency: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The order's taxes, discounts and service charges by uid (uids unique within each list)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    taxes = [_tax(v, f"order.taxes[{k}]") for k, v in enumerate(f.opt_list(raw, "taxes", "order.taxes"))]
    found["taxes"] = _unique(taxes, "taxes")
    discounts = f.opt_list(raw, "discounts", "order.discounts")
    found["discounts"] = _unique(
        [_discount(v, f"order.discounts[{k}]", currency) for k, v in enumerate(discounts)], "discounts"
    )
    charges = f.opt_list(raw, "service_charges", "order.service_charges")
    found["service_charges"] = _unique(
        [_service_charge(v, f"order.service_charges[{k}]", currency, found["taxes"]) for k, v in enumerate(charges)],
        "service_charges",
    )
    return found


def _unique(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    by_uid = {i["uid"]: i for i in items}
    if len(by_uid) != len(items):
        raise bad_request("INVALID_VALUE", f"Each of `order.{key}` needs a unique uid.", f"order.{key}")
    return by_uid


def _drop_automatic_references(
    lines: list[dict[str, Any]], previous: dict[str, Any], found: dict[str, dict[str, dict[str, Any]]]
) -> None:
    """An ORDER-scoped adjustment removed by an update takes the references Square created for it along."""
    for kind, (list_key, ref_key) in ADJUSTMENTS.items():
        gone = {a["uid"] for a in previous.get(kind, []) if a.get("scope", "ORDER") == "ORDER"} - set(found[kind])
        for line in lines:
            kept = [r for r in line.get(list_key, []) if r[ref_key] not in gone]
            if kept:
                line[list_key] = kept
            else:
                line.pop(list_key, None)


def _check_references(lines: list[dict[str, Any]], found: dict[str, dict[str, dict[str, Any]]]) -> None:
    """A line's applied_* must name an adjustment of the order; LINE_ITEM-scoped ones apply only where listed."""
    for k, line in enumerate(lines):
        for kind, (list_key, ref_key) in ADJUSTMENTS.items():
            for j, ref in enumerate(line.get(list_key, [])):
                if ref[ref_key] not in found[kind]:
                    at = f"order.line_items[{k}].{list_key}[{j}].{ref_key}"
                    raise bad_request("INVALID_VALUE", f"`{at}` names nothing in the order's `{kind}`.", at)
                if kind == "service_charges" and found[kind][ref[ref_key]].get("treatment_type") != (
                    "APPORTIONED_TREATMENT"
                ):
                    at = f"order.line_items[{k}].{list_key}[{j}]"
                    raise bad_request("BAD_REQUEST", "Only apportioned service charges apply to line items.", at)


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def _price(order: dict[str, Any], found: dict[str, dict[str, dict[str, Any]]], currency: str) -> None:
    """Run Square's arithmetic (arithmetic.py) and fill every amount Square computes on the order."""
    lines = order.get("line_items", [])
    taxes, discounts, charges = found["taxes"], found["discounts"], found["service_charges"]
    totals = ar.compute_wire(lines, taxes.values(), discounts.values(), charges.values())
    for line, line_totals in zip(lines, totals.lines, strict=True):
        for modifier, modifier_total in zip(line.get("modifiers", []), line_totals.modifier_totals, strict=True):
            modifier["total_price_money"] = _money(modifier_total, currency)
        # ORDER-scoped adjustments are referenced on every line automatically (square/types/order_line_item.py)
        automatic = {
            "taxes": [u for u, t in taxes.items() if t["scope"] == "ORDER"],
            "discounts": [u for u, d in discounts.items() if d["scope"] == "ORDER"],
            "service_charges": [
                u
                for u, c in charges.items()
                if c.get("treatment_type") == "APPORTIONED_TREATMENT" and c["scope"] == "ORDER"
            ],
        }
        applied = {
            "taxes": line_totals.taxes,
            "discounts": line_totals.discounts,
            "service_charges": line_totals.service_charges,
        }
        for kind, (list_key, ref_key) in ADJUSTMENTS.items():
            refs = list(line.get(list_key, []))
            listed = {r[ref_key] for r in refs}
            refs += [{"uid": new_uid(), ref_key: u} for u in automatic[kind] if u not in listed]
            for ref in refs:
                ref["applied_money"] = _money(applied[kind].get(ref[ref_key], 0), currency)
            if refs:
                line[list_key] = refs
        line["variation_total_price_money"] = _money(line_totals.variation_total, currency)
        line["gross_sales_money"] = _money(line_totals.gross, currency)
        line["total_tax_money"] = _money(line_totals.total_tax, currency)
        line["total_discount_money"] = _money(line_totals.total_discount, currency)
        line["total_service_charge_money"] = _money(line_totals.total_service_charge, currency)
        line["total_money"] = _money(line_totals.total, currency)
    for uid, tax in taxes.items():
        tax["applied_money"] = _money(totals.taxes[uid], currency)
    for uid, discount in discounts.items():
        discount["applied_money"] = _money(totals.discounts[uid], currency)
    for uid, charge in charges.items():
        charge_totals = totals.charges[uid]
        if charge["taxable"] and charge["calculation_phase"] == ar.SUBTOTAL_PHASE:
            refs = list(charge.get("applied_taxes", []))
            listed = {r["tax_uid"] for r in refs}
            refs += [
                {"uid": new_uid(), "tax_uid": u} for u, t in taxes.items() if t["scope"] == "ORDER" and u not in listed
            ]
            for ref in refs:
                ref["applied_money"] = _money(charge_totals.taxes.get(ref["tax_uid"], 0), currency)
            if refs:
                charge["applied_taxes"] = refs
        charge["applied_money"] = _money(charge_totals.applied, currency)
        charge["total_tax_money"] = _money(charge_totals.total_tax, currency)
        charge["total_money"] = _money(charge_totals.total, currency)
    for key, items in (("taxes", taxes), ("discounts", discounts), ("service_charges", charges)):
        if items:
            order[key] = list(items.values())
        else:
            order.pop(key, None)
    # tips arrive with the payments (PayOrder): "the total amount of tip money to collect for the order"
    tip = sum(t.get("tip_money", {}).get("amount", 0) for t in order.get("tenders", []))
    paid = sum(t["amount_money"]["amount"] + t.get("tip_money", {}).get("amount", 0) for t in order.get("tenders", []))
    total = totals.total + tip
    order["total_money"] = _money(total, currency)
    order["total_tax_money"] = _money(totals.total_tax, currency)
    order["total_discount_money"] = _money(totals.total_discount, currency)
    order["total_tip_money"] = _money(tip, currency)
    order["total_service_charge_money"] = _money(totals.total_service_charge, currency)
    order["net_amounts"] = {
        "total_money": _money(total, currency),
        "tax_money": _money(totals.total_tax, currency),
        "discount_money": _money(totals.total_discount, currency),
        "tip_money": _money(tip, currency),
        "service_charge_money": _money(totals.total_service_charge, currency),
    }
    order["net_amount_due_money"] = _money(max(total - paid, 0), currency)


def _build(m: Merchant, raw: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Validate an order (a create request, or the previous order merged with an update) and compute its totals."""
    location_id = f.req_str(raw, "location_id", "order.location_id")
    if location_id != m.location_id:
        raise unknown_reference(f"Location `{location_id}` not found.", "order.location_id")
    order: dict[str, Any] = {"location_id": location_id}
    for key, max_len in (("reference_id", 40), ("ticket_name", 30)):
        value = f.opt_str(raw, key, f"order.{key}", max_len)
        if value is not None:
            order[key] = value
    source = f.opt_object(raw, "source", "order.source")
    if source and f.opt_str(source, "name", "order.source.name", 255):
        order["source"] = {"name": source["name"]}
    customer_id = f.opt_str(raw, "customer_id", "order.customer_id", 191)
    if customer_id is not None:
        if customer_id not in m.customers:
            raise unknown_reference(f"Customer `{customer_id}` not found.", "order.customer_id")
        order["customer_id"] = customer_id
    order["state"] = f.enum(raw.get("state", "OPEN"), ORDER_STATES, "order.state")

    earlier_lines = _by_uid(previous.get("line_items") if previous else None)
    lines = []
    for k, value in enumerate(f.opt_list(raw, "line_items", "order.line_items")):
        uid = value.get("uid") if isinstance(value, dict) else None
        lines.append(
            _line_item(m, value, f"order.line_items[{k}]", earlier_lines.get(uid) if isinstance(uid, str) else None)
        )
    fulfillments = [
        _fulfillment(v, f"order.fulfillments[{k}]")
        for k, v in enumerate(f.opt_list(raw, "fulfillments", "order.fulfillments"))
    ]
    for key, items in (("line_items", lines), ("fulfillments", fulfillments)):
        uids = [i["uid"] for i in items]
        if len(set(uids)) != len(uids):
            raise bad_request("INVALID_VALUE", f"Each of `order.{key}` needs a unique uid.", f"order.{key}")
        if items:
            order[key] = items

    found = _adjustments(raw, m.currency)
    if previous is not None:
        _drop_automatic_references(lines, previous, found)
    _check_references(lines, found)
    if previous is not None and previous.get("tenders"):
        order["tenders"] = copy.deepcopy(previous["tenders"])
    _price(order, found, m.currency)
    return order


# ---- events --------------------------------------------------------------------------------------------------------


def _summary(order: dict[str, Any], *keys: str) -> dict[str, Any]:
    summary = {"order_id": order["id"], "location_id": order["location_id"], "state": order["state"]}
    if "version" in order:  # POS-app orders have none
        summary["version"] = order["version"]
    summary.update({k: order[k] for k in keys})
    return summary


def _emit_changes(m: Merchant, previous: dict[str, Any], order: dict[str, Any]) -> None:
    earlier = _by_uid(previous.get("fulfillments"))
    changes = []
    for fulfillment in order.get("fulfillments", []):
        before = earlier.get(fulfillment["uid"])
        if before is None:
            changes.append({"fulfillment_uid": fulfillment["uid"], "new_state": fulfillment["state"]})
        elif before["state"] != fulfillment["state"]:
            changes.append(
                {"fulfillment_uid": fulfillment["uid"], "old_state": before["state"], "new_state": fulfillment["state"]}
            )
    if changes:
        updated = _summary(order, "created_at", "updated_at") | {"fulfillment_update": changes}
        m.emit(
            "order.fulfillment.updated",
            "order",
            order["id"],
            {"order_fulfillment_updated": updated},
        )
    m.emit("order.updated", "order", order["id"], {"order_updated": _summary(order, "created_at", "updated_at")})


def _save_change(m: Merchant, previous: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    """Store a changed order: new version (API orders only), timestamps, then the webhooks Square would send."""
    order = {"id": previous["id"], **order, "created_at": previous["created_at"], "updated_at": m.now()}
    if "version" in previous:
        order["version"] = previous["version"] + 1
    if order["state"] in FINAL_ORDER_STATES:
        order["closed_at"] = previous.get("closed_at", order["updated_at"])
    m.orders[order["id"]] = order
    _emit_changes(m, previous, order)
    return order


def _check_moves(previous: dict[str, Any], order: dict[str, Any]) -> None:
    if order["state"] != previous["state"] and order["state"] not in ORDER_MOVES[previous["state"]]:
        raise bad_request(
            "INVALID_VALUE", f"An order cannot move from {previous['state']} to {order['state']}.", "order.state"
        )
    earlier = _by_uid(previous.get("fulfillments"))
    for k, fulfillment in enumerate(order.get("fulfillments", [])):
        before = earlier.get(fulfillment["uid"])
        if before is not None and not _fulfillment_move_ok(before["state"], fulfillment["state"]):
            raise bad_request(
                "INVALID_VALUE",
                f"A fulfillment cannot move from {before['state']} to {fulfillment['state']}.",
                f"order.fulfillments[{k}].state",
            )


def _fulfillment_move_ok(old: str, new: str) -> bool:
    """Forward only (PROPOSED -> RESERVED -> PREPARED -> COMPLETED); CANCELED / FAILED from any open state."""
    if old == new:
        return True
    if old in FINAL_FULFILLMENT_STATES:
        return False
    return new in FINAL_FULFILLMENT_STATES or FULFILLMENT_STATES.index(new) > FULFILLMENT_STATES.index(old)


def _cancel_fulfillments(order: dict[str, Any]) -> None:
    for fulfillment in order.get("fulfillments", []):
        if fulfillment["state"] not in FINAL_FULFILLMENT_STATES:
            fulfillment["state"] = "CANCELED"


# ---- API -----------------------------------------------------------------------------------------------------------


def _new_order(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    """An order as CreateOrder would make it (CalculateOrder "takes the same request body as CreateOrder",
    developer.squareup.com/docs/orders-api/price-adjustments)."""
    raw = f.req_object(body, "order", "order")
    if len(f.opt_list(raw, "fulfillments", "order.fulfillments")) > 1:
        raise bad_request(
            "ARRAY_LENGTH_TOO_LONG", "An order can be created with at most one fulfillment.", "order.fulfillments"
        )
    order = _build(m, raw, None)
    if order["state"] not in ("OPEN", "DRAFT"):
        raise bad_request("INVALID_VALUE", "A new order must be OPEN or DRAFT.", "order.state")
    return order


def calculate(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    """CalculateOrder: the same arithmetic, nothing stored, no webhook."""
    if f.opt_list(body, "proposed_rewards", "proposed_rewards"):
        raise bad_request("BAD_REQUEST", "The sandbox models no loyalty rewards.", "proposed_rewards")
    return {"order": _new_order(m, body)}


def create(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    key = f.req_str(body, "idempotency_key", "idempotency_key", 192)
    replayed = m.replay(CREATE_SCOPE, key, body)
    if replayed is not None:
        return replayed[1]
    order = _new_order(m, body)
    now = m.now()
    order = {"id": new_order_id(), **order, "version": 1, "created_at": now, "updated_at": now}
    m.orders[order["id"]] = order
    m.emit("order.created", "order", order["id"], {"order_created": _summary(order, "created_at")})
    response = {"order": copy.deepcopy(order)}
    m.remember(CREATE_SCOPE, key, body, 200, response)
    return response


def retrieve(m: Merchant, order_id: str) -> dict[str, Any]:
    order = m.orders.get(order_id)
    if order is None:
        raise not_found(f"Order `{order_id}` not found.")
    return {"order": copy.deepcopy(order)}


def batch_retrieve(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    location_id = f.opt_str(body, "location_id", "location_id")
    if location_id is not None and location_id != m.location_id:
        raise unknown_reference(f"Location `{location_id}` not found.", "location_id")
    ids = f.opt_list(body, "order_ids", "order_ids")
    if not ids:
        raise missing("order_ids")
    if len(ids) > 100:
        raise bad_request("ARRAY_LENGTH_TOO_LONG", "At most 100 order ids per request.", "order_ids")
    orders = [copy.deepcopy(m.orders[i]) for i in dict.fromkeys(ids) if isinstance(i, str) and i in m.orders]
    return {"orders": orders} if orders else {}


def update(m: Merchant, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    previous = m.orders.get(order_id)
    if previous is None:
        raise not_found(f"Order `{order_id}` not found.")
    key = f.opt_str(body, "idempotency_key", "idempotency_key", 192)
    request = {"order_id": order_id, "body": body}
    if key:
        replayed = m.replay(UPDATE_SCOPE, key, request)
        if replayed is not None:
            return replayed[1]
    if "version" not in previous:
        raise bad_request(
            "BAD_REQUEST",
            "Orders created in the Square Point of Sale app cannot be updated through the API.",
            "order_id",
        )
    patch = f.opt_object(body, "order", "order") or {}
    clear = f.opt_list(body, "fields_to_clear", "fields_to_clear")
    if not patch and not clear:
        raise missing("order")
    version = f.opt_int(patch, "version", "order.version")
    if version is None:
        raise missing("order.version")
    if version != previous["version"]:
        raise version_mismatch(
            f"Supplied version {version} does not match the current version {previous['version']} of order {order_id}.",
            "order.version",
        )
    if previous["state"] in FINAL_ORDER_STATES:
        raise bad_request("BAD_REQUEST", f"A {previous['state']} order cannot be updated.", "order.state")
    if patch.get("id", order_id) != order_id:
        raise bad_request("INVALID_VALUE", "`order.id` does not match the order being updated.", "order.id")

    merged = _merge(previous, patch)
    for k, path in enumerate(clear):
        _clear(merged, path, f"fields_to_clear[{k}]")
    order = _build(m, merged, previous)
    _check_moves(previous, order)
    _check_paid_rules(previous, order)
    if order["state"] == "CANCELED":
        _cancel_fulfillments(order)
    response = {"order": copy.deepcopy(_save_change(m, previous, order))}
    if key:
        m.remember(UPDATE_SCOPE, key, request, 200, response)
    return response


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Sparse update: objects merge field by field, arrays of objects merge by `uid` (unknown uids are added)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, list) and isinstance(out.get(key), list):
            existing = _by_uid(out[key])
            for element in value:
                uid = element.get("uid") if isinstance(element, dict) else None
                if isinstance(uid, str) and uid in existing:
                    existing[uid].update(_merge(existing[uid], element))
                else:
                    out[key].append(copy.deepcopy(element))
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _clear(order: dict[str, Any], path: Any, field: str) -> None:
    """`fields_to_clear` paths such as `reference_id`, `line_items[uid].note` or `fulfillments[uid]`."""
    if not isinstance(path, str):
        raise bad_request("EXPECTED_STRING", "Expected a field path.", field)
    segments = [_CLEAR_SEGMENT.match(s) for s in path.split(".")]
    names = [s.groups() for s in segments if s is not None]
    if len(names) != len(segments) or names[0][0] in ("id", "location_id", "state", "version"):
        raise bad_request("INVALID_VALUE", f"`{path}` cannot be cleared.", field)
    target: dict[str, Any] = order
    for i, (name, uid) in enumerate(names):
        last = i == len(names) - 1
        if uid is None:
            if last:
                target.pop(name, None)
                return
            child = target.get(name)
        else:
            found = target.get(name)
            items: list[Any] = found if isinstance(found, list) else []
            index = next((n for n, item in enumerate(items) if isinstance(item, dict) and item.get("uid") == uid), None)
            if index is None:
                raise bad_request("INVALID_VALUE", f"No element with uid `{uid}` in `{name}`.", field)
            if last:
                items.pop(index)
                return
            child = items[index]
        if not isinstance(child, dict):
            return  # nothing there to clear
        target = child


def search(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    locations = f.opt_list(body, "location_ids", "location_ids")
    if not locations:
        raise missing("location_ids")
    for k, location_id in enumerate(locations):
        if location_id != m.location_id:
            raise unknown_reference(f"Location `{location_id}` not found.", f"location_ids[{k}]")
    query = f.opt_object(body, "query", "query") or {}
    where = f.opt_object(query, "filter", "query.filter") or {}
    unsupported = set(where) - {"date_time_filter", "state_filter"}
    if unsupported:
        raise bad_request(
            "BAD_REQUEST",
            f"The sandbox supports date_time_filter and state_filter only, not {sorted(unsupported)}.",
            "query.filter",
        )
    orders = list(m.orders.values())

    states = f.opt_object(where, "state_filter", "query.filter.state_filter")
    if states is not None:
        wanted = f.opt_list(states, "states", "query.filter.state_filter.states")
        if not wanted:
            raise missing("query.filter.state_filter.states")
        wanted = [f.enum(s, ORDER_STATES, f"query.filter.state_filter.states[{k}]") for k, s in enumerate(wanted)]
        orders = [o for o in orders if o["state"] in wanted]

    sort = f.opt_object(query, "sort", "query.sort") or {}
    sort_field = f.enum(
        sort.get("sort_field", "CREATED_AT"), ("CREATED_AT", "UPDATED_AT", "CLOSED_AT"), "query.sort.sort_field"
    )
    descending = f.enum(sort.get("sort_order", "DESC"), ("ASC", "DESC"), "query.sort.sort_order") == "DESC"
    times = f.opt_object(where, "date_time_filter", "query.filter.date_time_filter")
    if times:
        (time_key, time_range), *others = times.items()
        if others or time_key not in ("created_at", "updated_at", "closed_at"):
            raise bad_request(
                "INVALID_VALUE",
                "Set exactly one of created_at, updated_at or closed_at.",
                "query.filter.date_time_filter",
            )
        if time_key.upper() != sort_field:
            raise bad_request(
                "INVALID_VALUE", f"Sort by {time_key.upper()} when filtering on {time_key}.", "query.sort.sort_field"
            )
        time_range = f.as_object(time_range, f"query.filter.date_time_filter.{time_key}")
        at = f"query.filter.date_time_filter.{time_key}"
        start = f.rfc3339(time_range["start_at"], f"{at}.start_at") if time_range.get("start_at") else None
        end = f.rfc3339(time_range["end_at"], f"{at}.end_at") if time_range.get("end_at") else None
        orders = [
            o
            for o in orders
            if o.get(time_key)
            and (start is None or f.rfc3339(o[time_key], time_key) >= start)
            and (end is None or f.rfc3339(o[time_key], time_key) < end)
        ]
    sort_key = sort_field.lower()
    orders.sort(key=lambda o: o.get(sort_key) or "", reverse=descending)

    page, following = paginate(
        orders, f.opt_str(body, "cursor", "cursor"), f.limit(body, "limit", 500, 1000), "orders.search"
    )
    if f.opt_bool(body, "return_entries", "return_entries"):
        entries = [{k: o[k] for k in ("id", "version", "location_id") if k in o} for o in page]
        out: dict[str, Any] = {"order_entries": [{"order_id": e.pop("id"), **e} for e in entries]} if entries else {}
    else:
        out = {"orders": [copy.deepcopy(o) for o in page]} if page else {}
    if following:
        out["cursor"] = following
    return out


def _pre_tip_total(order: dict[str, Any]) -> int:
    return int(order["total_money"]["amount"]) - int(order.get("total_tip_money", {}).get("amount", 0))


def _check_paid_rules(previous: dict[str, Any], order: dict[str, Any]) -> None:
    """ "You cannot set the fulfillment.state of any order fulfillment to COMPLETED until after you call PayOrder"
    (developer.squareup.com/docs/orders-api/pay-for-orders); once paid, the amounts the payments add up to stay, and
    the order is never CANCELED: "Canceled orders are not paid" (OrderState, square-php-sdk doc/models/order-state.md),
    Square's answer quoted on its developer forum (forums/t/best-method-to-cancel-order-after-refund/922, even after a
    refund); its fulfillments can still be canceled."""
    if previous.get("tenders") and _pre_tip_total(order) != _pre_tip_total(previous):
        raise bad_request("BAD_REQUEST", "A paid order's total cannot change.", "order")
    if previous.get("tenders") and order["state"] == "CANCELED":
        raise bad_request("BAD_REQUEST", "Orders cannot be canceled after payments have been processed.", "order.state")
    if order["net_amount_due_money"]["amount"] > 0:
        earlier = _by_uid(previous.get("fulfillments"))
        for k, fulfillment in enumerate(order.get("fulfillments", [])):
            before = earlier.get(fulfillment["uid"], {}).get("state")
            if fulfillment["state"] == "COMPLETED" and before != "COMPLETED":
                raise bad_request(
                    "BAD_REQUEST",
                    "A fulfillment cannot be COMPLETED before the order is paid (PayOrder).",
                    f"order.fulfillments[{k}].state",
                )


def add_tenders(m: Merchant, order_id: str, payments: list[dict[str, Any]]) -> dict[str, Any]:
    """The order paid by these payments: one tender each, tips added to the order's tip, and COMPLETED unless it has
    a fulfillment (pay-for-orders: PayOrder completes the order "provided that ... the order doesn't include
    fulfillments"; with one, the order stays OPEN until its fulfillment is completed)."""
    previous = m.orders[order_id]
    order = copy.deepcopy(previous)
    m.paid_orders.add(order_id)
    tenders = []
    for payment in payments:
        tender: dict[str, Any] = {
            "id": payment["id"],
            "location_id": m.location_id,
            "transaction_id": order_id,
            "created_at": payment["created_at"],
            "amount_money": payment["amount_money"],
            "type": "OTHER",  # TenderType has no EXTERNAL; OTHER is its catch-all
            "payment_id": payment["id"],
        }
        if "tip_money" in payment:
            tender["tip_money"] = payment["tip_money"]
        tenders.append(tender)
    order["tenders"] = tenders
    tip = sum(t.get("tip_money", {}).get("amount", 0) for t in tenders)
    for key in ("total_money", "total_tip_money"):
        order[key] = {"amount": order[key]["amount"] + tip, "currency": m.currency}
    order["net_amounts"]["total_money"] = dict(order["total_money"])
    order["net_amounts"]["tip_money"] = dict(order["total_tip_money"])
    order["net_amount_due_money"] = {"amount": 0, "currency": m.currency}
    if not order.get("fulfillments"):
        order["state"] = "COMPLETED"
    return copy.deepcopy(_save_change(m, previous, order))


# ---- the POS app (control API) -------------------------------------------------------------------------------------


def register(m: Merchant, raw: dict[str, Any]) -> dict[str, Any]:
    """A cashier rings up an order: no version, no order.created (Square does not send it for POS-app orders)."""
    raw = {"location_id": m.location_id, "source": {"name": POS_APP_SOURCE}} | raw
    order = _build(m, raw, None)
    now = m.now()
    order = {"id": new_order_id(), **order, "created_at": now, "updated_at": now}
    m.orders[order["id"]] = order
    m.emit("order.updated", "order", order["id"], {"order_updated": _summary(order, "created_at", "updated_at")})
    return copy.deepcopy(order)


def _existing(m: Merchant, order_id: str) -> dict[str, Any]:
    order = m.orders.get(order_id)
    if order is None:
        raise ControlNotFound(f"order {order_id!r} not found")
    return order


def move_fulfillment(m: Merchant, order_id: str, state: Any, fulfillment_uid: str | None) -> dict[str, Any]:
    """The kitchen moves a fulfillment along; completing it closes the order as the POS app does."""
    previous = _existing(m, order_id)
    state = f.enum(state, FULFILLMENT_STATES, "state")
    order = copy.deepcopy(previous)
    fulfillments = order.get("fulfillments", [])
    target = next((x for x in fulfillments if fulfillment_uid in (None, x["uid"])), None)
    if target is None:
        raise ValueError(f"order {order_id} has no fulfillment {fulfillment_uid or ''}".strip())
    if not _fulfillment_move_ok(target["state"], state) or order["state"] in FINAL_ORDER_STATES:
        raise ValueError(f"fulfillment cannot move from {target['state']} to {state} (order {order['state']})")
    target["state"] = state
    if state == "COMPLETED" and all(x["state"] in FINAL_FULFILLMENT_STATES for x in fulfillments):
        order["state"] = "COMPLETED"
    return copy.deepcopy(_save_change(m, previous, order))


def cancel(m: Merchant, order_id: str) -> dict[str, Any]:
    previous = _existing(m, order_id)
    if previous["state"] in FINAL_ORDER_STATES:
        raise ValueError(f"order {order_id} is already {previous['state']}")
    order = copy.deepcopy(previous)
    order["state"] = "CANCELED"
    _cancel_fulfillments(order)
    return copy.deepcopy(_save_change(m, previous, order))
