"""Square webhooks behind the POS webhook port (ports/pos.py PosWebhooks).

Signatures (`x-square-hmacsha256-signature`): base64(HMAC-SHA256(key = subscription signature key, msg = notification
URL + raw body)). The URL must be exactly the one registered with Square (scheme, host, path, query), so it is
configuration, not something read from the request (a proxy may rewrite the Host header).

Notices: `order.created`, `order.updated`, `order.fulfillment.updated` are order notices (their summary read from
`data.object.order_<kind>`); `catalog.version.updated` and `inventory.count.updated` catalog notices, stamped by the
catalog version's `updated_at` (inventory: the latest `calculated_at` of the event's `inventory_counts`, squareup
InventoryCountUpdatedEventObject; without one a 10-second bucket of `created_at`); any other type is "other".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from posbridge.domain.pos_events import NoticeKind, PosNotice
from posbridge.ports.pos import Rejected
from posbridge.pos.square.notifications import (
    CATALOG_EVENT_TYPES,
    OAUTH_REVOKED,
    ORDER_EVENT_TYPES,
    catalog_stamp,
    count_locations,
    parse_notification,
    revoker,
)
from posbridge.pos.square.order_snapshot import summary_from_event

PROVIDER = "square"
SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def signature(signature_key: str, notification_url: str, raw_body: bytes) -> str:
    digest = hmac.new(signature_key.encode(), notification_url.encode() + raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_valid(signature_key: str, notification_url: str, raw_body: bytes, header_value: str | None) -> bool:
    if not header_value:
        return False
    # As bytes: compare_digest refuses a str with non-ASCII characters (TypeError), and a header is anyone's to write.
    expected = signature(signature_key, notification_url, raw_body).encode()
    return hmac.compare_digest(expected, header_value.strip().encode("utf-8", "surrogateescape"))


class SquareWebhooks:
    """Square's PosWebhooks, for the notification URL registered with Square (SquareNotificationUrl): one event per
    POST, no handshake."""

    provider = PROVIDER
    signature_header = SIGNATURE_HEADER
    max_body_bytes = 1024 * 1024  # a Square order webhook is a few KB; anything near this is not Square
    delivers_many = False

    def __init__(self, notification_url: str) -> None:
        self._url = notification_url

    def read(self, raw_body: bytes, signature: str | None) -> PosNotice:
        if not self._url:
            raise Rejected(
                503, "not_configured", "the Square notification URL is not configured (SquareNotificationUrl)"
            )
        if not signature:
            raise Rejected(401, "missing_signature", f"missing {SIGNATURE_HEADER}")
        try:
            notification = parse_notification(raw_body)
        except ValueError as exc:
            raise Rejected(400, "malformed", str(exc)) from None

        def notice(kind: NoticeKind, **details: Any) -> PosNotice:
            return PosNotice(
                account_id=notification.merchant_id,
                event_type=notification.type,
                event_id=notification.event_id,
                kind=kind,
                location_id=notification.location_id(),
                **details,
            )

        if notification.type in CATALOG_EVENT_TYPES:
            return notice(
                "catalog", catalog_stamp=catalog_stamp(notification), counted_locations=count_locations(notification)
            )
        if notification.type == OAUTH_REVOKED:
            return notice("revoked", revoker=revoker(notification))
        if notification.type not in ORDER_EVENT_TYPES:
            return notice("other")
        try:
            return notice("order", order=summary_from_event(notification.type, notification.data))
        except ValueError as exc:
            return notice("order", order_error=str(exc))

    def verifies(self, signature_key: str, raw_body: bytes, signature: str) -> bool:
        return is_valid(signature_key, self._url, raw_body, signature)

    def handshake(self, raw_body: bytes) -> str | None:
        return None

    def split(self, raw_body: bytes, signature: str | None) -> list[bytes]:
        return [raw_body]  # `read` refuses what is not Square's, signature first (as it signs the whole body)
