"""What Flow 1 hands a POS and gets back: the POS side of an exported order, how it is settled, and a page of
changed orders (the records of the POS gateway port, ports/pos.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from posbridge.domain.money import Money
from posbridge.domain.pos_order import PosOrderSummary


class PosOrder(BaseModel):
    """The POS side of an order the bridge created."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: int | None
    line_ids: dict[str, str]  # Wix line item id -> POS line item id (Square: uid)
    customer_id: str | None = None
    # What the bridge added to the POS's own total so it equals what Wix charged (minor units, signed; the POS
    # rounds taxes its own way), and the name the adjustment carries on the POS order; 0 / None: none needed.
    adjustment_minor: int = 0
    adjustment_name: str | None = None
    total: Money | None = None  # the order's total as the POS computed it (Square: total_money, before any tip)


class OrderPayment(BaseModel):
    """How an exported order is settled on the POS: money Wix collected, or money the staff collect at handover.

    Either way the POS records it as paid elsewhere, because a POS may show an online order only once it is paid
    (Square: see the README, Flow 1); `to_collect` tells the staff what to take."""

    model_config = ConfigDict(frozen=True)

    wix_order_id: str  # the payment's reference at its source
    tip: Money | None = None  # the restaurant's tip, recorded on the payment
    to_collect: Money | None = None  # None: Wix collected it; else what the staff take at pickup or on delivery


class PosRefund(BaseModel):
    """A payment refunded on the POS: the refund that settled it and how much of the payment is refunded in all."""

    model_config = ConfigDict(frozen=True)

    refund_id: str | None  # None: the payment was fully refunded before, by a refund the POS does not name
    refunded: Money  # the payment's refunded total now (what it took, tip included, once fully refunded)
    new: bool  # this call refunded it; False: it was fully refunded already (a replay, or an operator did it)


class PosOrderPage(BaseModel):
    """One page of a search for changed orders, and the cursor of the next page (None: this was the last)."""

    model_config = ConfigDict(frozen=True)

    orders: tuple[PosOrderSummary, ...]
    cursor: str | None = None
