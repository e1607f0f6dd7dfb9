"""The Clover inventory read as the canonical catalog (Flows 4 and 5): categories, items, item groups (variants),
modifier groups with their min/max, and availability.

Reads (`/v3/merchants/{mId}` + ...; each list `{"elements": [...]}` paged by `limit` (max 1000) and `offset`, at most
3 expansions per call: docs.clover.com/docs/paginating-elements, /docs/expanding-fields):
- `GET /items?expand=categories,modifierGroups` (SDK v3 `inventory/Item.java`: `id, name, price, priceType, hidden,
  available, itemGroup {id}, modifiedTime`); `GET /item_groups` (`id, name`); `GET /modifier_groups?expand=modifiers`
  (`id, name, minRequired, maxAllowed, modifiers {id, name, price, available}`); `GET /categories?expand=items`
  (`id, name, sortOrder, items`: the items in the merchant's order).
How it maps:
- An item group is one dish whose variants are its items (Clover: "each variant is a full item with its own id and
  price"; the variant's name is generated from the group's and the options' names, so the group's name is cut from
  it). A lone item is a dish with one variation; both keep the Clover item id, which is what an order line sends
  (`item {id}`).
- `available: false` ("available for sale across all channels") is sold out; `hidden` ("hidden from Clover Register
  App") and items priced at the till (`priceType` VARIABLE) or by weight (PER_UNIT) are not imported, with an issue.
- A modifier group's `minRequired`/`maxAllowed` are its rule (Clover enforces them "when using Register"); a group
  that asks for more than it allows is imported without its rule, with an issue.
- Clover categories are flat: one menu (the layout's name), a section per category in `sortOrder`, and a section for
  items in none.
- `as_of`: the latest `modifiedTime` read (Clover's clock, Unix ms), where an incremental sync may start.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from posbridge.domain.catalog import (
    DEFAULT_MENU_ID,
    Catalog,
    CatalogChanges,
    Issue,
    Item,
    Menu,
    Modifier,
    ModifierGroup,
    Section,
    Variation,
)
from posbridge.domain.money import Money
from posbridge.errors import PermanentError
from posbridge.pos.clover.client import CloverClient

PAGE = 1000
UNCATEGORIZED_ID = "posbridge-uncategorized"
SOLD_AT_THE_TILL = frozenset({"VARIABLE", "PER_UNIT"})  # SDK inventory/PriceType.java: FIXED, VARIABLE, PER_UNIT


class Layout(Protocol):
    """The layout options the catalog flows pass (the one menu's name, the section for items in no category)."""

    @property
    def menu_name(self) -> str: ...

    @property
    def uncategorized_name(self) -> str: ...


def _ms_to_rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _rfc3339_to_ms(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)


class CloverCatalogSource:
    def __init__(self, client: CloverClient, currency: str) -> None:
        self._client = client
        self._currency = currency

    def _all(self, path: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = self._client.get(path, [*params, ("limit", str(PAGE)), ("offset", str(len(rows)))])
            found = page.get("elements")
            if not isinstance(found, list):
                raise PermanentError("clover_unexpected_response", f"Clover's {path} answer has no elements.")
            rows += [row for row in found if isinstance(row, dict)]
            if len(found) < PAGE:
                return rows

    def load_catalog(self, options: Layout) -> Catalog:
        items = self._all("/items", [("expand", "categories,modifierGroups")])
        groups = self._all("/modifier_groups", [("expand", "modifiers")])
        item_groups = self._all("/item_groups", [])
        categories = self._all("/categories", [("expand", "items")])
        return build_catalog(items, groups, item_groups, categories, self._currency, options)

    def load_items(self, item_ids: Iterable[str], group_ids: Iterable[str], options: Layout) -> Catalog:
        """These dishes (a lone item's id or an item group's id) and modifier groups, with the groups they use."""
        catalog = self.load_catalog(options)
        wanted_items = {i: catalog.items[i] for i in item_ids if i in catalog.items}
        used = {g for item in wanted_items.values() for g in item.modifier_group_ids} | set(group_ids)
        return catalog.model_copy(
            update={
                "menus": (),
                "items": wanted_items,
                "modifier_groups": {g: catalog.modifier_groups[g] for g in used if g in catalog.modifier_groups},
            }
        )

    def changes_since(self, begin_time: str | None) -> CatalogChanges:
        """Items changed after `begin_time` (`filter=modifiedTime>`, Unix ms). Clover's modifier groups and
        categories carry no filterable change time this adapter relies on (categories show `modifiedTime` only with
        `expand=items`, inventory FAQ), and a deleted item is not listed: any change therefore asks for the whole
        catalog (`whole`), which also catches those; no change, no read."""
        params = [("expand", "categories")]
        if begin_time:
            params.append(("filter", f"modifiedTime>{_rfc3339_to_ms(begin_time)}"))
        changed = self._all("/items", params)
        if not changed:
            return CatalogChanges()
        latest = max(int(row.get("modifiedTime") or 0) for row in changed)
        dishes = frozenset(str((row.get("itemGroup") or {}).get("id") or row["id"]) for row in changed)
        return CatalogChanges(
            count=len(changed),
            latest=_ms_to_rfc3339(latest),
            items=dishes,
            variations=frozenset(str(row["id"]) for row in changed),
            whole=True,
        )


def _elements(value: Any) -> list[dict[str, Any]]:
    rows = value.get("elements") if isinstance(value, dict) else None
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def build_catalog(
    items: list[dict[str, Any]],
    modifier_groups: list[dict[str, Any]],
    item_groups: list[dict[str, Any]],
    categories: list[dict[str, Any]],
    currency: str,
    options: Layout,
) -> Catalog:
    issues: list[Issue] = []

    def money(cents: Any) -> Money:
        return Money.from_minor_units(int(cents), currency)

    groups: dict[str, ModifierGroup] = {}
    for raw in modifier_groups:
        mods = tuple(
            Modifier(
                pos_id=str(m["id"]),
                name=str(m.get("name") or ""),
                price=money(m["price"]) if int(m.get("price") or 0) else None,
                in_stock=bool(m.get("available", True)),
            )
            for m in _elements(raw.get("modifiers"))
        )
        low, high = int(raw.get("minRequired") or 0), raw.get("maxAllowed")
        high = int(high) if isinstance(high, int) and high > 0 else None
        if high is not None and high < low:
            problem = f"minRequired {low} is over maxAllowed {high}: imported without its rule"
            issues.append(Issue(kind="MODIFIER_GROUP", pos_id=str(raw["id"]), name=str(raw.get("name") or ""),
                                problem=problem))  # fmt: skip
            low, high = 0, None
        groups[str(raw["id"])] = ModifierGroup(
            pos_id=str(raw["id"]),
            name=str(raw.get("name") or ""),
            modifiers=mods,
            required=low > 0,
            min_selections=low,
            max_selections=high,
        )

    group_names = {str(g["id"]): str(g.get("name") or "") for g in item_groups}
    dish_of: dict[str, str] = {}  # Clover item id -> dish (Item.pos_id)
    variants: dict[str, list[dict[str, Any]]] = {}
    latest = 0
    for raw in items:
        latest = max(latest, int(raw.get("modifiedTime") or 0))
        item_id, name = str(raw["id"]), str(raw.get("name") or "")
        if raw.get("hidden"):
            issues.append(Issue(kind="ITEM", pos_id=item_id, name=name, problem="hidden in Clover", skipped=True))
            continue
        if raw.get("priceType") in SOLD_AT_THE_TILL:
            problem = f"priced at the till ({raw['priceType']}): Wix needs a fixed price"
            issues.append(Issue(kind="ITEM", pos_id=item_id, name=name, skipped=True, problem=problem))
            continue
        group_id = (raw.get("itemGroup") or {}).get("id")
        dish_id = str(group_id) if group_id else item_id
        dish_of[item_id] = dish_id
        variants.setdefault(dish_id, []).append(raw)

    dishes: dict[str, Item] = {}
    for dish, rows in variants.items():
        grouped = dish in group_names
        # Clover documents no order of an item group's items: cheapest first, then by name, so the order is stable
        # (sizes usually rise with price) and a re-read never reorders the Wix variants
        rows.sort(key=lambda r: (int(r.get("price") or 0), str(r.get("name") or ""), str(r["id"])))
        title = group_names[dish] if grouped else str(rows[0].get("name") or "")
        variations = tuple(
            Variation(
                pos_id=str(r["id"]),
                name=_variant_name(str(r.get("name") or ""), title) if grouped else title,
                price=money(r.get("price") or 0),
                in_stock=bool(r.get("available", True)),
            )
            for r in rows
        )
        modifier_ids = tuple(
            str(g["id"]) for g in _elements(rows[0].get("modifierGroups")) if str(g.get("id")) in groups
        )
        placement = ",".join(sorted({str(c.get("id")) for r in rows for c in _elements(r.get("categories"))}))
        dishes[dish] = Item(pos_id=dish, name=title, variations=variations, modifier_group_ids=modifier_ids,
                            placement=placement)  # fmt: skip

    sections: list[Section] = []
    placed: set[str] = set()
    for raw in sorted(categories, key=lambda c: (int(c.get("sortOrder") or 0), str(c.get("id")))):
        listed: list[str] = []
        for ref in _elements(raw.get("items")):
            found = dish_of.get(str(ref.get("id")))
            if found is not None and found not in listed:
                listed.append(found)
        placed.update(listed)
        sections.append(Section(pos_id=str(raw["id"]), name=str(raw.get("name") or ""), item_ids=tuple(listed)))
    loose = tuple(sorted((d for d in dishes if d not in placed), key=lambda d: (dishes[d].name, d)))  # by name
    if loose:
        sections.append(Section(pos_id=UNCATEGORIZED_ID, name=options.uncategorized_name, item_ids=loose))
    menu = Menu(pos_id=DEFAULT_MENU_ID, name=options.menu_name, sections=tuple(s for s in sections if s.item_ids))
    return Catalog(
        menus=(menu,),
        items=dishes,
        modifier_groups=groups,
        currency=currency,
        issues=tuple(issues),
        as_of=_ms_to_rfc3339(latest) if latest else None,
    )


def _variant_name(generated: str, group: str) -> str:
    """Clover names a variant "<group> - <options>" (sandbox form; Clover documents only that it is generated from
    the group's and the options' names): the options alone, or the whole name when it does not start so."""
    for separator in (" - ", " "):
        if generated.startswith(group + separator) and len(generated) > len(group + separator):
            return generated[len(group + separator) :]
    return generated
