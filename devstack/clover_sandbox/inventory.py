"""Clover's inventory reads (Flows 4 and 5): categories, items, item groups (variants), modifier groups.

Paths (`/v3/merchants/{mId}` + `/categories`, `/items`, `/item_groups`, `/modifier_groups`; Clover's generated
client, clover-api.md "Inventory"). Fields: SDK v3 `inventory/Item.java` (`id, name, price, priceType, hidden,
available, autoManage, itemGroup {id}, modifiedTime, deletedTime, categories, modifierGroups, itemStock`),
`Category` (`id, name, sortOrder, items`), `ItemGroup` (`id, name, items`), `ModifierGroup` (`id, name, minRequired,
maxAllowed, showByDefault, modifierIds` (a read-only comma-separated string), `modifiers`, `sortOrder`), `Modifier`
(`id, name, price, available, modifierGroup {id}`). Lists are `{"elements": [...]}` with `limit` (default 100, max
1000) and `offset`; nested collections appear only when expanded, at most 3 expansions per call
(docs.clover.com/docs/paginating-elements, /docs/expanding-fields). Item `modifiedTime` is Unix ms and filterable
(`filter=modifiedTime>=<ms>`, docs.clover.com/docs/applying-filters). "modifiedTime is absent from /categories
unless expand=items" (inventory FAQ). Hidden items are "hidden from Clover Register App"; `available` is "available
for sale across all channels" (docs.clover.com/docs/managing-item-availability). An item joins an item group only
when it is created and its name is generated from the group's and the options' names (reference inventorygetitemgroups).
"""

from __future__ import annotations

from typing import Any

from devstack.clover_sandbox.errors import bad_request
from devstack.clover_sandbox.ids import new_id
from devstack.clover_sandbox.orders import LIST_LIMIT_MAX, MAX_EXPANDS
from devstack.clover_sandbox.state import Merchant, SandboxState, now_ms

ITEM_EXPANDS = {"categories", "modifierGroups", "itemStock", "tags", "taxRates", "options"}
ITEM_FILTERS = {"modifiedTime", "id", "hidden", "available", "name", "itemGroup.id"}


