"""What every POS adapter offers the flows. Adapters map to and from the canonical model; flows never see wire formats.

Adapters raise posbridge.errors.TransientError for what may succeed later (after their own bounded retries) and
PermanentError for what never will.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from posbridge.domain.money import Money
from posbridge.domain.order import Buyer, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.pos_order import PosOrderSnapshot, PosOrderSummary

# PermanentError.reason of a create_order the POS refused because a catalog id it was given does not exist (any more)
CATALOG_REFERENCE_UNKNOWN = "pos_catalog_reference_unknown"


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


class PosGateway(Protocol):
    def find_or_create_customer(self, buyer: Buyer, idempotency_key: str) -> str | None:
        """The POS customer id for this buyer (looked up by e-mail, then phone; created otherwise), or None when
        the buyer gave neither."""
        ...

    def create_order(
        self,
        order: Order,
        customer_id: str | None,
        idempotency_key: str,
        catalog: Mapping[str, CatalogLine] | None = None,
    ) -> PosOrder:
        """Create the order; the same key with the same order returns the same POS order (no duplicate). Lines in
        `catalog` (by Wix line id) go as POS catalog lines at the order's prices, the others ad hoc; a catalog id the
        POS does not know raises PermanentError(CATALOG_REFERENCE_UNKNOWN)."""
        ...

    def pay_order(self, order: PosOrder, payment: OrderPayment, payment_key: str, pay_key: str) -> str | None:
        """Settle the created order in full with money taken outside the POS; the id of the POS payment (None when
        there was nothing to pay). The same keys replay the same payment: a retry never pays twice, and a retry
        after the payment was recorded but before it was applied completes it."""
        ...

    def order_snapshot(self, order_id: str) -> PosOrderSnapshot:
        """The whole order as the POS holds it now, whoever created it (Flows 2 and 3)."""
        ...

    def cancel_order(self, order: PosOrderSnapshot, idempotency_key: str) -> None:
        """Cancel the order as `order` shows it (its version, its open fulfillments; an order with payments applied,
        `tendered`, keeps its state and only its fulfillments are canceled, as the POS refuses more). Raises
        TransientError when the order changed on the POS since that snapshot (read it again), PermanentError when the
        POS refuses."""
        ...

    def refund_payment(self, payment_id: str, idempotency_key: str, reason: str) -> PosRefund:
        """Refund what is left of the payment (all it took, tip included, unless part was refunded already); a
        payment with nothing left is not refunded again. The same key replays the same refund."""
        ...

    def orders_updated_since(self, since: str, cursor: str | None = None) -> PosOrderPage:
        """Orders of the tenant's location changed at or after `since` (RFC 3339), oldest change first, paged."""
        ...
