"""Orders API: create (idempotent), retrieve, sparse update with optimistic concurrency, search; plus POS-app orders.

Orders rung up in the POS app have no `version`: the API cannot update them and they never fire `order.created`.
"""

from __future__ import annotations

import copy
import re
from decimal import ROUND_HALF_UP, Decimal
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


def _cents(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


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
    _price(line, m.currency)
    return line


def _price(line: dict[str, Any], currency: str) -> None:
    """Line totals: (base + modifiers) x quantity, in integer cents; the sandbox models no taxes or discounts."""
    quantity = Decimal(line["quantity"])
    variation_total = _cents(line["base_price_money"]["amount"] * quantity)
    gross = variation_total
    for modifier in line.get("modifiers", []):
        modifier_total = _cents(modifier["base_price_money"]["amount"] * Decimal(modifier["quantity"]) * quantity)
        modifier["total_price_money"] = {"amount": modifier_total, "currency": currency}
        gross += modifier_total
    line["variation_total_price_money"] = {"amount": variation_total, "currency": currency}
    line["gross_sales_money"] = {"amount": gross, "currency": currency}
    line["total_tax_money"] = {"amount": 0, "currency": currency}
    line["total_discount_money"] = {"amount": 0, "currency": currency}
    line["total_money"] = {"amount": gross, "currency": currency}


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

    total = sum(line["total_money"]["amount"] for line in lines)
    for key in ("total_tax_money", "total_discount_money", "total_tip_money", "total_service_charge_money"):
        order[key] = {"amount": 0, "currency": m.currency}
    order["total_money"] = {"amount": total, "currency": m.currency}
    order["net_amount_due_money"] = {"amount": total, "currency": m.currency}
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


def create(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    key = f.req_str(body, "idempotency_key", "idempotency_key", 192)
    replayed = m.replay(CREATE_SCOPE, key, body)
    if replayed is not None:
        return replayed[1]
    raw = f.req_object(body, "order", "order")
    if len(f.opt_list(raw, "fulfillments", "order.fulfillments")) > 1:
        raise bad_request(
            "ARRAY_LENGTH_TOO_LONG", "An order can be created with at most one fulfillment.", "order.fulfillments"
        )
    order = _build(m, raw, None)
    if order["state"] not in ("OPEN", "DRAFT"):
        raise bad_request("INVALID_VALUE", "A new order must be OPEN or DRAFT.", "order.state")
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
