"""Square catalog -> canonical catalog (square-api.md, "Catalog").

Layout, as Square advises: when the seller built menus in the Square Dashboard (MENU_CATEGORY categories), each
top-level menu category becomes a menu and its child menu categories its sections (deeper levels fold into their
section; items placed on the menu category itself get a section named after it); regular categories, which also
drive reports and kitchen routing, are then ignored, and an item in no menu category is reported and left out.
A catalog without menu categories becomes one menu (its name is configurable) whose sections are the regular
categories; items in no category go to a last section (also configurable). Within a section items are ordered by
their ordinal in that category, then by id: never by the order Square lists them in (which moves an item that was
edited), so an edit of one item never reorders its section.

Prices: integer minor units -> exact decimals (Money); a location override wins over the base price; variable-price
variations cannot be sold online at a fixed price and are reported. `sold_out` at the location -> out of stock;
an item is out of stock when all its variations are. SINGLE modifier lists allow one choice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from posbridge.domain.catalog import (
    DEFAULT_MENU_ID,
    Catalog,
    CatalogChanges,
    Issue,
    Item,
    Menu,
    Modifier,
    ModifierGroup,
    PosKind,
    Section,
    Variation,
)
from posbridge.domain.money import Money
from posbridge.errors import PermanentError
from posbridge.pos.square.client import SquareClient

SEARCH_LIMIT = 1000  # SearchCatalogObjects' maximum page size
RETRIEVE_LIMIT = 1000  # BatchRetrieveCatalogObjects' maximum object ids per request
OBJECT_TYPES = ("ITEM", "CATEGORY", "MODIFIER_LIST")  # variations and modifiers come nested in their parents
UNCATEGORIZED_ID = "posbridge-uncategorized"


@dataclass(frozen=True)
class LayoutOptions:
    menu_name: str = "Menu"  # the one menu of a catalog without menu categories
    uncategorized_name: str = "Other"  # its section for items in no category


def fetch_catalog_objects(client: SquareClient) -> tuple[list[dict[str, Any]], str | None]:
    """Every live ITEM (variations nested), CATEGORY and MODIFIER_LIST (modifiers nested), page by page, and the
    first page's `latest_time`: the catalog's last update when the read began. Every object read reflects at least
    that time, and any change made after it (during the paging too) is newer than it, so a Search Catalog with that
    `begin_time` (exclusive) finds it. Square's clock, not ours: no skew between posbridge and Square to allow for."""
    objects: list[dict[str, Any]] = []
    cursor: str | None = None
    as_of: str | None = None
    while True:
        body: dict[str, Any] = {"object_types": list(OBJECT_TYPES), "limit": SEARCH_LIMIT}
        if cursor:
            body["cursor"] = cursor
        page = client.post("/v2/catalog/search", body)
        found = page.get("objects") or []
        if not isinstance(found, list):
            raise PermanentError("square_unexpected_response", "Square's catalog search answer has no object list.")
        if cursor is None and isinstance(page.get("latest_time"), str):
            as_of = page["latest_time"]
        objects += [o for o in found if isinstance(o, dict)]
        cursor = page.get("cursor")
        if not cursor:
            return objects, as_of


