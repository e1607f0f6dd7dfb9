"""The canonical, POS-agnostic catalog: what a POS adapter produces and the catalog publish turns into Wix menus.

Its shape is Wix's (menus -> sections -> items -> variations, modifier groups shared by items), its ids are the POS's:
every entity keeps the `pos_id` of the POS object it came from, so the mapping can pair it with the Wix entity that
is built for it. A POS adapter also decides which of its objects become menus and which sections.

`content_hash()` fingerprints what the bridge would send to Wix for an entity, so a later sync can tell an entity that
changed from one that did not without asking Wix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from posbridge.domain.money import Money

# What releases before the neutral kinds stored for two of them (Square's type names), in the mappings table's keys
# and `pos_kind` attributes and in catalog jobs' S3 documents: read as the neutral kind (store/catalog_mappings.py).
LEGACY_KINDS = {"ITEM_VARIATION": "VARIANT", "MODIFIER_LIST": "MODIFIER_GROUP"}


def neutral_kind(kind: object) -> object:
    """The neutral kind of a stored kind (a legacy name mapped, anything else as it is)."""
    return LEGACY_KINDS.get(kind, kind) if isinstance(kind, str) else kind


# The POS entity kinds, in every POS's terms: a menu category, an item, a priced variant of an item (Square: an item
# variation; Clover: an item of an item group), a modifier group (Square: a modifier list) and a modifier. The mapping
# keys on them (SK = CATALOG#POS#<KIND>#<posId>). A model field of this type also accepts a legacy name.
PosKind = Annotated[Literal["CATEGORY", "ITEM", "VARIANT", "MODIFIER_GROUP", "MODIFIER"], BeforeValidator(neutral_kind)]


@dataclass(frozen=True)
class LayoutOptions:
    """Names the publish gives what a POS catalog leaves unnamed."""

    menu_name: str = "Menu"  # the one menu of a catalog without menu categories
    uncategorized_name: str = "Other"  # its section for items in no category


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)

    def content_hash(self) -> str:
        """sha256 of the entity's canonical JSON (sorted keys), children included."""
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()


class Variation(_Frozen):
    """A size or other priced option of an item (kind VARIANT; Square: an ITEM_VARIATION)."""

    pos_id: str
    name: str
    price: Money
    in_stock: bool = True


class Modifier(_Frozen):
    """One choice of a modifier group; its price lives on the group, as in Wix."""

    pos_id: str
    name: str
    price: Money | None = None  # None: no additional charge
    in_stock: bool = True
    pre_selected: bool = False


# A group an item's own overrides derive from a POS modifier group (Square: an item's modifier_list_info changing the
# list's rule or its modifiers' pre-selection or visibility) has the POS id "<group id>~<digest>": Wix keeps the rule
# and the pre-selection on the group, so such an item needs a group of its own (shared by items that change it alike).
DERIVED_SEPARATOR = "~"


def derived_group_id(group_id: str, digest: str) -> str:
    return f"{group_id}{DERIVED_SEPARATOR}{digest}"


def source_group(group_id: str) -> str:
    """The POS modifier group a group was built from (itself, or the one it was derived from)."""
    return group_id.split(DERIVED_SEPARATOR, 1)[0]


class ModifierGroup(_Frozen):
    """A POS modifier group (kind MODIFIER_GROUP; Square: a MODIFIER_LIST) -> Wix modifier group with a rule (or a
    group derived from one: `derived_group_id`)."""

    pos_id: str
    name: str
    modifiers: tuple[Modifier, ...]
    required: bool = False
    min_selections: int = Field(default=0, ge=0)
    max_selections: int | None = Field(default=None, ge=0)  # None: no upper bound


class Item(_Frozen):
    """A dish. One variation is priced on the item itself; several become Wix variants with their own prices."""

    pos_id: str
    name: str
    description: str = ""
    variations: tuple[Variation, ...]
    modifier_group_ids: tuple[str, ...] = ()  # pos ids of ModifierGroups, in display order
    # Where the POS places the item (its categories and its order in each), as an opaque fingerprint made by the POS
    # adapter: while it stays the same, the item's menus and sections stay the same, so a sync of this one item needs
    # no other. Not part of the content hash (it is not what Wix gets for the item).
    placement: str = ""

    @property
    def in_stock(self) -> bool:
        """Sold out (86'd) when every variation is."""
        return any(v.in_stock for v in self.variations)


class Section(_Frozen):
    """A part of a menu (Square: a child menu category, or a category in the single-menu layout)."""

    pos_id: str  # the POS category id
    name: str
    description: str = ""
    item_ids: tuple[str, ...]  # pos ids of Items, in display order


