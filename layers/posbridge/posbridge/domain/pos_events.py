"""A POS webhook read into the bridge's terms (ports/pos.py PosWebhooks): which POS account and location it is about,
and whether it announces an order change (with the order's summary) or a catalog change (with what makes two
deliveries of one change the same)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from posbridge.domain.pos_order import PosOrderSummary

NoticeKind = Literal["order", "catalog", "revoked", "other"]  # revoked: the app's access to the account ended


@dataclass(frozen=True)
class PosNotice:
    """One POS webhook delivery, not yet verified.

    `event_type` is the provider's own (logs, metrics, and the queued message's event type: for an order notice, a
    member of domain.events.POS_ORDER_EVENTS). For an order notice, `order` is its summary, or `order_error` says
    why it has none (the flow refuses the delivery as malformed only once its signature holds). For a catalog
    notice, `catalog_stamp` names the change (one sync per change, however often it is delivered) and
    `counted_locations` the locations an inventory count is at (empty: the whole catalog, every location)."""

    account_id: str  # the POS account (Square: merchant_id): the POS links' key
    event_type: str
    event_id: str
    kind: NoticeKind
    location_id: str | None = None  # an order notice's location
    order: PosOrderSummary | None = None
    order_error: str | None = None
    catalog_stamp: str = ""
    counted_locations: frozenset[str] = field(default_factory=frozenset)
    revoker: str | None = None  # a revoked notice: who ended the access (Square: APPLICATION, MERCHANT or SQUARE)
