"""Wix Restaurants Menus (New) (wix-api.md section 7): menus, sections, items, variants, modifiers, modifier groups.

Writes are live and bulk calls are not transactional, exactly like Wix; the visibility journal records, after every
single entity write, whether a customer could now see a half-built menu.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from devstack.wix_sandbox.query import matches, page, parse_query, sort_items, validate_filter
from devstack.wix_sandbox.routing import Call
from devstack.wix_sandbox.state import MENU_KINDS, Clock, Instance, new_id
from devstack.wix_sandbox.validation import ApiError, Checker, bad_request, is_guid, json_object, not_found

BULK_MAX = 100
QUERY_MAX = 500
DEFAULT_LIMIT = 50  # not documented; Wix query APIs commonly default to 50
READ_ONLY = ("id", "revision", "createdDate", "updatedDate", "businessLocationId", "businessLocationIds")
# MenusApi methods served as routes (api.py maps each kind's paths onto them)
MENUS_ACTIONS = (
    "create", "list", "query", "get", "update", "delete", "bulk_create", "bulk_update", "bulk_delete", "count",
)  # fmt: skip


@dataclass(frozen=True)
class Kind:
    """One Menus entity type, its routes, and its REST shapes as its SDK module (`@wix/auto_sdk_restaurants_<sdk>`,
    build/cjs/meta.d.ts) declares them; tests/contracts/test_wix_sandbox_menus.py proves them against the package."""

    name: str  # wrapper key and state key: "menu", "modifierGroup"
    plural: str  # list key: "menus", "modifierGroups"
    base: str  # documented base path
    collection: str  # URL segment: "menus", "modifier-groups"
    bulk_segment: str  # bulk update/delete segment (Wix spells modifier groups "modifiers-groups" there)
    name_max: int
    name_required: bool
    bulk_delete: bool
    has_visible: bool
    has_count: bool
    sdk: str  # the module's name after `@wix/auto_sdk_restaurants_`
    created: tuple[str, str]  # BulkCreate*Result: (metadata key, entity key)
    updated: tuple[str, str]  # Bulk*Result of a bulk update: (metadata key, entity key)
    mask: str | None  # Masked*'s field mask key; None: the type has none (MaskedVariant is `{variant}` only)

    @property
    def title(self) -> str:
        return self.name[0].upper() + self.name[1:]


KINDS = (
    Kind("menu", "menus", "/restaurants/menus-menu/v1", "menus", "menus", 500, False, False, True, False,
         "menus", ("menuMetadata", "menu"), ("menuMetadata", "menu"), "mask"),
    # A created section comes back under `item` (BulkCreateSectionResult), an updated one under `section`.
    Kind("section", "sections", "/restaurants/menus-section/v1", "sections", "sections", 500, False, True, True, False,
         "sections", ("itemMetadata", "item"), ("sectionMetadata", "section"), "mask"),
    Kind("item", "items", "/restaurants/menus-item/v1", "items", "items", 200, False, True, True, True,
         "items", ("itemMetadata", "item"), ("itemMetadata", "item"), "mask"),
    Kind("variant", "variants", "/restaurants/item-variants/v1", "variants", "variants", 200, True, True, False, True,
         "item-variants", ("itemMetadata", "variant"), ("itemMetadata", "variant"), None),
    Kind("modifier", "modifiers", "/restaurants/item-modifiers/v1", "modifiers", "modifiers", 200, True, True, False,
         True, "item-modifiers", ("itemMetadata", "modifier"), ("itemMetadata", "modifier"), "mask"),
    Kind("modifierGroup", "modifierGroups", "/restaurants/item-modifier-group/v1", "modifier-groups",
         "modifiers-groups", 100, True, True, False, True, "item-modifier-groups", ("itemMetadata", "modifierGroup"),
         ("itemMetadata", "modifierGroup"), "mask"),
)  # fmt: skip
BULK_DELETE_RESULT = "itemMetadata"  # Bulk*Delete*Result, every kind that has a bulk delete

_IMAGE = frozenset({"id", "url", "height", "width", "altText", "filename"})
# The fields each REST type has (meta.d.ts). Wix refuses a field its type lacks; so does the sandbox. Keys: the
# entity kind, or "<kind>.<dotted path>" for a nested object (array elements share their array's path).
FIELDS: dict[str, frozenset[str]] = {
    "menu": frozenset({"id", "revision", "createdDate", "updatedDate", "name", "description", "visible", "sectionIds",
                       "extendedFields", "urlQueryParam", "seoData", "businessLocationId"}),
    "section": frozenset({"id", "revision", "createdDate", "updatedDate", "name", "description", "image",
                          "additionalImages", "itemIds", "extendedFields", "visible", "businessLocationId"}),
    "section.image": _IMAGE,
    "section.additionalImages": _IMAGE,
    "item": frozenset({"priceVariants", "priceInfo", "id", "revision", "createdDate", "updatedDate", "name",
                       "description", "image", "additionalImages", "labels", "visible", "featured", "orderSettings",
                       "modifierGroups", "extendedFields", "businessLocationIds"}),
    "item.priceVariants": frozenset({"variants"}),
    "item.priceVariants.variants": frozenset({"variantId", "price", "priceInfo"}),
    "item.priceVariants.variants.priceInfo": frozenset({"price"}),
    "item.priceInfo": frozenset({"price"}),
    "item.image": _IMAGE,
    "item.additionalImages": _IMAGE,
    "item.labels": frozenset({"id"}),
    "item.orderSettings": frozenset({"inStock", "acceptSpecialRequests"}),
    "item.modifierGroups": frozenset({"id"}),
    "variant": frozenset({"id", "revision", "createdDate", "updatedDate", "name", "extendedFields",
                          "businessLocationIds"}),
    "modifier": frozenset({"id", "revision", "createdDate", "updatedDate", "name", "extendedFields", "inStock",
                           "businessLocationIds"}),
    "modifierGroup": frozenset({"id", "revision", "createdDate", "updatedDate", "name", "modifiers", "rule",
                                "extendedFields", "businessLocationIds"}),
    "modifierGroup.modifiers": frozenset({"id", "preSelected", "additionalChargeInfo"}),
    "modifierGroup.modifiers.additionalChargeInfo": frozenset({"additionalCharge"}),
    "modifierGroup.rule": frozenset({"required", "minSelections", "maxSelections"}),
    **{f"{kind}.extendedFields": frozenset({"namespaces"}) for kind in MENU_KINDS},
}  # fmt: skip
# Request wrappers (meta.d.ts BulkCreate*Request, BulkUpdate*Request, Query*Request, CursorQuery, CursorPaging).
BULK_FIELDS = frozenset({"returnEntity"})  # plus the kind's plural
QUERY_FIELDS = frozenset({"query"})
CURSOR_QUERY_FIELDS = frozenset({"cursorPaging", "filter", "sort"})
CURSOR_PAGING_FIELDS = frozenset({"limit", "cursor"})
# `@format GUID` references (meta.d.ts); a reference that is no GUID is a 400 before any lookup.
GUID_REFS = {"menu": ("sectionIds",), "section": ("itemIds",), "modifierGroup": ("modifiers.id",),
             "item": ("priceVariants.variants.variantId", "modifierGroups.id", "labels.id")}  # fmt: skip


# --- Validation -----------------------------------------------------------------------------------------------------


def check_shape(kind: Kind, entity: dict[str, Any], c: Checker, path: str, *, partial: bool = False) -> None:
    """Field formats and limits, no state needed. `partial`: a patch, so required fields may be absent."""
    check_known_fields(entity, kind.name, c, path)
    for ref in GUID_REFS.get(kind.name, ()):
        check_guids(entity, ref, c, path)
    c.text(
        entity, "name", f"{path}.name", required=kind.name_required and not partial, min_len=1, max_len=kind.name_max
    )
    c.obj(entity, "extendedFields", f"{path}.extendedFields")
    if kind.has_visible:
        c.boolean(entity, "visible", f"{path}.visible")
        c.text(entity, "description", f"{path}.description", max_len=1500)
    if kind.name == "menu":
        c.string_list(entity, "sectionIds", f"{path}.sectionIds", max_len=100)
        c.text(entity, "urlQueryParam", f"{path}.urlQueryParam", max_len=500)
    elif kind.name == "section":
        c.string_list(entity, "itemIds", f"{path}.itemIds", max_len=300)
        c.array(entity, "additionalImages", f"{path}.additionalImages", max_len=100)
    elif kind.name == "item":
        _check_item(entity, c, path)
    elif kind.name == "modifier":
        c.boolean(entity, "inStock", f"{path}.inStock")
    elif kind.name == "modifierGroup":
        _check_modifier_group(entity, c, path)


def check_known_fields(value: Any, key: str, c: Checker, path: str) -> None:
    """Every field outside the REST type (FIELDS[key]) is a violation, nested objects and array elements included."""
    if isinstance(value, list):
        for i, element in enumerate(value):
            check_known_fields(element, key, c, f"{path}[{i}]")
        return
    allowed = FIELDS.get(key)
    if allowed is None or not isinstance(value, dict):
        return
    for field, nested in value.items():
        if field not in allowed:
            c.fail(f"{path}.{field}", "is not a field of this type")
        else:
            check_known_fields(nested, f"{key}.{field}", c, f"{path}.{field}")


def check_guids(value: Any, dotted: str, c: Checker, path: str) -> None:
    """The string values at a dotted path (arrays fan out) must be GUIDs."""
    head, _, rest = dotted.partition(".")
    found = value.get(head) if isinstance(value, dict) else None
    if found is None:
        return
    elements = list(enumerate(found)) if isinstance(found, list) else [(None, found)]
    for i, element in elements:
        where = f"{path}.{head}" + ("" if i is None else f"[{i}]")
        if rest:
            check_guids(element, rest, c, where)
        elif isinstance(element, str) and not is_guid(element):
            c.fail(where, "must be a GUID")


def _check_item(item: dict[str, Any], c: Checker, path: str) -> None:
    c.array(item, "additionalImages", f"{path}.additionalImages", max_len=15)
    c.boolean(item, "featured", f"{path}.featured")
    for i, label in enumerate(c.array(item, "labels", f"{path}.labels", max_len=10) or []):
        if not isinstance(label, dict) or not isinstance(label.get("id"), str):
            c.fail(f"{path}.labels[{i}]", "must be an object with an id")
    if item.get("priceInfo") is not None and item.get("priceVariants") is not None:
        c.fail(f"{path}.priceInfo", "set priceInfo or priceVariants, not both")
    price_info = c.obj(item, "priceInfo", f"{path}.priceInfo")
    if price_info is not None:
        c.decimal(price_info, "price", f"{path}.priceInfo.price", required=True, max_places=3)
    price_variants = c.obj(item, "priceVariants", f"{path}.priceVariants")
    if price_variants is not None:
        variants = c.array(price_variants, "variants", f"{path}.priceVariants.variants", max_len=500) or []
        for i, variant in enumerate(variants):
            vpath = f"{path}.priceVariants.variants[{i}]"
            if not isinstance(variant, dict):
                c.fail(vpath, "must be an object")
                continue
            c.text(variant, "variantId", f"{vpath}.variantId", required=True, min_len=1)
            variant_price = c.obj(variant, "priceInfo", f"{vpath}.priceInfo")
            if variant_price is not None:
                c.decimal(variant_price, "price", f"{vpath}.priceInfo.price", required=True, max_places=3)
    settings = c.obj(item, "orderSettings", f"{path}.orderSettings")
    if settings is not None:
        c.boolean(settings, "inStock", f"{path}.orderSettings.inStock")
        c.boolean(settings, "acceptSpecialRequests", f"{path}.orderSettings.acceptSpecialRequests")
    for i, group in enumerate(c.array(item, "modifierGroups", f"{path}.modifierGroups", max_len=25) or []):
        if not isinstance(group, dict) or not isinstance(group.get("id"), str) or not group["id"]:
            c.fail(f"{path}.modifierGroups[{i}]", "must be an object with an id, not a bare string")


def _check_modifier_group(group: dict[str, Any], c: Checker, path: str) -> None:
    for i, modifier in enumerate(c.array(group, "modifiers", f"{path}.modifiers", max_len=500) or []):
        mpath = f"{path}.modifiers[{i}]"
        if not isinstance(modifier, dict):
            c.fail(mpath, "must be an object")
            continue
        c.text(modifier, "id", f"{mpath}.id", required=True, min_len=1)
        c.boolean(modifier, "preSelected", f"{mpath}.preSelected")
        charge = c.obj(modifier, "additionalChargeInfo", f"{mpath}.additionalChargeInfo")
        if charge is not None:
            c.decimal(charge, "additionalCharge", f"{mpath}.additionalChargeInfo.additionalCharge", max_places=3)
    rule = c.obj(group, "rule", f"{path}.rule")
    if rule is not None:
        c.boolean(rule, "required", f"{path}.rule.required")
        low = c.integer(rule, "minSelections", f"{path}.rule.minSelections", lo=0, hi=25)
        high = c.integer(rule, "maxSelections", f"{path}.rule.maxSelections", lo=0, hi=25)
        if low is not None and high is not None and low > high:
            c.fail(f"{path}.rule.minSelections", "must not exceed maxSelections")


def check_refs(kind: Kind, entity: dict[str, Any], inst: Instance, c: Checker, path: str) -> None:
    """Referential integrity: referenced sections, items, variants, modifiers and groups must exist on this site."""
    refs: list[tuple[str, str, Any]] = []
    if kind.name == "menu":
        refs = [("section", f"{path}.sectionIds[{i}]", sid) for i, sid in enumerate(entity.get("sectionIds") or [])]
    elif kind.name == "section":
        refs = [("item", f"{path}.itemIds[{i}]", iid) for i, iid in enumerate(entity.get("itemIds") or [])]
    elif kind.name == "item":
        variants = (entity.get("priceVariants") or {}).get("variants") or []
        refs = [
            ("variant", f"{path}.priceVariants.variants[{i}].variantId", v.get("variantId"))
            for i, v in enumerate(variants)
        ]
        refs += [
            ("modifierGroup", f"{path}.modifierGroups[{i}].id", g.get("id"))
            for i, g in enumerate(entity.get("modifierGroups") or [])
        ]
    elif kind.name == "modifierGroup":
        modifiers = entity.get("modifiers") or []
        refs = [("modifier", f"{path}.modifiers[{i}].id", m.get("id")) for i, m in enumerate(modifiers)]
    for target, field, ref_id in refs:
        if ref_id not in inst.menus[target]:
            c.fail(field, f"{target} {ref_id!r} does not exist")


# --- Writes ---------------------------------------------------------------------------------------------------------


def _new_entity(kind: Kind, inst: Instance, clock: Clock, data: dict[str, Any]) -> dict[str, Any]:
    """Server fields win over anything the client sent (ids are always generated)."""
    now = clock.iso()
    entity = {k: copy.deepcopy(v) for k, v in data.items() if k not in READ_ONLY and v is not None}
    if kind.has_visible:
        entity.setdefault("visible", True)  # Wix shows new entities unless told otherwise
    if kind.name == "item":
        entity["orderSettings"] = {"inStock": True, "acceptSpecialRequests": True, **entity.get("orderSettings", {})}
    if kind.name == "modifier":
        entity.setdefault("inStock", True)
    if kind.name == "menu":
        entity["businessLocationId"] = inst.default_location["id"]
    return {"id": new_id(), "revision": "1", "createdDate": now, "updatedDate": now, **entity}


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """PATCH semantics: nested objects merge, arrays and scalars replace, null clears."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _apply_mask(target: dict[str, Any], patch: dict[str, Any], mask: list[str]) -> None:
    """Field-mask semantics: exactly the masked paths are set from the patch, or cleared when the patch lacks them."""
    for path in mask:
        *parents, leaf = path.split(".")
        source: Any = patch
        for part in [*parents, leaf]:
            source = source.get(part) if isinstance(source, dict) else None
        node = target
        for part in parents:
            node = node.setdefault(part, {})
        if source is None:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(source)


