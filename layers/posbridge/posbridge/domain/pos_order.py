"""A POS order as the POS reports it: what Flows 2 and 3 read (canonical, POS-agnostic).

Flow 1 writes orders to the POS (`domain.order.Order`); Flows 2 and 3 read them back from the POS, whoever created
them: a cashier, or the bridge itself. `PosOrderSummary` is what a webhook or a search entry tells (id, state, where
the order is in its history); `PosOrderSnapshot` is the whole order, fetched when there is work to do.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from posbridge.domain.money import Money

PosOrderState = Literal["OPEN", "COMPLETED", "CANCELED", "DRAFT"]
PosFulfillmentState = Literal["PROPOSED", "RESERVED", "PREPARED", "COMPLETED", "CANCELED", "FAILED"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class PosPosition(_Frozen):
    """Where an order is in its history, to tell a newer update from a stale one.

    The POS `version` when the order has one (Square: orders created through the API; it grows with every change),
    else the order's `updated_at` (Square: orders rung up in the POS app have no version). One order always has the
    same kind of position, so comparing two positions of one order is well defined.
    """

    version: int | None = None
    updated_at: datetime

    def is_newer_than(self, other: PosPosition) -> bool:
        if self.version is not None and other.version is not None:
            return self.version > other.version
        return self.updated_at > other.updated_at

    def is_older_than(self, other: PosPosition) -> bool:
        return other.is_newer_than(self)


class PosOrderSummary(_Frozen):
    """What a POS webhook or a search entry says about an order: enough to decide whether to fetch it."""

    order_id: str = Field(min_length=1)
    location_id: str | None = None
    state: str | None = None
    position: PosPosition
    # False: `position` is when the POS sent the event (Clover's webhook `ts`), at or after the change it announces
    # but not the order's own position, so an order read at an earlier position is not a lagging read
    position_exact: bool = True


class PosModifier(_Frozen):
    name: str
    quantity: Decimal = Decimal(1)
    unit_price: Money | None = None  # per unit of the modifier, per unit of the line; None = included


class PosLine(_Frozen):
    uid: str
    name: str
    quantity: Decimal  # POS quantities may be fractional (weights); Wix takes whole units only
    variation_id: str | None = None  # the POS catalog id of what was sold (Square: an ITEM_VARIATION), if any
    variation_name: str | None = None
    unit_price: Money  # the item alone; each modifier's price comes on top
    modifiers: tuple[PosModifier, ...] = ()
    note: str | None = None

    def unit_total(self) -> Money:
        """One unit with its modifiers: what a Wix line's `price` holds."""
        extra = sum((m.unit_price.amount * m.quantity for m in self.modifiers if m.unit_price), Decimal(0))
        return Money(amount=self.unit_price.amount + extra, currency=self.unit_price.currency)


class PosFulfillment(_Frozen):
    uid: str
    type: str  # PICKUP | DELIVERY | SHIPMENT | ...
    state: PosFulfillmentState
    out_for_delivery: bool = False  # a delivery or shipment that has left the kitchen (see the adapter)


class PosOrderSnapshot(_Frozen):
    id: str
    location_id: str
    state: PosOrderState
    position: PosPosition
    created_at: datetime
    currency: str
    lines: tuple[PosLine, ...]
    fulfillments: tuple[PosFulfillment, ...] = ()
    reference_id: str | None = None
    source_name: str | None = None
    ticket_name: str | None = None
    made_by_bridge: bool = False  # the adapter recognised the bridge as its creator (Square: the order's source name)
    # payments are applied to the order (Square: `tenders`): the POS no longer cancels it, so its fulfillments are
    # canceled and its payments refunded instead (flows/cancel_order.py)
    tendered: bool = False
    discount: Money
    tax: Money
    fees: Money  # service charges and tips
    total: Money

    @property
    def summary(self) -> PosOrderSummary:
        return PosOrderSummary(order_id=self.id, location_id=self.location_id, state=self.state, position=self.position)

    def main_fulfillment(self) -> PosFulfillment | None:
        """The fulfillment that stands for the order: the first one still going, else the first one.

        A restaurant order has one (Square creates at most one with an order); with several, canceled or failed
        ones are history and the live one tells the state."""
        live = [f for f in self.fulfillments if f.state not in ("CANCELED", "FAILED")]
        candidates = live or list(self.fulfillments)
        return candidates[0] if candidates else None
