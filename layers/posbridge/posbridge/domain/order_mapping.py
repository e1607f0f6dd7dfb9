"""An order known on both sides: its Wix order and its POS order, line by line (stored by store/orders.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class OrderMapping(BaseModel):
    # snake_case in DynamoDB, camelCase in the admin API
    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel)

    wix_order_id: str
    pos_order_id: str
    pos_version: int | None = None
    lines: dict[str, str]  # Wix line item id -> POS line id
    wix_contact_id: str | None = None  # buyerInfo.contactId: an id, so no personal data in keys
    pos_customer_id: str | None = None
    created_at: str = ""
    origin: Literal["wix", "pos"] = "wix"  # where the order was placed: online (Flow 1) or on the POS (Flow 2)
    # Flow 1: how each Wix line went to the POS, "catalog:<reason>" or "ad_hoc:<reason>" (domain.order_catalog)
    line_sources: dict[str, str] = {}
    # Flow 1: the named adjustment that made the POS total Wix's (minor units, signed; 0 = none), domain.pos_export
    adjustment_minor: int = 0
    adjustment_name: str | None = None
    # Flow 1: the POS payment that settled the order (None on mappings written before orders were paid, and for a
    # $0 order), and what the staff collect at handover when Wix did not take the money (minor units)
    pos_payment_id: str | None = None
    to_collect_minor: int | None = None
    # Refunds: what Wix says it refunded (balanceSummary.refunded, minor units) with the payment status that said it,
    # and the POS refund the bridge made of pos_payment_id (flows/cancel_order.py); None: none
    wix_payment_status: str | None = None
    wix_refunded_minor: int | None = None
    pos_refund_id: str | None = None
    pos_refunded_minor: int | None = None