def _updated(
    kind: Kind, inst: Instance, clock: Clock, patch: dict[str, Any], mask: list[str] | None, path: str
) -> dict[str, Any]:
    """The entity after a revision-checked update; raises 404/409/400 without changing anything."""
    entity_id = patch["id"]
    current = inst.menus[kind.name].get(entity_id)
    if current is None:
        raise not_found(kind.title, entity_id)
    if str(patch["revision"]) != current["revision"]:
        raise ApiError(
            409,
            f"{kind.title} {entity_id} revision mismatch: sent {patch['revision']}, current {current['revision']}",
            code="REVISION_MISMATCH",
        )
    merged = copy.deepcopy(current)
    writable = {k: v for k, v in patch.items() if k not in READ_ONLY}
    if mask is None:
        _merge(merged, writable)
    else:
        _apply_mask(merged, writable, [m for m in mask if m not in READ_ONLY])
    c = Checker()
    check_shape(kind, merged, c, path)
    c.done(f"Invalid {kind.name}")
    check_refs(kind, merged, inst, c, path)
    c.done(f"Invalid {kind.name}")
    merged.update(revision=str(int(current["revision"]) + 1), updatedDate=clock.iso())
    return merged


def _parse_mask(value: Any, field: str, c: Checker) -> list[str] | None:
    """A FieldMask in its JSON form: one comma-separated string of paths (proto3 JSON; the SDK's
    transformSDKFieldMaskToRESTFieldMask joins its array with ","). An array is not that form: 400."""
    if value is None:
        return None
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    c.fail(field, 'must be a comma-separated string of field paths (a FieldMask), such as "name,visible"')
    return None


