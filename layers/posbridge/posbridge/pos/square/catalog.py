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
variations cannot be sold online at a fixed price and are reported. An item is out of stock when all its variations are.

What never reaches Wix (squareup 46.0.0.20260916, square/types/*):
- an archived item (`CatalogItem.is_archived`): reported as skipped, so a sync removes it from Wix and an un-archived
  item comes back as a new one;
- a modifier hidden from online channels (`CatalogModifier.hidden_online`), unless the item says otherwise
  (`CatalogModifierOverride.hidden_online_override` YES hides it for that item, NO shows it, NOT_SET obeys the
  modifier).

Stock (developer.squareup.com/docs/inventory-api/monitor-sold-out-status-on-item-variation): `sold_out` at the location
(ItemVariationLocationOverrides / ModifierLocationOverrides) is out of stock, whoever set it. Square sets it itself when
a tracked variation's count reaches zero and then sends catalog.version.updated; the count is read too
(`IN_STOCK` at the location, Inventory API BatchRetrieveInventoryCounts), so an inventory.count.updated that arrives
before (or without) that catalog change still marks a tracked variation (`track_inventory`, the location's override
first) with a count of zero or less as out of stock. No count at all says nothing (Square: the variation has not
interacted with that state): `sold_out` alone decides then.

Modifier rules (CatalogModifierList, CatalogItemModifierListInfo): `selection_type` is deprecated and not read; the
list's `min_selected_modifiers` (> 0: required minimum; anything else: none) and `max_selected_modifiers` (> 0: the
maximum; anything else: no limit) are the rule. An item's `modifier_list_info[]` may override them (-1 or absent: the
list's value; 0 or < -1: none), disable the list (`enabled: false`), and per modifier pre-select it
(`on_by_default_override` YES/NO, else the deprecated `on_by_default`, else the modifier's own) or hide it
(`hidden_online_override`). Wix keeps the rule and the pre-selection on the group, so an item whose overrides change
what the list looks like gets a group of its own: one per distinct (list, effective rule, visible modifiers and their
pre-selection), with the POS id `<list id>~<digest>` (domain.catalog.derived_group_id: `~` is in no Square id);
items that change nothing share the list's own group.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from posbridge.domain.catalog import (
    DEFAULT_MENU_ID,
    Catalog,
    CatalogChanges,
    Issue,
    Item,
    LayoutOptions,
    Menu,
    Modifier,
    ModifierGroup,
    PosKind,
    Section,
    Variation,
    derived_group_id,
    source_group,
)
from posbridge.domain.money import Money
from posbridge.errors import PermanentError
from posbridge.pos.square.client import SquareClient

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # SearchCatalogObjects' maximum page size
RETRIEVE_LIMIT = 1000  # BatchRetrieveCatalogObjects' maximum object ids per request
OBJECT_TYPES = ("ITEM", "CATEGORY", "MODIFIER_LIST")  # variations and modifiers come nested in their parents
UNCATEGORIZED_ID = "posbridge-uncategorized"
# BatchRetrieveInventoryCounts (squareup: InventoryClient.batch_get_counts)
INVENTORY_COUNTS_PATH = "/v2/inventory/counts/batch-retrieve"
COUNT_IDS_PER_REQUEST = 1000  # Square documents no maximum for catalog_object_ids: kept to the catalog's own batch size


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


def fetch_counts(
    client: SquareClient,
    location_id: str,
    *,
    variation_ids: Iterable[str] | None = None,
    updated_after: str | None = None,
) -> list[dict[str, Any]]:
    """`IN_STOCK` inventory counts at the location (BatchRetrieveInventoryCounts, square/inventory/raw_client.py
    `batch_get_counts`: catalog_object_ids, location_ids, updated_after, states, cursor), of these variations or of
    every one whose count changed after `updated_after` (exclusive: "calculated_at value after the given time")."""
    base: dict[str, Any] = {"location_ids": [location_id], "states": ["IN_STOCK"]}
    if updated_after:
        base["updated_after"] = updated_after
    chunks: list[dict[str, Any]] = [base]
    if variation_ids is not None:
        ids = sorted(set(variation_ids))
        chunks = [
            {**base, "catalog_object_ids": ids[start : start + COUNT_IDS_PER_REQUEST]}
            for start in range(0, len(ids), COUNT_IDS_PER_REQUEST)
        ]
    counts: list[dict[str, Any]] = []
    for body in chunks:
        while True:
            page = client.post(INVENTORY_COUNTS_PATH, body)
            found = page.get("counts") or []
            if not isinstance(found, list):
                raise PermanentError("square_unexpected_response", "Square's inventory answer has no count list.")
            counts += [c for c in found if isinstance(c, dict)]
            cursor = page.get("cursor")
            if not cursor:
                break
            body = {**body, "cursor": cursor}
    return counts


def quantities(counts: Iterable[dict[str, Any]], location_id: str) -> dict[str, Decimal]:
    """Variation id -> its `IN_STOCK` quantity at the location (InventoryCount.quantity: a decimal string)."""
    found: dict[str, Decimal] = {}
    for count in counts:
        if (
            count.get("catalog_object_type") != "ITEM_VARIATION"
            or count.get("state") != "IN_STOCK"
            or count.get("location_id") != location_id
            or not isinstance(count.get("catalog_object_id"), str)
        ):
            continue
        try:
            found[count["catalog_object_id"]] = Decimal(str(count.get("quantity")))
        except InvalidOperation:
            continue
    return found


def tracked_variation_ids(objects: Iterable[dict[str, Any]], location_id: str) -> list[str]:
    """Variations (nested in their items) whose inventory Square tracks at the location."""
    return [
        var["id"]
        for obj in objects
        if isinstance(obj, dict) and obj.get("type") == "ITEM"
        for var in (obj.get("item_data") or {}).get("variations") or []
        if isinstance(var, dict) and isinstance(var.get("id"), str) and _tracked(var, location_id)
    ]


def _tracked(variation: dict[str, Any], location_id: str) -> bool:
    """ItemVariationLocationOverrides.track_inventory when set, else CatalogItemVariation.track_inventory; unset at
    both levels: not tracked."""
    data = variation.get("item_variation_data") or {}
    for override in data.get("location_overrides") or []:
        here = isinstance(override, dict) and override.get("location_id") == location_id
        if here and isinstance(override.get("track_inventory"), bool):
            return bool(override["track_inventory"])
    return data.get("track_inventory") is True


class SquareCatalogSource:
    """The POS catalog port for Square: one seller location."""

    def __init__(self, client: SquareClient, location_id: str) -> None:
        self._client = client
        self._location_id = location_id

    def __repr__(self) -> str:
        return f"SquareCatalogSource(location_id={self._location_id!r})"

    def load_catalog(self, options: LayoutOptions) -> Catalog:
        objects, as_of = fetch_catalog_objects(self._client)
        counts = self._counts(objects)
        return to_catalog(objects, self._location_id, options, counts=counts).model_copy(update={"as_of": as_of})

    def load_items(self, item_ids: Iterable[str], group_ids: Iterable[str], options: LayoutOptions) -> Catalog:
        """Just these items and modifier lists, with the lists the items use (no menus): Batch Retrieve with related
        objects. Deleted or absent ones are simply not in the answer. A derived group's list is read for it."""
        lists_asked = {source_group(g) for g in group_ids}
        objects = self._retrieve(sorted(set(item_ids) | lists_asked))
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
        return to_partial_catalog(objects, self._location_id, options, counts=self._counts(objects))

    def _counts(self, objects: list[dict[str, Any]]) -> dict[str, Decimal]:
        """The IN_STOCK counts of the tracked variations among these objects (no call when none is tracked)."""
        tracked = tracked_variation_ids(objects, self._location_id)
        if not tracked:
            return {}
        return quantities(self._read_counts(variation_ids=tracked), self._location_id)

    def _read_counts(self, **query: Any) -> list[dict[str, Any]]:
        """fetch_counts; a token without INVENTORY_READ (Square: 403 INSUFFICIENT_SCOPES) reads none, so a seller
        connected before counts were read keeps syncing, stock then following `sold_out` alone (Square's own
        signal; the counts only make it sooner)."""
        try:
            return fetch_counts(self._client, self._location_id, **query)
        except PermanentError as exc:
            if exc.reason != "square_insufficient_scopes":
                raise
            log.warning("Square inventory counts are not readable (INVENTORY_READ not granted): sold_out alone decides")
            return []

    def _retrieve(self, ids: list[str], related: bool = True) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        for start in range(0, len(ids), RETRIEVE_LIMIT):
            body = {"object_ids": ids[start : start + RETRIEVE_LIMIT], "include_related_objects": related}
            page = self._client.post("/v2/catalog/batch-retrieve", body)
            for key in ("objects", "related_objects"):
                objects += [o for o in page.get(key) or [] if isinstance(o, dict)]
        return objects

    def changes_since(self, begin_time: str | None) -> CatalogChanges:
        """What changed after `begin_time` (None: everything), deleted objects included: Search Catalog with
        `begin_time`, as catalog.version.updated asks (it names only the catalog's new updated_at). A variation or
        modifier is traced to its item or list; over one page of changes, or one whose parent is not named, the
        answer says `whole`: only the whole catalog can tell what they touched.

        Inventory counts changed after `begin_time` at the location are changes too (inventory.count.updated names
        counts, not catalog objects, and moves no catalog version by itself): their variations are traced to their
        items with one Batch Retrieve. The latest change, catalog or count, is the next cursor (both are Square's
        server times)."""
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
                latest = _later(latest, obj.get("updated_at"))
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
        counted = 0
        catalog_items = set(scope["items"])
        if begin_time:  # without a cursor everything is read anyway, counts included
            counts = self._read_counts(updated_after=begin_time)
            counted = len(counts)
            for count in counts:
                latest = _later(latest, count.get("calculated_at"))
            restocked = sorted(set(quantities(counts, self._location_id)) - scope["variations"])
            if len(restocked) > SEARCH_LIMIT:
                whole = True
            elif restocked:
                for variation in self._retrieve(restocked, related=False):
                    item_id = (variation.get("item_variation_data") or {}).get("item_id")
                    if variation.get("type") == "ITEM_VARIATION" and isinstance(item_id, str):
                        scope["variations"].add(variation["id"])
                        scope["items"].add(item_id)
        return CatalogChanges(
            count=len(found) + counted,
            latest=latest,
            items=frozenset(scope["items"]),
            variations=frozenset(scope["variations"]),
            modifier_groups=frozenset(scope["modifier_groups"]),
            modifiers=frozenset(scope["modifiers"]),
            categories=frozenset(scope["categories"]),
            counted_items=frozenset(scope["items"] - catalog_items),
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


def _later(latest: str | None, stamp: Any) -> str | None:
    if isinstance(stamp, str) and (latest is None or _utc(stamp) > _utc(latest)):
        return stamp
    return latest


def _utc(stamp: str) -> datetime:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


# --- mapping ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Choice:
    """A modifier of a list as the list itself shows it; an item's overrides may pre-select or hide it."""

    modifier: Modifier
    on_by_default: bool
    hidden_online: bool


@dataclass(frozen=True)
class _List:
    """A Square modifier list at the location, before any item's overrides."""

    pos_id: str
    name: str
    choices: tuple[_Choice, ...]
    low: int
    high: int | None


class _Builder:
    def __init__(
        self, location_id: str, options: LayoutOptions, now: datetime, counts: dict[str, Decimal] | None = None
    ) -> None:
        self.location_id = location_id
        self.options = options
        self.now = now
        self.counts = counts or {}
        self.issues: list[Issue] = []
        self.currencies: list[str] = []
        self.groups: dict[str, ModifierGroup] = {}  # every group an item uses, derived ones included
        self.base_groups: dict[str, ModifierGroup | None] = {}  # each list's own group (no item's overrides)

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
            self.issue("VARIANT", obj["id"], name, "variable or missing price: not sold online", skipped=True)
            return None
        counted_out = _tracked(obj, self.location_id) and self.counts.get(obj["id"], Decimal(1)) <= 0
        return Variation(pos_id=obj["id"], name=name, price=price, in_stock=not (self.sold_out(data) or counted_out))

    def item(self, obj: dict[str, Any], lists: dict[str, _List]) -> Item | None:
        data = obj.get("item_data") or {}
        name = str(data.get("name") or "")
        if data.get("is_archived") is True:
            self.issue("ITEM", obj["id"], name, "archived on the POS: not sold online", skipped=True)
            return None
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
        infos = [i for i in data.get("modifier_list_info") or [] if isinstance(i, dict)]
        for info in sorted(infos, key=lambda i: _int(i.get("ordinal"), 1 << 31)):  # the item's own list order
            list_id = info.get("modifier_list_id")
            if info.get("enabled", True) is False or not isinstance(list_id, str):
                continue
            group = self.group_for(lists[list_id], info) if list_id in lists else None
            if group is not None:
                group_ids.append(group.pos_id)
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

    def modifier_list(self, obj: dict[str, Any]) -> _List | None:
        data = obj.get("modifier_list_data") or {}
        name = str(data.get("name") or "")
        choices = []
        for mod in sorted(data.get("modifiers") or [], key=_ordinal("modifier_data")):
            if not isinstance(mod, dict) or not isinstance(mod.get("id"), str) or not self.present(mod):
                continue
            mdata = mod.get("modifier_data") or {}
            price = self.money(self._override(mdata).get("price_money") or mdata.get("price_money"))
            modifier = Modifier(
                pos_id=mod["id"],
                name=str(mdata.get("name") or ""),
                price=price if price is not None and price.amount > 0 else None,
                in_stock=not self.sold_out(mdata),
            )
            choices.append(_Choice(modifier, mdata.get("on_by_default") is True, mdata.get("hidden_online") is True))
        if not choices:
            self.issue("MODIFIER_GROUP", obj["id"], name, "no modifiers at this location", skipped=True)
            return None
        # CatalogModifierList: min > 0 is a required minimum, max > 0 a maximum; 0, -1 (unset) and < -1 mean none
        return _List(
            obj["id"], name, tuple(choices), _positive(data.get("min_selected_modifiers")) or 0,
            _positive(data.get("max_selected_modifiers")),
        )  # fmt: skip

    def group_for(self, lst: _List, info: dict[str, Any] | None) -> ModifierGroup | None:
        """The Wix group an item gets for a list with its `modifier_list_info` entry: the list's own when the entry
        changes nothing, else a derived one (shared by every item that changes it the same way)."""
        low, high = lst.low, lst.high
        overrides: dict[str, dict[str, Any]] = {}
        if info is not None:
            # CatalogItemModifierListInfo: -1 (or absent) keeps the list's value; 0 and < -1 mean none; > 0 is the value
            item_low = _int(info.get("min_selected_modifiers"), -1)
            item_high = _int(info.get("max_selected_modifiers"), -1)
            low = low if item_low == -1 else max(item_low, 0)
            high = high if item_high == -1 else (item_high if item_high > 0 else None)
            for override in info.get("modifier_overrides") or []:
                if isinstance(override, dict) and isinstance(override.get("modifier_id"), str):
                    overrides[override["modifier_id"]] = override
        modifiers = []
        for choice in lst.choices:
            override = overrides.get(choice.modifier.pos_id, {})
            if _toggle(override.get("hidden_online_override"), choice.hidden_online):
                continue
            default = override.get("on_by_default")  # deprecated: on_by_default_override wins when it is set
            pre_selected = _toggle(
                override.get("on_by_default_override"), default if isinstance(default, bool) else choice.on_by_default
            )
            modifiers.append(choice.modifier.model_copy(update={"pre_selected": pre_selected}))
        if not modifiers:
            return None
        group = ModifierGroup(
            pos_id=lst.pos_id,
            name=lst.name,
            modifiers=tuple(modifiers),
            required=low > 0,
            min_selections=min(low, high) if high is not None else low,
            max_selections=high,
        )
        if info is None:
            return group
        if lst.pos_id not in self.base_groups:
            self.base_groups[lst.pos_id] = self.group_for(lst, None)
        if group != self.base_groups[lst.pos_id]:
            digest = hashlib.sha256(group.model_dump_json(exclude={"pos_id", "name"}).encode()).hexdigest()[:16]
            group = group.model_copy(update={"pos_id": derived_group_id(lst.pos_id, digest)})
        self.groups[group.pos_id] = group
        return group


def to_catalog(
    objects: Iterable[dict[str, Any]],
    location_id: str,
    options: LayoutOptions | None = None,
    now: datetime | None = None,
    counts: dict[str, Decimal] | None = None,
) -> Catalog:
    """The canonical catalog of one Square location (objects as Square's list/search answers render them), with the
    `IN_STOCK` counts of its tracked variations (`quantities`)."""
    b = _Builder(location_id, options or LayoutOptions(), now or datetime.now(UTC), counts)
    live = [o for o in objects if isinstance(o, dict) and isinstance(o.get("id"), str) and b.present(o)]
    categories = {o["id"]: o for o in live if o.get("type") == "CATEGORY"}
    lists = _lists(b, live)
    raw_items = [o for o in live if o.get("type") == "ITEM"]
    items = {i.pos_id: i for i in (b.item(o, lists) for o in raw_items) if i is not None}
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
        modifier_groups={k: v for k, v in b.groups.items() if k in used_groups},
        currency=currency,
        issues=tuple(b.issues),
    )


def to_partial_catalog(
    objects: Iterable[dict[str, Any]],
    location_id: str,
    options: LayoutOptions | None = None,
    now: datetime | None = None,
    counts: dict[str, Decimal] | None = None,
) -> Catalog:
    """Some items and modifier lists, mapped exactly as `to_catalog` maps them but without menus (those need every
    item): an incremental sync diffs these when none of the items moved (`Item.placement`). Each list's own group is
    included, with the groups the items use."""
    b = _Builder(location_id, options or LayoutOptions(), now or datetime.now(UTC), counts)
    unique = {o["id"]: o for o in objects if isinstance(o, dict) and isinstance(o.get("id"), str)}
    live = [o for o in unique.values() if b.present(o)]
    lists = _lists(b, live)
    items = {i.pos_id: i for i in (b.item(o, lists) for o in live if o.get("type") == "ITEM") if i is not None}
    own = {k: g for k, g in ((k, b.group_for(lst, None)) for k, lst in lists.items()) if g is not None}
    groups = {**own, **b.groups}
    currency = max(set(b.currencies), key=b.currencies.count) if b.currencies else "USD"
    return Catalog(menus=(), items=items, modifier_groups=groups, currency=currency, issues=tuple(b.issues))


def _lists(b: _Builder, live: list[dict[str, Any]]) -> dict[str, _List]:
    return {
        lst.pos_id: lst
        for lst in (b.modifier_list(o) for o in live if o.get("type") == "MODIFIER_LIST")
        if lst is not None
    }


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


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _toggle(value: Any, default: bool) -> bool:
    """CatalogModifierToggleOverrideType: YES / NO override, NOT_SET (or absent) keeps the default."""
    return True if value == "YES" else False if value == "NO" else default


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
