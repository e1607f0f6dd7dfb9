"""Square categories -> the menus and sections of the canonical catalog (square-api.md, "Catalog").

Layout, as Square advises: when the seller built menus in the Square Dashboard (MENU_CATEGORY categories), each
top-level menu category becomes a menu and its child menu categories its sections (deeper levels fold into their
section; items placed on the menu category itself get a section named after it); regular categories, which also
drive reports and kitchen routing, are then ignored, and an item in no menu category is reported (by the mapper,
catalog_mapper.py) and left out. A catalog without menu categories becomes one menu (its name is configurable) whose
sections are the regular categories; items in no category go to a last section (also configurable). Within a section
items are ordered by their ordinal in that category, then by id: never by the order Square lists them in (which moves
an item that was edited), so an edit of one item never reorders its section.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from posbridge.domain.catalog import DEFAULT_MENU_ID, LayoutOptions, Menu, Section

UNCATEGORIZED_ID = "posbridge-uncategorized"


def menus_for(
    categories: dict[str, dict[str, Any]],
    placements: dict[str, dict[str, int | None]],
    options: LayoutOptions,
) -> list[Menu]:
    """The menus of these live categories (id -> CATEGORY object) holding these items (id -> `item_placements`):
    from the menu categories when the seller has any, else one menu of the regular categories."""
    menu_categories = [c for c in categories.values() if _category_type(c) == "MENU_CATEGORY"]
    if menu_categories:
        return _menus_from_menu_categories(menu_categories, categories, placements)
    return _single_menu(categories, placements, options)


def item_placements(item: dict[str, Any]) -> dict[str, int | None]:
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


def placement_fingerprint(placements: dict[str, int | None]) -> str:
    """`Item.placement`: the item's categories and ordinals. Items are ordered in a section by (ordinal, id), never
    by the order Square happens to list them in, so nothing but this decides where the item goes."""
    body = json.dumps(sorted(placements.items(), key=lambda p: p[0]), separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


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