class Menu(_Frozen):
    """A menu customers browse (Square: a top-level menu category, or the one configured menu)."""

    pos_id: str  # the POS category id; the single-menu layout uses DEFAULT_MENU_ID
    name: str
    description: str = ""
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class CatalogChanges:
    """What changed in the POS catalog after a time, deleted objects included: the incremental sync's scope."""

    count: int = 0  # objects changed
    latest: str | None = None  # the latest change's time: the next cursor
    items: frozenset[str] = frozenset()  # items changed themselves or through one of their variations
    variations: frozenset[str] = frozenset()
    modifier_groups: frozenset[str] = frozenset()  # groups changed themselves or through one of their modifiers
    modifiers: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    counted_items: frozenset[str] = frozenset()  # items among `items` only because a variation's stock count changed
    whole: bool = False  # what a change touched cannot be told from the change alone: read the whole catalog


DEFAULT_MENU_ID = "posbridge-default-menu"  # the configured menu of a catalog without menu categories


class Issue(_Frozen):
    """Something in the POS catalog that could not be imported as it is (skipped, split or shortened)."""

    kind: PosKind
    pos_id: str
    name: str = ""
    problem: str
    skipped: bool = False  # True: the entity is not imported at all


class Catalog(_Frozen):
    """A whole POS catalog for one location, ready to be planned. Items and groups are shared by reference."""

    menus: tuple[Menu, ...]
    items: dict[str, Item]
    modifier_groups: dict[str, ModifierGroup]
    currency: str
    issues: tuple[Issue, ...] = ()
    # The POS catalog time this snapshot is complete up to (Square: Search Catalog's `latest_time` when the read
    # began): every change after it is newer than it, so an incremental sync may start here. None: the POS did not say.
    as_of: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "menus": len(self.menus),
            "sections": sum(len(m.sections) for m in self.menus),
            "items": len(self.items),
            "variations": sum(len(i.variations) for i in self.items.values()),
            "modifierGroups": len(self.modifier_groups),
            "modifiers": sum(len(g.modifiers) for g in self.modifier_groups.values()),
        }


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def variation_parts(variation: Variation) -> dict[str, str]:
    """A variation's hash split by where Wix keeps it (the mapping's `variant_hash` and `price_hash`): its name on
    its variant (when its item has several), its price and stock on its item. So a price change rewrites the item
    only, and renaming a size its variant only."""
    return {
        "VARIANT_NAME": _digest({"name": variation.name}),
        "PRICE": _digest(variation.model_dump(mode="json", include={"price", "in_stock"})),
    }


def modifier_parts(modifier: Modifier) -> dict[str, str]:
    """A modifier's hash split by where Wix keeps it (wix-api.md section 7): its name and stock on its modifier (the
    MODIFIER hash), its price and pre-selection on its group's entry for it (part of the MODIFIER_GROUP hash). So a
    modifier sold out or back in stock rewrites the modifier only, and a price change its group only."""
    return {
        "MODIFIER": _digest({"name": modifier.name, "in_stock": modifier.in_stock}),
        "GROUP": _digest(modifier.model_dump(mode="json", include={"pos_id", "price", "pre_selected"})),
    }


def content_hashes(catalog: Catalog) -> dict[tuple[PosKind, str], str]:
    """The fingerprint of every POS entity as the mapping stores it (`content_hash`), one place for import and sync.

    An ITEM covers its own fields and stock, not its variations' prices (each variation has its own hash); a
    MODIFIER_GROUP covers its name, its rule and its modifiers' order, prices and pre-selection (Wix keeps those on the
    group), not their names or stock (on the modifiers: `modifier_parts`); a CATEGORY covers every menu and section
    built from it, with the order of what they list. A MODIFIER_GROUP mapped before modifier_parts holds the group's
    whole hash (`ModifierGroup.content_hash`): the sync still takes that as unchanged, so only a group whose modifiers
    changed since is written once more (then mapped with this hash).
    """
    hashes: dict[tuple[PosKind, str], str] = {}
    categories: dict[str, list[object]] = {}
    for menu in catalog.menus:
        categories.setdefault(menu.pos_id, []).append(
            {"menu": menu.name, "description": menu.description, "sections": [s.pos_id for s in menu.sections]}
        )
        for section in menu.sections:
            categories.setdefault(section.pos_id, []).append(
                {"section": section.name, "description": section.description, "items": list(section.item_ids)}
            )
    for pos_id, parts in categories.items():
        hashes[("CATEGORY", pos_id)] = _digest(parts)
    for item in catalog.items.values():
        own = item.model_dump(mode="json", exclude={"variations", "placement"})
        hashes[("ITEM", item.pos_id)] = _digest({**own, "in_stock": item.in_stock})
        for variation in item.variations:
            hashes[("VARIANT", variation.pos_id)] = variation.content_hash()
    for group in catalog.modifier_groups.values():
        split = [modifier_parts(m) for m in group.modifiers]
        own = group.model_dump(mode="json", exclude={"modifiers"})
        hashes[("MODIFIER_GROUP", group.pos_id)] = _digest({**own, "modifiers": [p["GROUP"] for p in split]})
        for modifier, part in zip(group.modifiers, split, strict=True):
            hashes[("MODIFIER", modifier.pos_id)] = part["MODIFIER"]
    return hashes
