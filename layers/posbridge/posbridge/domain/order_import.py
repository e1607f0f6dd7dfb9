"""A POS order's lines on their way into Wix (Flow 2): each with where its item is offered on the Wix site."""

from __future__ import annotations

from dataclasses import dataclass

from posbridge.domain.pos_order import PosLine


@dataclass(frozen=True)
class WixPlacement:
    """Where a mapped POS item is offered on the Wix site."""

    item_id: str
    menu_id: str
    section_id: str


@dataclass(frozen=True)
class ImportLine:
    line: PosLine
    placement: WixPlacement | None  # None: a custom line (the tenant imports unmapped lines)
