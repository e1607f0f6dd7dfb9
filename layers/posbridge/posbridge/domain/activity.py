"""What the restaurant's page shows of its orders: one row per order, either way, with where it stands.

Ids, times, states and reason codes only: no buyer's name, contact or address (the owner sees those in Wix).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Direction = Literal["wix_to_pos", "pos_to_wix"]  # an online order sent to the POS, or one rung up on the POS


@dataclass(frozen=True)
class OrderActivity:
    direction: Direction
    at: datetime  # mapping written, skip recorded, or (POS orders) the POS time of the last status applied
    wix_order_id: str | None
    pos_order_id: str | None
    outcome: Literal["sent", "imported", "skipped"]
    wix_status: str | None = None  # POS orders: the Wix fulfillment status last applied
    wix_canceled: bool = False
    to_collect_minor: int | None = None  # online orders not paid on Wix: what the staff collect (minor units)
    skip_reason: str | None = None
