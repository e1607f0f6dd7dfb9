"""The codes of Clover's webhook verification handshakes, kept for the operator who verifies the URL.

Clover POSTs `{"verificationCode": "<uuid>"}` to the app's webhook URL when someone clicks "Send Verification Code"
in the Developer Dashboard; that person pastes it back into the dashboard, which then shows the app's Clover Auth
Code (docs.clover.com/docs/webhooks). The code is not logged: it is kept here, one per app (the handshake names no
app or merchant), the latest winning.

    PK CLOVERWEBHOOK  SK VERIFICATION -> code, received_at (ISO 8601)
"""

from __future__ import annotations

from datetime import UTC, datetime

from posbridge.store.table import TableStore

KEY = {"PK": "CLOVERWEBHOOK", "SK": "VERIFICATION"}


class CloverVerificationCodes(TableStore):
    def record(self, code: str) -> None:
        self._table.put_item(Item={**KEY, "code": code, "received_at": datetime.now(UTC).isoformat()})

    def latest(self) -> str | None:
        item = self._table.get_item(Key=KEY, ConsistentRead=True).get("Item")
        return str(item["code"]) if item else None