class MenusApi:
    """The Menus endpoints for one entity kind, on the calling instance's store. Callers hold the store lock."""

    def __init__(self, kind: Kind, clock: Clock) -> None:
        self.kind = kind
        self.clock = clock

    def _store(self, inst: Instance) -> dict[str, dict[str, Any]]:
        return inst.menus[self.kind.name]

    def _write(self, inst: Instance, entity: dict[str, Any], write: str) -> None:
        self._store(inst)[entity["id"]] = entity
        record_visibility(inst, self.clock, write, self.kind, entity["id"])

    def _wrapped(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create*Request / Update*Request: `{<entity>}` and nothing else."""
        c = Checker()
        entity = c.obj(body, self.kind.name, self.kind.name, required=True)
        _only(body, frozenset({self.kind.name}), c, "")
        c.done()
        assert entity is not None
        return entity

    def _id(self, id: str) -> str:
        """A path id (Get/Update/Delete*Request: `@format GUID`)."""
        if not is_guid(id):
            raise ApiError(400, f"{self.kind.name}Id must be a GUID", violations=[
                {"field": f"{self.kind.name}Id", "description": "must be a GUID"}])  # fmt: skip
        return id

    def create(self, call: Call) -> dict[str, Any]:
        inst, data = call.inst, self._wrapped(call.json())
        c = Checker()
        check_shape(self.kind, data, c, self.kind.name)
        c.done(f"Invalid {self.kind.name}")  # references are only checked once the shape is sound
        check_refs(self.kind, data, inst, c, self.kind.name)
        c.done(f"Invalid {self.kind.name}")
        entity = _new_entity(self.kind, inst, self.clock, data)
        self._write(inst, entity, call.route)
        return {self.kind.name: entity}

    def get(self, call: Call, id: str) -> dict[str, Any]:
        entity = self._store(call.inst).get(self._id(id))
        if entity is None:
            raise not_found(self.kind.title, id)
        return {self.kind.name: entity}

    def update(self, call: Call, id: str) -> dict[str, Any]:
        self._id(id)
        patch = self._wrapped(call.json())
        c = Checker()
        if patch.get("id") not in (None, id):
            c.fail(f"{self.kind.name}.id", "does not match the id in the path")
        if patch.get("revision") is None:
            c.fail(f"{self.kind.name}.revision", "is required")
        check_shape(self.kind, patch, c, self.kind.name, partial=True)
        c.done(f"Invalid {self.kind.name}")
        entity = _updated(self.kind, call.inst, self.clock, {**patch, "id": id}, None, self.kind.name)
        self._write(call.inst, entity, call.route)
        return {self.kind.name: entity}

    def delete(self, call: Call, id: str) -> dict[str, Any]:
        """DELETE .../{id}; the SDK repeats the id as `?<kind>Id=` (Delete*Request), which must then agree."""
        repeated = call.request.args.get(f"{self.kind.name}Id")
        if repeated not in (None, id):
            raise bad_request(f"{self.kind.name}Id in the query does not match the path")
        if self._store(call.inst).pop(self._id(id), None) is None:
            raise not_found(self.kind.title, id)
        record_visibility(call.inst, self.clock, call.route, self.kind, id)
        return {}

    def list(self, call: Call) -> dict[str, Any]:
        """GET list: `<kind>Ids` (repeated), `onlyVisible`, `paging.limit` (<= 500) and `paging.cursor`."""
        args = call.request.args
        cursor = args.get("paging.cursor")
        flt: dict[str, Any] = {}
        ids = args.getlist(f"{self.kind.name}Ids")
        if ids:
            flt["id"] = {"$in": ids}
        if self.kind.has_visible and args.get("onlyVisible") == "true":
            flt["visible"] = True
        try:
            limit = int(args.get("paging.limit", DEFAULT_LIMIT))
        except ValueError as exc:
            raise bad_request("paging.limit must be an integer") from exc
        query: dict[str, Any] = {"cursorPaging": {"limit": limit, "cursor": cursor}}
        if not cursor:
            query["filter"] = flt
        return self._run(call.inst, query)

    def query(self, call: Call) -> dict[str, Any]:
        """Query*Request `{query: CursorQuery{cursorPaging{limit, cursor}, filter, sort}}`."""
        body = call.json()
        query = json_object(body.get("query") or {}, "query")
        c = Checker()
        _only(body, QUERY_FIELDS, c, "")
        _only(query, CURSOR_QUERY_FIELDS, c, "query.")
        if isinstance(query.get("cursorPaging"), dict):
            _only(query["cursorPaging"], CURSOR_PAGING_FIELDS, c, "query.cursorPaging.")
        c.done()
        return self._run(call.inst, query)

    def _run(self, inst: Instance, query: dict[str, Any]) -> dict[str, Any]:
        q = parse_query(query, scope=self.kind.plural, max_limit=QUERY_MAX, default_limit=DEFAULT_LIMIT)
        found = [e for e in self._store(inst).values() if matches(e, q.filter)]
        entities, metadata = page(sort_items(found, q.sort), q, self.kind.plural)
        return {self.kind.plural: entities, "pagingMetadata": metadata}

    def count(self, call: Call) -> dict[str, Any]:
        flt = validate_filter(call.json().get("filter") or {}, None)
        return {"count": sum(1 for e in self._store(call.inst).values() if matches(e, flt))}

    def bulk_create(self, call: Call) -> dict[str, Any]:
        """Format errors fail the whole call (400); missing references fail only their entity."""
        inst, body = call.inst, call.json()
        c = Checker()
        entries = c.array(body, self.kind.plural, self.kind.plural, required=True, min_len=1, max_len=BULK_MAX) or []
        return_entity = c.boolean(body, "returnEntity", "returnEntity")
        _only(body, BULK_FIELDS | {self.kind.plural}, c, "")
        for i, data in enumerate(entries):
            if isinstance(data, dict):
                check_shape(self.kind, data, c, f"{self.kind.plural}[{i}]")
            else:
                c.fail(f"{self.kind.plural}[{i}]", "must be an object")
        c.done(f"Invalid {self.kind.plural}")
        results = []
        for i, data in enumerate(entries):
            refs = Checker()
            check_refs(self.kind, data, inst, refs, f"{self.kind.plural}[{i}]")
            if refs.violations:
                results.append(_failure(self.kind.created[0], i, None, "INVALID_ARGUMENT", refs.violations))
                continue
            entity = _new_entity(self.kind, inst, self.clock, data)
            self._write(inst, entity, call.route)
            results.append(_success(self.kind.created, i, entity, bool(return_entity)))
        return _bulk_response(results, self.kind.created[0])

    def bulk_update(self, call: Call) -> dict[str, Any]:
        """`{<plural>: [{<entity>: {id, revision, ...}, mask}]}`; a stale revision fails only its entity."""
        inst, body = call.inst, call.json()
        c = Checker()
        entries = c.array(body, self.kind.plural, self.kind.plural, required=True, min_len=1, max_len=BULK_MAX) or []
        return_entity = c.boolean(body, "returnEntity", "returnEntity")
        _only(body, BULK_FIELDS | {self.kind.plural}, c, "")
        entry_fields = frozenset({self.kind.name} | ({self.kind.mask} if self.kind.mask else set()))
        parsed: list[tuple[dict[str, Any], list[str] | None]] = []
        for i, entry in enumerate(entries):
            path = f"{self.kind.plural}[{i}]"
            if isinstance(entry, dict):
                _only(entry, entry_fields, c, f"{path}.")
            patch = entry.get(self.kind.name) if isinstance(entry, dict) else None
            if not isinstance(patch, dict):
                c.fail(f"{path}.{self.kind.name}", "is required and must be an object")
                continue
            entity_id = c.text(patch, "id", f"{path}.{self.kind.name}.id", required=True, min_len=1)
            if entity_id is not None and not is_guid(entity_id):
                c.fail(f"{path}.{self.kind.name}.id", "must be a GUID")
            if patch.get("revision") is None:
                c.fail(f"{path}.{self.kind.name}.revision", "is required")
            check_shape(self.kind, patch, c, f"{path}.{self.kind.name}", partial=True)
            mask = _parse_mask(entry.get(self.kind.mask), f"{path}.{self.kind.mask}", c) if self.kind.mask else None
            parsed.append((patch, mask))
        c.done(f"Invalid {self.kind.plural}")
        results = []
        for i, (patch, mask) in enumerate(parsed):
            try:
                entity = _updated(self.kind, inst, self.clock, patch, mask, f"{self.kind.plural}[{i}].{self.kind.name}")
            except ApiError as err:
                meta = self.kind.updated[0]
                results.append(_failure(meta, i, patch["id"], _error_code(err), err.violations, err.message))
                continue
            self._write(inst, entity, call.route)
            results.append(_success(self.kind.updated, i, entity, bool(return_entity)))
        return _bulk_response(results, self.kind.updated[0])

    def bulk_delete(self, call: Call) -> dict[str, Any]:
        """BulkDelete*Request `{ids}` travels as the query string, `?ids=a&ids=b` (the SDK's builder sends
        `params: toURLSearchParams(payload)` and no body); a body is not read, so ids only there are no ids."""
        inst = call.inst
        ids = call.request.args.getlist("ids")
        c = Checker()
        if not 1 <= len(ids) <= BULK_MAX:
            c.fail("ids", f"must have between 1 and {BULK_MAX} ids (as ?ids= query parameters)")
        for i, entity_id in enumerate(ids):
            if not is_guid(entity_id):
                c.fail(f"ids[{i}]", "must be a GUID")
        c.done()
        results = []
        for i, entity_id in enumerate(ids):
            if self._store(inst).pop(entity_id, None) is None:
                description = f"{self.kind.title} {entity_id} not found"
                results.append(_failure(BULK_DELETE_RESULT, i, entity_id, "NOT_FOUND", None, description))
                continue
            record_visibility(inst, self.clock, call.route, self.kind, entity_id)
            results.append({BULK_DELETE_RESULT: {"id": entity_id, "originalIndex": i, "success": True}})
        return _bulk_response(results, BULK_DELETE_RESULT)


def _only(data: dict[str, Any], allowed: frozenset[str], c: Checker, prefix: str) -> None:
    """A request wrapper's fields: anything else is not in the REST type."""
    for field in data:
        if field not in allowed:
            c.fail(f"{prefix}{field}", "is not a field of this request")


def _success(keys: tuple[str, str], index: int, entity: dict[str, Any], return_entity: bool) -> dict[str, Any]:
    meta_key, entity_key = keys
    result: dict[str, Any] = {meta_key: {"id": entity["id"], "originalIndex": index, "success": True}}
    if return_entity:  # the SDK: entities come back only when returnEntity is true
        result[entity_key] = entity
    return result


def _error_code(err: ApiError) -> str:
    return err.code or ("INVALID_ARGUMENT" if err.status == 400 else "UNKNOWN")


def _failure(
    meta_key: str,
    index: int,
    entity_id: str | None,
    code: str,
    violations: list[dict[str, str]] | None,
    description: str = "",
) -> dict[str, Any]:
    text = description or "; ".join(f"{v['field']}: {v['description']}" for v in violations or [])
    error = {"code": code, "description": text, "data": {"fieldViolations": violations} if violations else {}}
    return {meta_key: {"id": entity_id, "originalIndex": index, "success": False, "error": error}}


def _bulk_response(results: list[dict[str, Any]], meta_key: str) -> dict[str, Any]:
    successes = sum(1 for r in results if r[meta_key]["success"])
    return {
        "results": results,
        "bulkActionMetadata": {
            "totalSuccesses": successes,
            "totalFailures": len(results) - successes,
            "undetailedFailures": 0,
        },
    }


# --- Visibility journal ---------------------------------------------------------------------------------------------


def visibility_violations(inst: Instance) -> list[dict[str, str]]:
    """What a customer would see broken: a visible menu listing a missing or hidden section, or a section of a
    visible menu listing a missing or hidden item."""
    sections, items = inst.menus["section"], inst.menus["item"]
    found = []
    for menu in inst.menus["menu"].values():
        if not menu.get("visible", True):
            continue
        for section_id in menu.get("sectionIds") or []:
            section = sections.get(section_id)
            if section is None or not section.get("visible", True):
                problem = "missing section" if section is None else "hidden section"
                found.append({"menuId": menu["id"], "sectionId": section_id, "problem": problem})
                continue
            for item_id in section.get("itemIds") or []:
                item = items.get(item_id)
                if item is None or not item.get("visible", True):
                    found.append(
                        {
                            "menuId": menu["id"],
                            "sectionId": section_id,
                            "itemId": item_id,
                            "problem": "missing item" if item is None else "hidden item",
                        }
                    )
    return found


def record_visibility(inst: Instance, clock: Clock, write: str, kind: Kind, entity_id: str) -> None:
    """Check after each entity write (bulk calls are not atomic either); keep only the failing snapshots."""
    inst.visibility_checks += 1
    violations = visibility_violations(inst)
    if violations:
        inst.visibility_violations.append(
            {
                "check": inst.visibility_checks,
                "at": clock.iso(),
                "write": write,
                "entity": {"kind": kind.name, "id": entity_id},
                "violations": violations,
            }
        )