class SquareCatalogSource:
    """The POS catalog port for Square: one seller location."""

    def __init__(self, client: SquareClient, location_id: str) -> None:
        self._client = client
        self._location_id = location_id

    def __repr__(self) -> str:
        return f"SquareCatalogSource(location_id={self._location_id!r})"

    def load_catalog(self, options: LayoutOptions) -> Catalog:
        objects, as_of = fetch_catalog_objects(self._client)
        return to_catalog(objects, self._location_id, options).model_copy(update={"as_of": as_of})

    def load_items(self, item_ids: Iterable[str], group_ids: Iterable[str], options: LayoutOptions) -> Catalog:
        """Just these items and modifier lists, with the lists the items use (no menus): Batch Retrieve with related
        objects. Deleted or absent ones are simply not in the answer."""
        objects = self._retrieve(sorted(set(item_ids) | set(group_ids)))
        seen = {o.get("id") for o in objects}
        lists = {
            info.get("modifier_list_id")
            for o in objects
            if o.get("type") == "ITEM"
            for info in (o.get("item_data") or {}).get("modifier_list_info") or []
            if isinstance(info, dict)
        }
        missing = sorted(i for i in lists if isinstance(i, str) and i not in seen)
        if missing:  # a list the items use that was not among the related objects: asked for by id
            objects += self._retrieve(missing)
        return to_partial_catalog(objects, self._location_id, options)

    def _retrieve(self, ids: list[str]) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        for start in range(0, len(ids), RETRIEVE_LIMIT):
            body = {"object_ids": ids[start : start + RETRIEVE_LIMIT], "include_related_objects": True}
            page = self._client.post("/v2/catalog/batch-retrieve", body)
            for key in ("objects", "related_objects"):
                objects += [o for o in page.get(key) or [] if isinstance(o, dict)]
        return objects

    def changes_since(self, begin_time: str | None) -> CatalogChanges:
        """What changed after `begin_time` (None: everything), deleted objects included: Search Catalog with
        `begin_time`, as catalog.version.updated asks (it names only the catalog's new updated_at). A variation or
        modifier is traced to its item or list; over one page of changes, or one whose parent is not named, the
        answer says `whole`: only the whole catalog can tell what they touched."""
        body: dict[str, Any] = {
            "object_types": [*OBJECT_TYPES, "ITEM_VARIATION", "MODIFIER"],
            "include_deleted_objects": True,
            "limit": SEARCH_LIMIT,
        }
        if begin_time:
            body["begin_time"] = begin_time
        latest: str | None = None
        found: list[dict[str, Any]] = []
        while True:
            page = self._client.post("/v2/catalog/search", body)
            objects = [o for o in page.get("objects") or [] if isinstance(o, dict) and isinstance(o.get("id"), str)]
            found += objects
            for obj in objects:
                stamp = obj.get("updated_at")
                if isinstance(stamp, str) and (latest is None or _utc(stamp) > _utc(latest)):
                    latest = stamp
            cursor = page.get("cursor")
            if not cursor or not objects:
                break
            body["cursor"] = cursor
        scope: dict[str, set[str]] = {kind: set() for kind in CHANGE_KINDS.values()}
        whole = len(found) > SEARCH_LIMIT
        for obj in found:
            kind = CHANGE_KINDS.get(str(obj.get("type")))
            if kind is None:
                continue
            scope[kind].add(obj["id"])
            if kind in PARENTS:
                parent_kind, data_key, link = PARENTS[kind]
                parent = (obj.get(data_key) or {}).get(link)
                if isinstance(parent, str):
                    scope[parent_kind].add(parent)
                else:
                    whole = True
        return CatalogChanges(
            count=len(found),
            latest=latest,
            items=frozenset(scope["items"]),
            variations=frozenset(scope["variations"]),
            modifier_groups=frozenset(scope["modifier_groups"]),
            modifiers=frozenset(scope["modifiers"]),
            categories=frozenset(scope["categories"]),
            whole=whole,
        )


CHANGE_KINDS = {
    "ITEM": "items",
    "ITEM_VARIATION": "variations",
    "MODIFIER_LIST": "modifier_groups",
    "MODIFIER": "modifiers",
    "CATEGORY": "categories",
}
PARENTS = {  # a child's kind -> its parent's kind, where the child names it
    "variations": ("items", "item_variation_data", "item_id"),
    "modifiers": ("modifier_groups", "modifier_data", "modifier_list_id"),
}


def _utc(stamp: str) -> datetime:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


