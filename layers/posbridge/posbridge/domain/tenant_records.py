"""A tenant's POS link (which Wix site a POS location's webhooks are for) and its Wix installation record (stored by
store/pos_links.py and store/lifecycle.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PosLink:
    location_id: str
    instance_id: str


@dataclass(frozen=True)
class Installation:
    instance_id: str
    status: str  # "installed" | "removed"
    installed_at: str | None = None
    removed_at: str | None = None
    changed_at: str | None = None  # Wix's time of the last AppInstalled / AppRemoved applied (flows/lifecycle.py)
