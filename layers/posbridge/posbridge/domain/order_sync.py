"""What Flows 2 and 3 remember of a POS order and of a tenant's reconciliation (stored by store/order_sync.py and
store/reconcile_state.py)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from posbridge.domain.pos_order import PosPosition


class PosOrderSync(BaseModel):
    """Where a POS order stands in Wix: its Wix order and fulfillment, and the POS position last applied."""

    model_config = ConfigDict(frozen=True)

    pos_order_id: str
    wix_order_id: str
    position: PosPosition
    wix_fulfillment_id: str | None = None
    wix_status: str | None = None
    wix_canceled: bool = False
    stale_dropped: int = 0


@dataclass(frozen=True)
class Known:
    """What the reconciliation needs to know about a POS order without calling anyone."""

    position: PosPosition | None = None  # last applied; None: never applied
    skipped: bool = False
    parked: bool = False  # its work is in the DLQ (recorded, alarmed): the redrive finishes it, not the reconciliation


@dataclass(frozen=True)
class Cursors:
    wix_since: str | None = None  # Wix orders updated at or after this were looked at by the last successful pass
    pos_since: str | None = None  # same for POS orders
    passed_at: str | None = None


@dataclass(frozen=True)
class SiteIds:
    """The Wix ids every imported order needs (wix-api.md sections 5 and 8)."""

    location_id: str
    operation_id: str
