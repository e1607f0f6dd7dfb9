"""Where each line of a Wix order stands in the POS catalog: what Flow 1 reads from the catalog mapping (kept by
Flows 4 and 5) and hands to the POS adapter next to the canonical order, so the POS sees the dish it sells (inventory,
sales by item, kitchen routing) instead of a name and a price."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

# Why a line went as it went, free of personal data (ids and these codes only): for logs, results and the mapping.
LineSourceReason = Literal[
    "mapped",  # the variation and every modifier came from the catalog mapping
    "mapped_ad_hoc_modifiers",  # the variation did, some modifiers did not (those went ad hoc on the catalog line)
    "not_catalog",  # the Wix line names no menu item (or the mapping is not read)
    "not_mapped",  # the Wix item (with the size the buyer chose) is not in the catalog mapping
    "stale_mapping",  # the POS refused the mapped catalog ids (deleted since): the order went again, ad hoc
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class WixSoldAs(NamedTuple):
    """What a Wix Restaurants line sold: a menu item and, when the item has several sizes, the size (Wix variant)."""

    item_id: str
    variant_id: str | None = None


@dataclass(frozen=True)
class CatalogIds:
    """The POS ids the catalog mapping holds for the Wix ids of one order; a Wix id it does not hold is absent."""

    variations: dict[WixSoldAs, str] = field(default_factory=dict)  # -> POS id of what is sold (Square: a variation)
    modifiers: dict[str, str] = field(default_factory=dict)  # Wix modifier id -> POS modifier id (Square: a MODIFIER)


class CatalogLine(_Frozen):
    """A line to send as a POS catalog line. The price the buyer paid still goes with it (the POS keeps it)."""

    variation_id: str
    modifier_ids: tuple[str | None, ...]  # one per modifier of the line, in its order; None: that one goes ad hoc


class LineSource(_Frozen):
    line_id: str  # the Wix line item id
    catalog: bool
    reason: LineSourceReason

    @property
    def label(self) -> str:
        return f"{'catalog' if self.catalog else 'ad_hoc'}:{self.reason}"


class CatalogPlacement(BaseModel):
    """A Wix Restaurants menu item, and the menu and section it is offered in."""

    model_config = ConfigDict(frozen=True)

    wix_item_id: str
    wix_menu_id: str
    wix_section_id: str
    wix_variant_id: str | None = None