# --- mapping ----------------------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, location_id: str, options: LayoutOptions, now: datetime) -> None:
        self.location_id = location_id
        self.options = options
        self.now = now
        self.issues: list[Issue] = []
        self.currencies: list[str] = []

    def issue(self, kind: PosKind, pos_id: str, name: str, problem: str, skipped: bool = False) -> None:
        self.issues.append(Issue(kind=kind, pos_id=pos_id, name=name, problem=problem, skipped=skipped))

    def present(self, obj: dict[str, Any]) -> bool:
        """Live at the tenant's location (Square: present_at_all_locations, present_at / absent_at lists)."""
        if obj.get("is_deleted"):
            return False
        if self.location_id in (obj.get("absent_at_location_ids") or []):
            return False
        if obj.get("present_at_all_locations", True):
            return True
        return self.location_id in (obj.get("present_at_location_ids") or [])

    def _override(self, data: dict[str, Any]) -> dict[str, Any]:
        for override in data.get("location_overrides") or []:
            if isinstance(override, dict) and override.get("location_id") == self.location_id:
                return override
        return {}

    def sold_out(self, data: dict[str, Any]) -> bool:
        override = self._override(data)
        if not override.get("sold_out"):
            return False
        until = override.get("sold_out_valid_until")
        if isinstance(until, str):
            try:
                return datetime.fromisoformat(until.replace("Z", "+00:00")) > self.now
            except ValueError:
                return True
        return True

    def money(self, value: Any) -> Money | None:
        if not isinstance(value, dict) or isinstance(value.get("amount"), bool):
            return None
        amount, currency = value.get("amount"), value.get("currency")
        if not isinstance(amount, int) or amount < 0 or not isinstance(currency, str):
            return None
        self.currencies.append(currency.upper())
        return Money.from_minor_units(amount, currency)

    def variation(self, obj: dict[str, Any], item_name: str) -> Variation | None:
        data = obj.get("item_variation_data") or {}
        name = str(data.get("name") or item_name)
        price = self.money(self._override(data).get("price_money") or data.get("price_money"))
        if data.get("pricing_type") == "VARIABLE_PRICING" or price is None:
            self.issue("ITEM_VARIATION", obj["id"], name, "variable or missing price: not sold online", skipped=True)
            return None
        return Variation(pos_id=obj["id"], name=name, price=price, in_stock=not self.sold_out(data))

    def item(self, obj: dict[str, Any], groups: dict[str, ModifierGroup]) -> Item | None:
        data = obj.get("item_data") or {}
        name = str(data.get("name") or "")
        variations = [
            v
            for v in (
                self.variation(var, name)
                for var in sorted(data.get("variations") or [], key=_ordinal("item_variation_data"))
                if isinstance(var, dict) and self.present(var)
            )
            if v is not None
        ]
        if not variations:
            self.issue("ITEM", obj["id"], name, "no variation with a fixed price at this location", skipped=True)
            return None
        group_ids = []
        for info in data.get("modifier_list_info") or []:
            list_id = info.get("modifier_list_id") if isinstance(info, dict) else None
            if info.get("enabled", True) is False or not isinstance(list_id, str):
                continue
            if list_id in groups:
                group_ids.append(list_id)
            else:
                self.issue("ITEM", obj["id"], name, f"modifier list {list_id} is not available: left out")
        return Item(
            pos_id=obj["id"],
            name=name,
            description=str(data.get("description") or data.get("description_plaintext") or ""),
            variations=tuple(variations),
            modifier_group_ids=tuple(dict.fromkeys(group_ids)),
            placement=_fingerprint(_placements(obj)),
        )

    def modifier_group(self, obj: dict[str, Any]) -> ModifierGroup | None:
        data = obj.get("modifier_list_data") or {}
        name = str(data.get("name") or "")
        modifiers = []
        for mod in sorted(data.get("modifiers") or [], key=_ordinal("modifier_data")):
            if not isinstance(mod, dict) or not self.present(mod):
                continue
            mdata = mod.get("modifier_data") or {}
            price = self.money(mdata.get("price_money"))
            modifiers.append(
                Modifier(
                    pos_id=mod["id"],
                    name=str(mdata.get("name") or ""),
                    price=price if price is not None and price.amount > 0 else None,
                    in_stock=not self.sold_out(mdata),
                    pre_selected=bool(mdata.get("on_by_default")),
                )
            )
        if not modifiers:
            self.issue("MODIFIER_LIST", obj["id"], name, "no modifiers at this location", skipped=True)
            return None
        single = data.get("selection_type") == "SINGLE"
        low = _positive(data.get("min_selected_modifiers")) or 0
        high = 1 if single else _positive(data.get("max_selected_modifiers"))
        return ModifierGroup(
            pos_id=obj["id"],
            name=name,
            modifiers=tuple(modifiers),
            required=low > 0,
            min_selections=min(low, high) if high is not None else low,
            max_selections=high,
        )


