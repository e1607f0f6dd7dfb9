"""Catalog API: list, search (changes since `begin_time`), batch retrieve / upsert / delete; the seller's own edits.

Variations and modifiers are stored as objects of their own (with their own version), and nested into their item or
modifier list when rendered, as Square does: a price change bumps the variation, not the item.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from devstack.square_sandbox import fields as f
from devstack.square_sandbox.errors import SquareError, bad_request, missing, unknown_reference, version_mismatch
from devstack.square_sandbox.state import Merchant, new_id, paginate

TYPES = ("ITEM", "ITEM_VARIATION", "CATEGORY", "MODIFIER_LIST", "MODIFIER", "IMAGE")
DATA_KEY = {
    "ITEM": "item_data",
    "ITEM_VARIATION": "item_variation_data",
    "CATEGORY": "category_data",
    "MODIFIER_LIST": "modifier_list_data",
    "MODIFIER": "modifier_data",
    "IMAGE": "image_data",
}
# parent type -> (child type, list key in the parent's data, link key in the child's data)
CHILDREN = {
    "ITEM": ("ITEM_VARIATION", "variations", "item_id"),
    "MODIFIER_LIST": ("MODIFIER", "modifiers", "modifier_list_id"),
}
PARENT = {child: (parent, key, link) for parent, (child, key, link) in CHILDREN.items()}
# ListCatalog without `types` returns the top-level types only (children come nested).
TOP_LEVEL = ("ITEM", "CATEGORY", "MODIFIER_LIST", "IMAGE")
MAX_PER_BATCH = 1_000
MAX_PER_REQUEST = 10_000
MAX_VARIATIONS = 250
TOGGLES = ("NO", "YES", "NOT_SET")  # square/types/catalog_modifier_toggle_override_type.py
LIST_PAGE = 100
UPSERT_SCOPE = "POST /v2/catalog/batch-upsert"


# ---- rendering -----------------------------------------------------------------------------------------------------


def renderer(m: Merchant) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Render stored objects with their live children nested; the child index is built once per response."""
    children: dict[str, list[dict[str, Any]]] = {}
    for obj in m.catalog.values():
        if obj["type"] in PARENT and not obj["is_deleted"]:
            _, _, link = PARENT[obj["type"]]
            children.setdefault(obj[DATA_KEY[obj["type"]]][link], []).append(obj)

    def render(obj: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        if obj["type"] in CHILDREN and not obj["is_deleted"]:
            _, key, _ = CHILDREN[obj["type"]]
            kids = sorted(children.get(obj["id"], []), key=_ordinal)
            out[DATA_KEY[obj["type"]]][key] = [render(kid) for kid in kids]
        return out

    return render


def _ordinal(obj: dict[str, Any]) -> int:
    ordinal = obj[DATA_KEY[obj["type"]]].get("ordinal")
    return ordinal if isinstance(ordinal, int) else 1 << 31


def live(m: Merchant, object_id: str, object_type: str) -> dict[str, Any] | None:
    obj = m.catalog.get(object_id)
    return obj if obj is not None and obj["type"] == object_type and not obj["is_deleted"] else None


def variation_price(m: Merchant, variation: dict[str, Any]) -> dict[str, Any] | None:
    """The price at the merchant's location: a location override wins over the base price."""
    data = variation["item_variation_data"]
    for override in data.get("location_overrides", []):
        if override["location_id"] == m.location_id and "price_money" in override:
            return dict(override["price_money"])
    price = data.get("price_money")
    return dict(price) if price else None


# ---- batch upsert --------------------------------------------------------------------------------------------------


def _count(objects: list[Any]) -> int:
    """Objects in a batch, nested variations and modifiers included (Square counts them against the limits)."""
    total = 0
    for obj in objects:
        total += 1
        if isinstance(obj, dict) and obj.get("type") in CHILDREN:
            data = obj.get(DATA_KEY[obj["type"]])
            if isinstance(data, dict) and isinstance(data.get(CHILDREN[obj["type"]][1]), list):
                total += len(data[CHILDREN[obj["type"]][1]])
    return total


class _Batch:
    """One atomic batch: everything is staged and only written to the catalog by `commit`."""

    def __init__(self, m: Merchant, id_map: dict[str, str]) -> None:
        self.m = m
        self.id_map = id_map  # temporary ids resolved by earlier batches of the same request
        self.temp: dict[str, str] = {}
        self.types: dict[str, str] = {}  # every object of this batch, by real id, before it is staged
        self.staged: dict[str, dict[str, Any]] = {}
        self.version = m.catalog_version + 1
        self.now = m.now()

    def apply(self, objects: list[Any], field: str) -> list[str]:
        claimed = [self._claim(obj, f"{field}[{i}]") for i, obj in enumerate(objects)]
        return [
            self._upsert(obj, real, f"{field}[{i}]") for i, (obj, real) in enumerate(zip(objects, claimed, strict=True))
        ]

    def commit(self) -> None:
        self.m.catalog.update(self.staged)
        self.m.catalog_version = self.version
        self.m.catalog_updated_at = self.now
        self.id_map.update(self.temp)

    def _claim(self, value: Any, field: str) -> str:
        """First pass: give temporary ids real ones, so objects can reference each other in any order."""
        obj = f.as_object(value, field)
        object_type = f.enum(obj.get("type"), TYPES, f"{field}.type")
        object_id = f.req_str(obj, "id", f"{field}.id")
        if object_id.startswith("#"):
            if object_id in self.temp or object_id in self.id_map:
                raise bad_request("INVALID_VALUE", f"Duplicate temporary id `{object_id}`.", f"{field}.id")
            real = new_id()
            self.temp[object_id] = real
        else:
            current = self.m.catalog.get(object_id)
            if current is None or current["is_deleted"]:
                raise unknown_reference(
                    f"Object `{object_id}` not found; new objects need a `#` temporary id.", f"{field}.id"
                )
            if current["type"] != object_type:
                raise bad_request("INVALID_VALUE", f"Object `{object_id}` is a {current['type']}.", f"{field}.type")
            if object_id in self.types:
                raise bad_request("INVALID_VALUE", f"Object `{object_id}` appears twice in the batch.", f"{field}.id")
            real = object_id
        self.types[real] = object_type
        if object_type in CHILDREN:
            data = f.req_object(obj, DATA_KEY[object_type], f"{field}.{DATA_KEY[object_type]}")
            key = CHILDREN[object_type][1]
            for k, child in enumerate(f.opt_list(data, key, f"{field}.{DATA_KEY[object_type]}.{key}")):
                self._claim(child, f"{field}.{DATA_KEY[object_type]}.{key}[{k}]")
        return real

    def _real(self, object_id: str) -> str:
        return self.temp.get(object_id) or self.id_map.get(object_id, object_id)

    def resolve(self, value: Any, expected: str, field: str) -> str:
        """A reference to another object: a real id, or a temporary id of this request."""
        if not isinstance(value, str) or not value:
            raise bad_request("EXPECTED_STRING", f"Expected an object id for `{field}`.", field)
        real = self._real(value)
        object_type = self.types.get(real)
        if object_type is None:
            current = self.m.catalog.get(real)
            object_type = current["type"] if current is not None and not current["is_deleted"] else None
        if object_type != expected:
            raise unknown_reference(f"{expected} `{value}` not found.", field)
        return real

    def _upsert(self, obj: dict[str, Any], real: str, field: str, parent_id: str | None = None) -> str:
        object_type = obj["type"]
        current = self.m.catalog.get(real)
        if current is not None and obj.get("version") != current["version"]:
            given = "No object version" if obj.get("version") is None else f"Object version {obj['version']}"
            raise version_mismatch(
                f"{given} does not match the latest database version {current['version']} of `{real}`.",
                f"{field}.version",
            )
        data_field = f"{field}.{DATA_KEY[object_type]}"
        data = f.req_object(obj, DATA_KEY[object_type], data_field)
        normalize = _NORMALIZERS[object_type]
        stored: dict[str, Any] = {
            "type": object_type,
            "id": real,
            "updated_at": self.now,
            "version": self.version,
            "is_deleted": False,
            "present_at_all_locations": True,
            DATA_KEY[object_type]: normalize(self, data, data_field, current, real),
        }
        self._locations(obj, stored, field)
        if object_type in PARENT:
            self._link(stored, data_field, parent_id)
        self.staged[real] = stored
        if object_type in CHILDREN:
            self._upsert_children(data, real, data_field, object_type)
        return real

    def _locations(self, obj: dict[str, Any], stored: dict[str, Any], field: str) -> None:
        everywhere = f.opt_bool(obj, "present_at_all_locations", f"{field}.present_at_all_locations")
        if everywhere is not None:
            stored["present_at_all_locations"] = everywhere
        for key in ("present_at_location_ids", "absent_at_location_ids"):
            ids = f.opt_list(obj, key, f"{field}.{key}")
            for k, location_id in enumerate(ids):
                if location_id != self.m.location_id:
                    raise unknown_reference(f"Location `{location_id}` not found.", f"{field}.{key}[{k}]")
            if ids:
                stored[key] = list(ids)

    def _link(self, stored: dict[str, Any], data_field: str, parent_id: str | None) -> None:
        """A variation belongs to its item, a modifier to its list: nested ones to the enclosing object."""
        parent_type, _, link = PARENT[stored["type"]]
        data = stored[DATA_KEY[stored["type"]]]
        given = data.get(link)
        if parent_id is None:
            if given is None:
                raise missing(f"{data_field}.{link}")
            data[link] = self.resolve(given, parent_type, f"{data_field}.{link}")
        elif given is not None and self._real(given) != parent_id:
            raise bad_request("INVALID_VALUE", f"`{link}` must be the enclosing {parent_type}.", f"{data_field}.{link}")
        else:
            data[link] = parent_id

    def _upsert_children(self, data: dict[str, Any], parent_id: str, data_field: str, parent_type: str) -> None:
        """Nested children replace the parent's children: the ones left out are deleted, as in Square."""
        _, key, _ = CHILDREN[parent_type]
        kids = f.opt_list(data, key, f"{data_field}.{key}")
        if parent_type == "ITEM" and not 1 <= len(kids) <= MAX_VARIATIONS:
            raise bad_request(
                "INVALID_VALUE",
                f"An item needs 1 to {MAX_VARIATIONS} variations; got {len(kids)}.",
                f"{data_field}.{key}",
            )
        kept = {
            self._upsert(kid, self._real(kid["id"]), f"{data_field}.{key}[{k}]", parent_id)
            for k, kid in enumerate(kids)
        }
        child_type, _, link = CHILDREN[parent_type]
        for obj in self.m.catalog.values():
            orphan = (
                obj["type"] == child_type and obj[DATA_KEY[child_type]][link] == parent_id and obj["id"] not in kept
            )
            if orphan and not obj["is_deleted"]:
                self.staged[obj["id"]] = _deleted(obj, self.version, self.now)


def _deleted(obj: dict[str, Any], version: int, now: str) -> dict[str, Any]:
    gone = copy.deepcopy(obj)
    gone.update(is_deleted=True, version=version, updated_at=now)
    return gone


def _keep(data: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Fields the sandbox does not model are stored as sent."""
    return {k: copy.deepcopy(v) for k, v in data.items() if k not in drop and v is not None}


def _item(batch: _Batch, data: dict[str, Any], field: str, _current: Any, _real: str) -> dict[str, Any]:
    out = _keep(data, ("variations",))
    out["name"] = f.req_str(data, "name", f"{field}.name", 512)
    f.opt_str(data, "description", f"{field}.description", 4096)
    categories = []
    for k, ref in enumerate(f.opt_list(data, "categories", f"{field}.categories")):
        ref = f.as_object(ref, f"{field}.categories[{k}]")
        entry: dict[str, Any] = {"id": batch.resolve(ref.get("id"), "CATEGORY", f"{field}.categories[{k}].id")}
        if f.opt_int(ref, "ordinal", f"{field}.categories[{k}].ordinal") is not None:
            entry["ordinal"] = ref["ordinal"]
        categories.append(entry)
    if categories:
        out["categories"] = categories
    if data.get("category_id") is not None:
        out["category_id"] = batch.resolve(data["category_id"], "CATEGORY", f"{field}.category_id")
    f.opt_bool(data, "is_archived", f"{field}.is_archived")
    infos = [
        _modifier_list_info(batch, info, f"{field}.modifier_list_info[{k}]")
        for k, info in enumerate(f.opt_list(data, "modifier_list_info", f"{field}.modifier_list_info"))
    ]
    if infos:
        out["modifier_list_info"] = infos
    images = [
        batch.resolve(i, "IMAGE", f"{field}.image_ids[{k}]")
        for k, i in enumerate(f.opt_list(data, "image_ids", f"{field}.image_ids"))
    ]
    if images:
        out["image_ids"] = images
    return out


def _modifier_list_info(batch: _Batch, value: Any, at: str) -> dict[str, Any]:
    """CatalogItemModifierListInfo (squareup square/types/catalog_item_modifier_list_info.py): min and max default to
    -1 ("not set": the list's values apply); the toggles are CatalogModifierToggleOverrideType."""
    info = dict(f.as_object(value, at))
    info["modifier_list_id"] = batch.resolve(info.get("modifier_list_id"), "MODIFIER_LIST", f"{at}.modifier_list_id")
    f.opt_bool(info, "enabled", f"{at}.enabled")
    f.opt_int(info, "ordinal", f"{at}.ordinal")
    for key in ("min_selected_modifiers", "max_selected_modifiers"):
        info[key] = -1 if f.opt_int(info, key, f"{at}.{key}") is None else info[key]
    for key in ("allow_quantities", "is_conversational", "hidden_from_customer_override"):
        if info.get(key) is not None:
            f.enum(info[key], TOGGLES, f"{at}.{key}")
    overrides = []
    for k, raw in enumerate(f.opt_list(info, "modifier_overrides", f"{at}.modifier_overrides")):
        where = f"{at}.modifier_overrides[{k}]"
        override = dict(f.as_object(raw, where))
        override["modifier_id"] = batch.resolve(override.get("modifier_id"), "MODIFIER", f"{where}.modifier_id")
        f.opt_bool(override, "on_by_default", f"{where}.on_by_default")
        for key in ("hidden_online_override", "on_by_default_override"):
            if override.get(key) is not None:
                f.enum(override[key], TOGGLES, f"{where}.{key}")
        overrides.append({k2: v for k2, v in override.items() if v is not None})
    if overrides:
        info["modifier_overrides"] = overrides
    return {k: v for k, v in info.items() if v is not None}


def _variation(batch: _Batch, data: dict[str, Any], field: str, current: Any, _real: str) -> dict[str, Any]:
    out = _keep(data, ("location_overrides",))
    f.opt_str(data, "name", f"{field}.name", 255)
    f.opt_str(data, "sku", f"{field}.sku")
    f.opt_int(data, "ordinal", f"{field}.ordinal")
    f.opt_bool(data, "track_inventory", f"{field}.track_inventory")
    if data.get("price_money") is not None:
        out["price_money"] = f.money(data["price_money"], f"{field}.price_money", batch.m.currency)
    pricing = data.get("pricing_type", "FIXED_PRICING" if "price_money" in out else "VARIABLE_PRICING")
    out["pricing_type"] = f.enum(pricing, ("FIXED_PRICING", "VARIABLE_PRICING"), f"{field}.pricing_type")
    if out["pricing_type"] == "FIXED_PRICING" and "price_money" not in out:
        raise missing(f"{field}.price_money")
    # sold_out is read-only for apps: it survives any upsert, whatever the request says.
    overrides = _location_overrides(
        batch, data, field, current, "item_variation_data", ("sold_out", "sold_out_valid_until"), ("track_inventory",)
    )
    if overrides:
        out["location_overrides"] = overrides
    return out


def _category(batch: _Batch, data: dict[str, Any], field: str, _current: Any, real: str) -> dict[str, Any]:
    out = _keep(data, ("is_top_level",))
    out["name"] = f.req_str(data, "name", f"{field}.name", 255)
    out["category_type"] = f.enum(
        data.get("category_type", "REGULAR_CATEGORY"), ("REGULAR_CATEGORY", "MENU_CATEGORY"), f"{field}.category_type"
    )
    f.opt_bool(data, "online_visibility", f"{field}.online_visibility")
    parent = f.opt_object(data, "parent_category", f"{field}.parent_category")
    if parent is not None:
        parent_id = batch.resolve(parent.get("id"), "CATEGORY", f"{field}.parent_category.id")
        if parent_id == real:
            raise bad_request("INVALID_VALUE", "A category cannot be its own parent.", f"{field}.parent_category.id")
        out["parent_category"] = {"id": parent_id}
        if f.opt_int(parent, "ordinal", f"{field}.parent_category.ordinal") is not None:
            out["parent_category"]["ordinal"] = parent["ordinal"]
    out["is_top_level"] = parent is None
    return out


def _modifier_list(batch: _Batch, data: dict[str, Any], field: str, _current: Any, _real: str) -> dict[str, Any]:
    """CatalogModifierList (squareup square/types/catalog_modifier_list.py): `selection_type` is deprecated and kept
    only when sent; min and max default to -1 ("not set": no minimum, no maximum)."""
    out = _keep(data, ("modifiers",))
    out["name"] = f.req_str(data, "name", f"{field}.name", 255)
    if data.get("selection_type") is not None:
        f.enum(data["selection_type"], ("SINGLE", "MULTIPLE"), f"{field}.selection_type")
    if data.get("modifier_type") is not None:
        f.enum(data["modifier_type"], ("LIST", "TEXT"), f"{field}.modifier_type")
    f.opt_int(data, "ordinal", f"{field}.ordinal")
    for key in ("allow_quantities", "is_conversational", "hidden_from_customer"):
        f.opt_bool(data, key, f"{field}.{key}")
    for key in ("min_selected_modifiers", "max_selected_modifiers"):
        out[key] = -1 if f.opt_int(data, key, f"{field}.{key}") is None else data[key]
    return out


def _modifier(batch: _Batch, data: dict[str, Any], field: str, current: Any, _real: str) -> dict[str, Any]:
    """CatalogModifier; its ModifierLocationOverrides.sold_out is set by the seller only ("Attempts by an application
    to set this attribute are ignored"): it survives any upsert, whatever the request says."""
    out = _keep(data, ("location_overrides",))
    out["name"] = f.req_str(data, "name", f"{field}.name", 255)
    if data.get("price_money") is not None:
        out["price_money"] = f.money(data["price_money"], f"{field}.price_money", batch.m.currency)
    f.opt_int(data, "ordinal", f"{field}.ordinal")
    f.opt_bool(data, "on_by_default", f"{field}.on_by_default")
    f.opt_bool(data, "hidden_online", f"{field}.hidden_online")
    overrides = _location_overrides(batch, data, field, current, "modifier_data", ("sold_out",), ())
    if overrides:
        out["location_overrides"] = overrides
    return out


def _location_overrides(
    batch: _Batch,
    data: dict[str, Any],
    field: str,
    current: Any,
    data_key: str,
    seller_only: tuple[str, ...],
    flags: tuple[str, ...],
) -> list[dict[str, Any]]:
    """An object's `location_overrides` at this merchant's location: price and `flags` from the request, the
    `seller_only` fields (sold out, which apps cannot set) kept from the stored object whatever the request says."""
    kept = {
        o["location_id"]: {k: v for k, v in o.items() if k in seller_only}
        for o in (current or {}).get(data_key, {}).get("location_overrides", [])
    }
    overrides = []
    for k, value in enumerate(f.opt_list(data, "location_overrides", f"{field}.location_overrides")):
        at = f"{field}.location_overrides[{k}]"
        override = f.as_object(value, at)
        location_id = f.req_str(override, "location_id", f"{at}.location_id")
        if location_id != batch.m.location_id:
            raise unknown_reference(f"Location `{location_id}` not found.", f"{at}.location_id")
        entry: dict[str, Any] = {"location_id": location_id}
        if override.get("price_money") is not None:
            entry["price_money"] = f.money(override["price_money"], f"{at}.price_money", batch.m.currency)
        for flag in flags:
            if f.opt_bool(override, flag, f"{at}.{flag}") is not None:
                entry[flag] = override[flag]
        entry.update(kept.pop(location_id, {}))
        overrides.append(entry)
    return overrides + [{"location_id": loc, **rest} for loc, rest in kept.items() if rest]


def _image(batch: _Batch, data: dict[str, Any], field: str, _current: Any, _real: str) -> dict[str, Any]:
    for key in ("name", "url", "caption"):
        f.opt_str(data, key, f"{field}.{key}")
    return _keep(data)


_NORMALIZERS: dict[str, Callable[[_Batch, dict[str, Any], str, Any, str], dict[str, Any]]] = {
    "ITEM": _item,
    "ITEM_VARIATION": _variation,
    "CATEGORY": _category,
    "MODIFIER_LIST": _modifier_list,
    "MODIFIER": _modifier,
    "IMAGE": _image,
}


def upsert_batch(
    m: Merchant, objects: list[Any], field: str, id_map: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """Apply one batch atomically; returns the top-level ids and the temporary id mappings. Raises on any error."""
    batch = _Batch(m, id_map)
    roots = batch.apply(objects, field)
    batch.commit()
    return roots, batch.temp


def batch_upsert(m: Merchant, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    key = f.req_str(body, "idempotency_key", "idempotency_key", 128)
    replayed = m.replay(UPSERT_SCOPE, key, body)
    if replayed is not None:
        return replayed
    batches = f.opt_list(body, "batches", "batches")
    if not batches:
        raise missing("batches")
    total = 0
    for i, batch in enumerate(batches):
        objects = f.opt_list(f.as_object(batch, f"batches[{i}]"), "objects", f"batches[{i}].objects")
        if not objects:
            raise missing(f"batches[{i}].objects")
        count = _count(objects)
        if count > MAX_PER_BATCH:
            raise bad_request(
                "ARRAY_LENGTH_TOO_LONG",
                f"A batch holds at most {MAX_PER_BATCH} objects; got {count}.",
                f"batches[{i}].objects",
            )
        total += count
    if total > MAX_PER_REQUEST:
        raise bad_request(
            "ARRAY_LENGTH_TOO_LONG", f"A request holds at most {MAX_PER_REQUEST} objects; got {total}.", "batches"
        )

    id_map: dict[str, str] = {}
    roots: list[str] = []
    errors: list[SquareError] = []
    for i, batch in enumerate(batches):
        try:
            batch_roots, _ = upsert_batch(m, batch["objects"], f"batches[{i}].objects", id_map)
        except SquareError as error:
            errors.append(error)  # this batch is rolled back; the others still apply
            continue
        roots += batch_roots
    response: dict[str, Any] = {}
    if roots:
        render = renderer(m)
        response["objects"] = [render(m.catalog[r]) for r in roots]
        response["id_mappings"] = [{"client_object_id": temp, "object_id": real} for temp, real in id_map.items()]
        response["updated_at"] = m.catalog_updated_at
        emit_version_updated(m)
    if errors:
        response["errors"] = [e.to_json() for e in errors]
    status = errors[0].status if errors else 200
    if roots:  # something was written: a retry with this key must not write it again
        m.remember(UPSERT_SCOPE, key, body, status, response)
    return status, response


def emit_version_updated(m: Merchant) -> None:
    version = {"catalog_version": {"updated_at": m.catalog_updated_at}}
    m.emit("catalog.version.updated", "catalog_version", None, version)


# ---- reads and deletes ---------------------------------------------------------------------------------------------


def _types(values: list[Any], field: str) -> tuple[str, ...]:
    return tuple(f.enum(str(v).strip().upper() if isinstance(v, str) else v, TYPES, field) for v in values)


def list_catalog(m: Merchant, types: str | None, cursor: str | None) -> dict[str, Any]:
    wanted = _types(types.split(","), "types") if types else TOP_LEVEL
    objects = [o for o in m.catalog.values() if o["type"] in wanted and not o["is_deleted"]]
    page, following = paginate(objects, cursor, LIST_PAGE, "catalog.list")
    render = renderer(m)  # builds the child index: once per answer, not once per object
    return _page("objects", [render(o) for o in page], following)


def _page(key: str, items: list[Any], cursor: str | None) -> dict[str, Any]:
    """Square leaves empty lists out of its answers."""
    out: dict[str, Any] = {key: items} if items else {}
    if cursor:
        out["cursor"] = cursor
    return out


def search_catalog(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    wanted = _types(f.opt_list(body, "object_types", "object_types"), "object_types") or TYPES
    with_deleted = bool(f.opt_bool(body, "include_deleted_objects", "include_deleted_objects"))
    begin = f.rfc3339(body["begin_time"], "begin_time") if body.get("begin_time") is not None else None
    limit = f.limit(body, "limit", 100, 1000)
    match = _exact_query(body)
    objects = [
        o
        for o in m.catalog.values()
        if o["type"] in wanted
        and (with_deleted or not o["is_deleted"])
        and (begin is None or f.rfc3339(o["updated_at"], "updated_at") > begin)
        and match(o)
    ]
    objects.sort(key=lambda o: o["version"])
    page, following = paginate(objects, f.opt_str(body, "cursor", "cursor"), limit, "catalog.search")
    render = renderer(m)  # builds the child index: once per answer, not once per object
    out = _page("objects", [render(o) for o in page], following)
    if m.catalog_updated_at:
        out["latest_time"] = m.catalog_updated_at
    return out


def _exact_query(body: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Only `query.exact_query` is modelled; other query kinds are refused rather than silently ignored."""
    query = f.opt_object(body, "query", "query")
    if not query:
        return lambda _obj: True
    unsupported = set(query) - {"exact_query"}
    if unsupported:
        raise bad_request(
            "BAD_REQUEST", f"The sandbox supports only query.exact_query, not {sorted(unsupported)}.", "query"
        )
    exact = f.req_object(query, "exact_query", "query.exact_query")
    name = f.req_str(exact, "attribute_name", "query.exact_query.attribute_name")
    value = f.req_str(exact, "attribute_value", "query.exact_query.attribute_value")
    return lambda obj: obj[DATA_KEY[obj["type"]]].get(name) == value


def _object_ids(body: dict[str, Any]) -> list[str]:
    ids = f.opt_list(body, "object_ids", "object_ids")
    if not ids:
        raise missing("object_ids")
    for k, object_id in enumerate(ids):
        if not isinstance(object_id, str):
            raise bad_request("EXPECTED_STRING", "Expected an object id.", f"object_ids[{k}]")
    return ids


def batch_retrieve(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    ids = _object_ids(body)
    render = renderer(m)
    found = [o for o in (m.catalog.get(i) for i in dict.fromkeys(ids)) if o is not None and not o["is_deleted"]]
    out = _page("objects", [render(o) for o in found], None)
    if f.opt_bool(body, "include_related_objects", "include_related_objects"):
        related = [o for o in (m.catalog.get(i) for i in _related_ids(found)) if o is not None and not o["is_deleted"]]
        seen = {o["id"] for o in found}
        out.update(_page("related_objects", [render(o) for o in related if o["id"] not in seen], None))
    return out


def _related_ids(objects: list[dict[str, Any]]) -> list[str]:
    """Categories, modifier lists and images the given items refer to."""
    ids: list[str] = []
    for obj in objects:
        if obj["type"] == "ITEM":
            data = obj["item_data"]
            ids += [c["id"] for c in data.get("categories", [])] + (
                [data["category_id"]] if "category_id" in data else []
            )
            ids += [i["modifier_list_id"] for i in data.get("modifier_list_info", [])] + data.get("image_ids", [])
    return list(dict.fromkeys(ids))


def batch_delete(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    ids = _object_ids(body)
    version, now = m.catalog_version + 1, m.now()
    deleted: list[str] = []
    for object_id in dict.fromkeys(ids):
        obj = m.catalog.get(object_id)
        if obj is None or obj["is_deleted"]:
            continue
        doomed = [obj]
        if obj["type"] in CHILDREN:  # deleting an item deletes its variations
            child_type, _, link = CHILDREN[obj["type"]]
            doomed += [
                c
                for c in m.catalog.values()
                if c["type"] == child_type and c[DATA_KEY[child_type]][link] == object_id and not c["is_deleted"]
            ]
        for gone in doomed:
            m.catalog[gone["id"]] = _deleted(gone, version, now)
            deleted.append(gone["id"])
    if not deleted:
        return {}
    m.catalog_version, m.catalog_updated_at = version, now
    emit_version_updated(m)
    return {"deleted_object_ids": deleted, "deleted_at": now}


# ---- the seller's own edits (control API) --------------------------------------------------------------------------


def _edit(
    m: Merchant, object_id: str, object_type: str | None, change: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Change one object as the Square Dashboard would: new version and updated_at, then catalog.version.updated."""
    obj = m.catalog.get(object_id)
    if obj is None or obj["is_deleted"] or (object_type is not None and obj["type"] != object_type):
        raise ValueError(f"no live {object_type or 'catalog object'} with id {object_id!r}")
    edited = copy.deepcopy(obj)
    change(edited[DATA_KEY[edited["type"]]])
    m.catalog_version += 1
    edited.update(version=m.catalog_version, updated_at=m.now())
    m.catalog[object_id] = edited
    m.catalog_updated_at = edited["updated_at"]
    emit_version_updated(m)
    return renderer(m)(edited)


def set_price(m: Merchant, variation_id: str, amount: int) -> dict[str, Any]:
    def change(data: dict[str, Any]) -> None:
        data["price_money"] = {"amount": amount, "currency": m.currency}
        data["pricing_type"] = "FIXED_PRICING"
        for override in data.get("location_overrides", []):
            override.pop("price_money", None)

    return _edit(m, variation_id, "ITEM_VARIATION", change)


def rename(m: Merchant, object_id: str, name: str) -> dict[str, Any]:
    def change(data: dict[str, Any]) -> None:
        data["name"] = name

    return _edit(m, object_id, None, change)


def set_sold_out(m: Merchant, object_id: str, sold_out: bool) -> dict[str, Any]:
    """The seller marks a variation or a modifier sold out at the location (or back): its location override's
    `sold_out`."""

    def change(data: dict[str, Any]) -> None:
        overrides = data.setdefault("location_overrides", [])
        override = next((o for o in overrides if o["location_id"] == m.location_id), None)
        if override is None:
            override = {"location_id": m.location_id}
            overrides.append(override)
        override["sold_out"] = sold_out

    obj = m.catalog.get(object_id)
    kind = obj["type"] if obj is not None and obj["type"] in ("ITEM_VARIATION", "MODIFIER") else "ITEM_VARIATION"
    return _edit(m, object_id, kind, change)


def _here(m: Merchant, variation: dict[str, Any]) -> dict[str, Any]:
    overrides = variation["item_variation_data"].get("location_overrides", [])
    return next((o for o in overrides if o["location_id"] == m.location_id), {})


def tracked(m: Merchant, variation: dict[str, Any]) -> bool:
    """ItemVariationLocationOverrides.track_inventory when set, else CatalogItemVariation.track_inventory ("If unset at
    both levels, inventory tracking is disabled")."""
    here = _here(m, variation).get("track_inventory")
    return here if isinstance(here, bool) else variation["item_variation_data"].get("track_inventory") is True


def sold_out(m: Merchant, variation: dict[str, Any]) -> bool:
    return _here(m, variation).get("sold_out") is True
