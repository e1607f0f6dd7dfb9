"""Square catalog objects -> the canonical catalog (square-api.md, "Catalog"): items, variations, modifier groups,
prices, stock and the issues found; the menus come from catalog_layout.py, the objects from catalog_reader.py.

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
(`IN_STOCK` at the location, Inventory API BatchRetrieveInventoryCounts, catalog_reader.py), so an
inventory.count.updated that arrives before (or without) that catalog change still marks a tracked variation
(`track_inventory`, the location's override first) with a count of zero or less as out of stock. No count at all says
nothing (Square: the variation has not interacted with that state): `sold_out` alone decides then.

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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from posbridge.domain.catalog import (
    Catalog,
    Issue,
    Item,
    LayoutOptions,
    Modifier,
    ModifierGroup,
    PosKind,
    Variation,
    derived_group_id,
)
from posbridge.domain.money import Money
from posbridge.pos.square.catalog_layout import item_placements, menus_for, placement_fingerprint


def tracks_inventory(variation: dict[str, Any], location_id: str) -> bool:
    """ItemVariationLocationOverrides.track_inventory when set, else CatalogItemVariation.track_inventory; unset at
    both levels: not tracked."""
    data = variation.get("item_variation_data") or {}
    for override in data.get("location_overrides") or []:
        here = isinstance(override, dict) and override.get("location_id") == location_id
        if here and isinstance(override.get("track_inventory"), bool):
            return bool(override["track_inventory"])
    return data.get("track_inventory") is True


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
        counted_out = tracks_inventory(obj, self.location_id) and self.counts.get(obj["id"], Decimal(1)) <= 0
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
            placement=placement_fingerprint(item_placements(obj)),
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
    `IN_STOCK` counts of its tracked variations (catalog_reader.quantities)."""
    b = _Builder(location_id, options or LayoutOptions(), now or datetime.now(UTC), counts)
    live = [o for o in objects if isinstance(o, dict) and isinstance(o.get("id"), str) and b.present(o)]
    categories = {o["id"]: o for o in live if o.get("type") == "CATEGORY"}
    lists = _lists(b, live)
    raw_items = [o for o in live if o.get("type") == "ITEM"]
    items = {i.pos_id: i for i in (b.item(o, lists) for o in raw_items) if i is not None}
    placements = {o["id"]: item_placements(o) for o in raw_items if o["id"] in items}

    menus = menus_for(categories, placements, b.options)
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