def to_catalog(
    objects: Iterable[dict[str, Any]],
    location_id: str,
    options: LayoutOptions | None = None,
    now: datetime | None = None,
) -> Catalog:
    """The canonical catalog of one Square location (objects as Square's list/search answers render them)."""
    b = _Builder(location_id, options or LayoutOptions(), now or datetime.now(UTC))
    live = [o for o in objects if isinstance(o, dict) and isinstance(o.get("id"), str) and b.present(o)]
    categories = {o["id"]: o for o in live if o.get("type") == "CATEGORY"}
    groups = {
        g.pos_id: g for g in (b.modifier_group(o) for o in live if o.get("type") == "MODIFIER_LIST") if g is not None
    }
    raw_items = [o for o in live if o.get("type") == "ITEM"]
    items = {i.pos_id: i for i in (b.item(o, groups) for o in raw_items) if i is not None}
    placements = {o["id"]: _placements(o) for o in raw_items if o["id"] in items}

    menu_categories = [c for c in categories.values() if _category_type(c) == "MENU_CATEGORY"]
    if menu_categories:
        menus = _menus_from_menu_categories(menu_categories, categories, placements)
    else:
        menus = _single_menu(categories, placements, b.options)
    placed = {pos_id for menu in menus for section in menu.sections for pos_id in section.item_ids}
    for pos_id, item in items.items():
        if pos_id not in placed:
            b.issue("ITEM", pos_id, item.name, "not in any menu category: not on a menu", skipped=True)
    used_items = {k: v for k, v in items.items() if k in placed}
    used_groups = {g for item in used_items.values() for g in item.modifier_group_ids}
    currency = max(set(b.currencies), key=b.currencies.count) if b.currencies else "USD"
    return Catalog(
        menus=tuple(menus),
        items=used_items,
        modifier_groups={k: v for k, v in groups.items() if k in used_groups},
        currency=currency,
        issues=tuple(b.issues),
    )


def to_partial_catalog(
    objects: Iterable[dict[str, Any]],
    location_id: str,
    options: LayoutOptions | None = None,
    now: datetime | None = None,
) -> Catalog:
    """Some items and modifier lists, mapped exactly as `to_catalog` maps them but without menus (those need every
    item): an incremental sync diffs these when none of the items moved (`Item.placement`)."""
    b = _Builder(location_id, options or LayoutOptions(), now or datetime.now(UTC))
    unique = {o["id"]: o for o in objects if isinstance(o, dict) and isinstance(o.get("id"), str)}
    live = [o for o in unique.values() if b.present(o)]
    groups = {
        g.pos_id: g for g in (b.modifier_group(o) for o in live if o.get("type") == "MODIFIER_LIST") if g is not None
    }
    items = {i.pos_id: i for i in (b.item(o, groups) for o in live if o.get("type") == "ITEM") if i is not None}
    currency = max(set(b.currencies), key=b.currencies.count) if b.currencies else "USD"
    return Catalog(menus=(), items=items, modifier_groups=groups, currency=currency, issues=tuple(b.issues))


