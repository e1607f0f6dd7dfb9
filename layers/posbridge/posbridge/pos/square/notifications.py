"""Square webhook notifications (square-api.md, Webhooks): the envelope, read without trusting it yet.

`{merchant_id, type, event_id, created_at, data: {type, id, object}}`. The envelope is read before the signature is
checked only to know whose key to check it with (the merchant, and the order's location); nothing else is used
until the signature holds.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posbridge.domain.events import POS_ACCESS_REVOKED
from posbridge.pos.square.order_snapshot import SUMMARY_KEYS

# The order events posbridge subscribes to (their summaries: order_snapshot.SUMMARY_KEYS), and the catalog ones (Flow 5)
ORDER_EVENT_TYPES = frozenset(SUMMARY_KEYS)
CATALOG_EVENT_TYPES = frozenset({"catalog.version.updated", "inventory.count.updated"})
OAUTH_REVOKED = POS_ACCESS_REVOKED  # squareup 46 square/types/oauth_authorization_revoked_event.py
INVENTORY_BUCKET_S = 10


class SquareNotification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    merchant_id: str = Field(min_length=1, max_length=191)
    type: str = Field(min_length=1, max_length=100)
    event_id: str = Field(min_length=1, max_length=100)
    created_at: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def location_id(self) -> str | None:
        """The order's location, for order events (the summary names it)."""
        key = SUMMARY_KEYS.get(self.type)
        obj = self.data.get("object")
        summary = obj.get(key) if key and isinstance(obj, dict) else None
        location = summary.get("location_id") if isinstance(summary, dict) else None
        return location if isinstance(location, str) and location else None


def parse_notification(raw_body: bytes) -> SquareNotification:
    """Raises ValueError (with a message naming fields only) when the body is not a Square notification."""
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("body is not JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("body must be a JSON object")
    try:
        return SquareNotification.model_validate(payload)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise ValueError(f"not a Square notification: {', '.join(fields)} missing or invalid") from None


def _inventory_counts(notification: SquareNotification) -> list[dict[str, object]]:
    obj = notification.data.get("object")
    counts = obj.get("inventory_counts") if isinstance(obj, dict) else None
    return [c for c in counts if isinstance(c, dict)] if isinstance(counts, list) else []


def count_locations(notification: SquareNotification) -> frozenset[str]:
    """The locations an inventory.count.updated's counts are at (none for a catalog event)."""
    counts = _inventory_counts(notification)
    return frozenset(str(c["location_id"]) for c in counts if isinstance(c.get("location_id"), str))


def catalog_stamp(notification: SquareNotification) -> str:
    """What makes two catalog notifications "the same change": the catalog version's updated_at; for inventory (no
    version) its counts' latest calculated_at (squareup InventoryCountUpdatedEventObject), else the event time in
    10-second buckets. Falls back to the event id."""
    obj = notification.data.get("object")
    version = obj.get("catalog_version") if isinstance(obj, dict) else None
    stamp = version.get("updated_at") if isinstance(version, dict) else None
    if isinstance(stamp, str) and stamp:
        return stamp[:64]
    calculated = sorted(str(c["calculated_at"]) for c in _inventory_counts(notification) if c.get("calculated_at"))
    if calculated:
        return "counted:" + calculated[-1][:64]
    created = notification.created_at or ""
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return notification.event_id
    return str(int(moment.timestamp()) // INVENTORY_BUCKET_S)


def revoker(notification: SquareNotification) -> str:
    """Who revoked the app's access (data.object.revocation.revoker_type), or UNKNOWN."""
    obj = notification.data.get("object")
    revocation = obj.get("revocation") if isinstance(obj, dict) else None
    found = revocation.get("revoker_type") if isinstance(revocation, dict) else None
    return found if isinstance(found, str) and found.isalpha() and len(found) <= 32 else "UNKNOWN"