def _page(args: dict[str, str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        limit, offset = int(args.get("limit", 100)), int(args.get("offset", 0))
    except ValueError:
        raise bad_request("bad_request", "limit and offset must be integers") from None
    if not 0 < limit <= LIST_LIMIT_MAX or offset < 0:
        raise bad_request("bad_request", f"limit must be 1-{LIST_LIMIT_MAX} and offset >= 0")
    return rows[offset : offset + limit]


def _expand(args: dict[str, str], allowed: set[str]) -> set[str]:
    fields = {f.strip() for f in (args.get("expand") or "").split(",") if f.strip()}
    if len(fields) > MAX_EXPANDS or fields - allowed:
        raise bad_request("bad_request", f"Invalid expand: {','.join(sorted(fields))}")
    return fields


def _ref_list(ids: list[str]) -> dict[str, Any]:
    return {"elements": [{"id": i} for i in ids]}


def list_categories(m: Merchant, args: dict[str, str]) -> dict[str, Any]:
    expand = _expand(args, {"items"})
    rows = []
    for category in sorted(m.categories.values(), key=lambda c: (c["sortOrder"], c["id"])):
        row = {k: v for k, v in category.items() if k not in ("itemIds", "modifiedTime")}
        if "items" in expand:
            row["items"] = _ref_list(category["itemIds"])
            row["modifiedTime"] = category["modifiedTime"]
        rows.append(row)
    return {"elements": _page(args, rows)}


def _item_row(m: Merchant, item: dict[str, Any], expand: set[str]) -> dict[str, Any]:
    row = {k: v for k, v in item.items() if k not in ("taxRateIds", "modifierGroupIds", "stock")}
    if "categories" in expand:
        row["categories"] = {
            "elements": [
                {"id": c["id"], "name": c["name"]} for c in m.categories.values() if item["id"] in c["itemIds"]
            ]
        }
    if "modifierGroups" in expand:
        row["modifierGroups"] = _ref_list(item.get("modifierGroupIds", []))
    if "itemStock" in expand and item.get("stock") is not None:
        row["itemStock"] = {"item": {"id": item["id"]}, "quantity": item["stock"]}
    return row


def _filter_items(rows: list[dict[str, Any]], filters: list[str]) -> list[dict[str, Any]]:
    for clause in filters:
        for op in (">=", "<=", ">", "<", "="):
            name, found, value = clause.partition(op)
            if found:
                break
        else:
            raise bad_request("bad_request", f"Invalid filter: {clause}")
        if name not in ITEM_FILTERS:
            raise bad_request("bad_request", f"Invalid filter field: {name}")
        if name != "modifiedTime":
            raise bad_request("bad_request", f"The sandbox does not model the filter field {name}")
        ms = int(value)
        compare = {">=": ms.__le__, "<=": ms.__ge__, ">": ms.__lt__, "<": ms.__gt__, "=": ms.__eq__}[op]
        rows = [r for r in rows if compare(r["modifiedTime"])]
    return rows


def list_items(m: Merchant, filters: list[str], args: dict[str, str]) -> dict[str, Any]:
    expand = _expand(args, ITEM_EXPANDS)
    rows = _filter_items([i for i in m.items.values() if not i.get("deletedTime")], filters)
    rows.sort(key=lambda i: (i["modifiedTime"], i["id"]))
    return {"elements": [_item_row(m, i, expand) for i in _page(args, rows)]}


def list_item_groups(m: Merchant, args: dict[str, str]) -> dict[str, Any]:
    expand = _expand(args, {"items", "attributes"})
    rows = []
    for group in m.item_groups.values():
        row = {"id": group["id"], "name": group["name"]}
        if "items" in expand:
            row["items"] = _ref_list(
                [i["id"] for i in m.items.values() if (i.get("itemGroup") or {}).get("id") == group["id"]]
            )
        rows.append(row)
    return {"elements": _page(args, rows)}


def list_modifier_groups(m: Merchant, args: dict[str, str]) -> dict[str, Any]:
    expand = _expand(args, {"modifiers", "items"})
    rows = []
    for group in sorted(m.modifier_groups.values(), key=lambda g: (g["sortOrder"], g["id"])):
        mods = [m.modifiers[i] for i in group["modifierIdList"]]
        row = {k: v for k, v in group.items() if k != "modifierIdList"}
        row["modifierIds"] = ",".join(group["modifierIdList"])
        if "modifiers" in expand:
            row["modifiers"] = {"elements": [dict(x) for x in mods]}
        rows.append(row)
    return {"elements": _page(args, rows)}


# ---- control: the merchant's back office ------------------------------------------------------------------------


def seed(state: SandboxState, m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    """{modifierGroups: [{name, minRequired?, maxAllowed?, modifiers: [{name, price, available?}]}],
    itemGroups: [{name, variants: [{option, price}]}], items: [{name, price, hidden?, available?,
    modifierGroups: [index], category?}], categories: [name]}: ids come back by name."""
    now = now_ms(state.clock)
    ids: dict[str, str] = {}
    for position, name in enumerate(body.get("categories", [])):
        category_id = new_id()
        m.categories[category_id] = {"id": category_id, "name": name, "sortOrder": position, "itemIds": [],
                                     "modifiedTime": now}  # fmt: skip
        ids[f"category:{name}"] = category_id
    groups: list[str] = []
    for position, spec in enumerate(body.get("modifierGroups", [])):
        group_id = new_id()
        modifier_ids = []
        for mod in spec["modifiers"]:
            modifier_id = new_id()
            m.modifiers[modifier_id] = {
                "id": modifier_id,
                "name": mod["name"],
                "price": int(mod.get("price", 0)),
                "available": bool(mod.get("available", True)),
                "modifierGroup": {"id": group_id},
            }
            modifier_ids.append(modifier_id)
            ids[f"modifier:{mod['name']}"] = modifier_id
        m.modifier_groups[group_id] = {
            "id": group_id,
            "name": spec["name"],
            "showByDefault": True,
            "sortOrder": position,
            "modifierIdList": modifier_ids,
            **{k: int(spec[k]) for k in ("minRequired", "maxAllowed") if k in spec},
        }
        groups.append(group_id)
        ids[f"modifierGroup:{spec['name']}"] = group_id

    def add_item(spec: dict[str, Any], name: str, group_id: str | None) -> str:
        item_id = new_id()
        item: dict[str, Any] = {
            "id": item_id,
            "name": name,
            "price": int(spec["price"]),
            "priceType": "FIXED",
            "hidden": bool(spec.get("hidden", False)),
            "available": bool(spec.get("available", True)),
            "autoManage": False,
            "defaultTaxRates": True,
            "isRevenue": True,
            "modifiedTime": now,
            "modifierGroupIds": [groups[k] for k in spec.get("modifierGroups", [])],
        }
        if group_id:
            item["itemGroup"] = {"id": group_id}
        m.items[item_id] = item
        if spec.get("category"):
            m.categories[ids[f"category:{spec['category']}"]]["itemIds"].append(item_id)
        return item_id

    for spec in body.get("items", []):
        ids[f"item:{spec['name']}"] = add_item(spec, spec["name"], None)
    for spec in body.get("itemGroups", []):
        group_id = new_id()
        m.item_groups[group_id] = {"id": group_id, "name": spec["name"]}
        ids[f"itemGroup:{spec['name']}"] = group_id
        for variant in spec["variants"]:
            generated = f"{spec['name']} - {variant['option']}"  # Clover generates the variant's name
            merged = {**spec, **variant}
            ids[f"item:{generated}"] = add_item(merged, generated, group_id)
    return ids


def set_available(state: SandboxState, m: Merchant, item_id: str, available: bool) -> dict[str, Any]:
    """The merchant marks an item (un)available: Clover sends an `I:` UPDATE and the app must GET the item to learn
    why (docs.clover.com/docs/managing-item-availability)."""
    item = m.items.get(item_id)
    if item is None:
        raise KeyError(f"item {item_id!r} not found")
    item["available"] = available
    item["modifiedTime"] = now_ms(state.clock)
    state.emit(m.merchant_id, "I", item_id, "UPDATE")
    return {k: v for k, v in item.items() if k not in ("taxRateIds", "modifierGroupIds", "stock")}


# ---- control: a cashier edits the menu in the Inventory app -------------------------------------------------------

EDITABLE_ITEM: dict[str, type] = {"name": str, "price": int, "hidden": bool, "available": bool}


def edit_item(state: SandboxState, m: Merchant, item_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """{name?, price?, hidden?, available?}: the item changes, its `modifiedTime` moves and Clover sends an `I:`
    UPDATE (docs.clover.com/docs/webhooks: `I` inventory items). A variant's name is generated by Clover and cannot
    be set (reference inventorygetitemgroups)."""
    item = m.items.get(item_id)
    if item is None or item.get("deletedTime"):
        raise KeyError(f"item {item_id!r} not found")
    for key, value in body.items():
        kind = EDITABLE_ITEM.get(key)
        if kind is None or isinstance(value, bool) is not (kind is bool) or not isinstance(value, kind):
            raise ValueError(f"{key!r} is not an editable item field of that type")
        if key == "name" and item.get("itemGroup"):
            raise ValueError("a variant's name is generated from its group and options")
        if key == "price" and isinstance(value, int) and value < 0:
            raise ValueError("'price' must not be negative")
        item[key] = value
    item["modifiedTime"] = now_ms(state.clock)
    state.emit(m.merchant_id, "I", item_id, "UPDATE")
    return _item_row(m, item, set())


def delete_item(state: SandboxState, m: Merchant, item_id: str) -> dict[str, Any]:
    """The item is deleted: it leaves every list (Clover documents no list of deleted items: Item.java has
    `deletedTime`, no documented filter returns them) and its categories, and Clover sends an `I:` DELETE."""
    item = m.items.get(item_id)
    if item is None or item.get("deletedTime"):
        raise KeyError(f"item {item_id!r} not found")
    item["deletedTime"] = item["modifiedTime"] = now_ms(state.clock)
    for category in m.categories.values():
        if item_id in category["itemIds"]:
            category["itemIds"].remove(item_id)
            category["modifiedTime"] = item["deletedTime"]
    state.emit(m.merchant_id, "I", item_id, "DELETE")
    return {"id": item_id, "deletedTime": item["deletedTime"]}


def edit_modifier_group(state: SandboxState, m: Merchant, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """{name?, minRequired?, maxAllowed?}: Clover sends an `IG:` UPDATE (webhooks: `IG` modifier groups)."""
    group = m.modifier_groups.get(group_id)
    if group is None:
        raise KeyError(f"modifier group {group_id!r} not found")
    for key, value in body.items():
        if key == "name" and isinstance(value, str) and value:
            group["name"] = value
        elif key in ("minRequired", "maxAllowed") and isinstance(value, int) and not isinstance(value, bool):
            group[key] = value
        else:
            raise ValueError(f"{key!r} is not an editable modifier group field of that type")
    state.emit(m.merchant_id, "IG", group_id, "UPDATE")
    return {k: v for k, v in group.items() if k != "modifierIdList"}