def _menus_from_menu_categories(
    menu_categories: list[dict[str, Any]],
    categories: dict[str, dict[str, Any]],
    placements: dict[str, dict[str, int | None]],
) -> list[Menu]:
    menu_ids = {c["id"] for c in menu_categories}
    roots = [c for c in menu_categories if _parent(c) not in menu_ids]  # top level (or parent not a menu category)

    def section_of(category_id: str, root_id: str) -> str | None:
        """The direct child of `root_id` that `category_id` sits under (itself included); the root for itself."""
        seen: set[str] = set()
        current = category_id
        while current not in seen:
            seen.add(current)
            parent = _parent(categories[current]) if current in categories else None
            if current == root_id:
                return root_id
            if parent == root_id:
                return current
            if parent is None or parent not in menu_ids:
                return None
            current = parent
        return None

    menus = []
    for root in roots:
        children = sorted((c for c in menu_categories if _parent(c) == root["id"]), key=lambda c: _parent_ordinal(c))
        slots: dict[str, list[tuple[int, str]]] = {root["id"]: []} | {c["id"]: [] for c in children}
        for item_id, cats in placements.items():
            for category_id, ordinal in cats.items():
                if category_id not in menu_ids:
                    continue
                slot = section_of(category_id, root["id"])
                if slot is not None and all(entry[1] != item_id for entry in slots[slot]):
                    slots[slot].append((ordinal if ordinal is not None else 1 << 31, item_id))
        sections = [
            Section(pos_id=c["id"], name=_name(c), item_ids=tuple(i for *_, i in sorted(slots[c["id"]])))
            for c in [root, *children]
            if slots[c["id"]]
        ]
        if sections:
            menus.append(Menu(pos_id=root["id"], name=_name(root), sections=tuple(sections)))
    return menus


def _single_menu(
    categories: dict[str, dict[str, Any]],
    placements: dict[str, dict[str, int | None]],
    options: LayoutOptions,
) -> list[Menu]:
    slots: dict[str, list[tuple[int, str]]] = {cid: [] for cid in categories}
    loose: list[str] = []
    for item_id, cats in placements.items():
        known = [(cid, o) for cid, o in cats.items() if cid in categories]
        if not known:
            loose.append(item_id)
        for category_id, ordinal in known:
            slots[category_id].append((ordinal if ordinal is not None else 1 << 31, item_id))
    sections = [
        Section(pos_id=cid, name=_name(categories[cid]), item_ids=tuple(i for *_, i in sorted(entries)))
        for cid, entries in slots.items()
        if entries
    ]
    if loose:
        loose.sort()
        sections.append(Section(pos_id=UNCATEGORIZED_ID, name=options.uncategorized_name, item_ids=tuple(loose)))
    if not sections:
        return []
    return [Menu(pos_id=DEFAULT_MENU_ID, name=options.menu_name, sections=tuple(sections))]


def _placements(item: dict[str, Any]) -> dict[str, int | None]:
    """The item's categories with its ordinal in each (`categories[]`, or the older single `category_id`)."""
    data = item.get("item_data") or {}
    found: dict[str, int | None] = {}
    for ref in data.get("categories") or []:
        if isinstance(ref, dict) and isinstance(ref.get("id"), str):
            ordinal = ref.get("ordinal")
            found[ref["id"]] = ordinal if isinstance(ordinal, int) and not isinstance(ordinal, bool) else None
    if isinstance(data.get("category_id"), str):
        found.setdefault(data["category_id"], None)
    return found


def _fingerprint(placements: dict[str, int | None]) -> str:
    """`Item.placement`: the item's categories and ordinals. Items are ordered in a section by (ordinal, id), never
    by the order Square happens to list them in, so nothing but this decides where the item goes."""
    body = json.dumps(sorted(placements.items(), key=lambda p: p[0]), separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _category_type(category: dict[str, Any]) -> str:
    return str((category.get("category_data") or {}).get("category_type") or "REGULAR_CATEGORY")


def _parent(category: dict[str, Any]) -> str | None:
    data = category.get("category_data") or {}
    if data.get("is_top_level") is True:
        return None
    parent = data.get("parent_category")
    return parent.get("id") if isinstance(parent, dict) and isinstance(parent.get("id"), str) else None


def _parent_ordinal(category: dict[str, Any]) -> int:
    parent = (category.get("category_data") or {}).get("parent_category") or {}
    ordinal = parent.get("ordinal") if isinstance(parent, dict) else None
    return ordinal if isinstance(ordinal, int) else 1 << 31


def _name(category: dict[str, Any]) -> str:
    return str((category.get("category_data") or {}).get("name") or "")


def _ordinal(data_key: str) -> Any:
    def key(obj: Any) -> int:
        ordinal = (obj.get(data_key) or {}).get("ordinal") if isinstance(obj, dict) else None
        return ordinal if isinstance(ordinal, int) and not isinstance(ordinal, bool) else 1 << 31

    return key


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
