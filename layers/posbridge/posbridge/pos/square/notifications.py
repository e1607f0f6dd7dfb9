"""Square webhook notifications (square-api.md, Webhooks): the envelope, read without trusting it yet.

`{merchant_id, type, event_id, created_at, data: {type, id, object}}`. The envelope is read before the signature is
checked only to know whose key to check it with (the merchant, and the order's location); nothing else is used
until the signature holds.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posbridge.pos.square.order_snapshot import SUMMARY_KEYS


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
