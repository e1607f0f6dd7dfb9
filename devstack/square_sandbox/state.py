"""In-memory store, one `Merchant` per Square account; every API call is scoped to the merchant its token names."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.square_sandbox.errors import bad_request, idempotency_key_reused
from devstack.square_sandbox.webhooks import Outgoing, envelope

_UPPER = string.ascii_uppercase + string.digits
_BASE62 = string.ascii_letters + string.digits


def new_id(length: int = 24, alphabet: str = _UPPER) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_uid() -> str:
    return new_id(22, _BASE62)


def new_order_id() -> str:
    return new_id(27, _BASE62)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as Square writes timestamps."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fingerprint(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


@dataclass
class _Stored:
    fingerprint: str
    status: int
    response: str


@dataclass
class Merchant:
    merchant_id: str
    location_id: str
    access_token: str
    signature_key: str
    notification_url: str | None
    currency: str = "USD"
    created_at: str = ""
    catalog: dict[str, dict[str, Any]] = field(default_factory=dict)
    catalog_version: int = 0
    catalog_updated_at: str | None = None
    seeded_ids: list[str] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    inventory: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    paid_orders: set[str] = field(default_factory=set)  # PayOrder'ed (a $0 order is paid with no tender)
    pos_partner: bool = False  # a formal partnership with Square: DELIVERY fulfillments show on the POS
    calls: Counter[str] = field(default_factory=Counter)
    square_versions: Counter[str] = field(default_factory=Counter)
    events: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[Outgoing] = field(default_factory=list)
    _idempotency: dict[tuple[str, str], _Stored] = field(default_factory=dict)
    _last_time: datetime = field(default_factory=lambda: datetime.fromtimestamp(0, UTC))

    def now(self) -> str:
        """Strictly increasing timestamps, so `begin_time` / `updated_at` filters never tie within one merchant."""
        current = datetime.now(UTC)
        moment = current.replace(microsecond=current.microsecond // 1000 * 1000)
        if moment <= self._last_time:
            moment = self._last_time + timedelta(milliseconds=1)
        self._last_time = moment
        return format_time(moment)

    def emit(self, event_type: str, data_type: str, data_id: str | None, obj: dict[str, Any]) -> None:
        """Record a webhook event; it is delivered after the request's lock is released. `data_id` None: the event's
        data has no `id` (catalog.version.updated: squareup's CatalogVersionUpdatedEventData has none)."""
        data: dict[str, Any] = {"type": data_type} | ({"id": data_id} if data_id is not None else {}) | {"object": obj}
        event = envelope(self.merchant_id, event_type, self.now(), data)
        self.events.append(event)
        if self.notification_url:
            self.outbox.append(Outgoing(self.notification_url, self.signature_key, event))

    def replay(self, scope: str, key: str, body: Any) -> tuple[int, dict[str, Any]] | None:
        """The stored answer for a repeated idempotency key; a different body under the same key is an error.

        developer.squareup.com/docs/build-basics/common-api-patterns/idempotency: the same request with the same key
        "returns the response as the first successful" one; the same key with a changed request gets "an error
        indicating that you used the idempotency key previously" (squareup's ErrorCode: IDEMPOTENCY_KEY_REUSED, 400).
        """
        stored = self._idempotency.get((scope, key))
        if stored is None:
            return None
        if stored.fingerprint != fingerprint(body):
            raise idempotency_key_reused()
        return stored.status, json.loads(stored.response)

    def remember(self, scope: str, key: str, body: Any, status: int, response: dict[str, Any]) -> None:
        self._idempotency[(scope, key)] = _Stored(fingerprint(body), status, json.dumps(response))

    def location(self) -> dict[str, Any]:
        return {
            "id": self.location_id,
            "name": f"Sandbox Restaurant {self.location_id}",
            "business_name": "Sandbox Restaurant",
            "merchant_id": self.merchant_id,
            "status": "ACTIVE",
            "type": "PHYSICAL",
            "country": "US",
            "currency": self.currency,
            "language_code": "en-US",
            "timezone": "America/New_York",
            "capabilities": ["CREDIT_CARD_PROCESSING"],
            "created_at": self.created_at,
        }


class SandboxState:
    """All merchants behind one lock: handlers run whole under it, so each request is atomic."""

    def __init__(self) -> None:
        from devstack.square_sandbox.oauth import OAuthState  # (oauth imports this module's helpers)

        self.lock = threading.RLock()
        self.merchants: dict[str, Merchant] = {}
        self.oauth = OAuthState()

    def add_merchant(
        self, merchant_id: str, location_id: str, access_token: str, signature_key: str, notification_url: str | None
    ) -> Merchant:
        """Create a merchant, or update the credentials of an existing one (idempotent)."""
        with self.lock:
            owner = self.for_token(access_token)
            if owner is not None and owner.merchant_id != merchant_id:
                raise ValueError(f"access token already belongs to merchant {owner.merchant_id}")
            merchant = self.merchants.get(merchant_id)
            if merchant is None:
                merchant = Merchant(merchant_id, location_id, access_token, signature_key, notification_url)
                merchant.created_at = merchant.now()
                self.merchants[merchant_id] = merchant
            elif merchant.location_id != location_id and (merchant.orders or merchant.catalog):
                raise ValueError(f"merchant {merchant_id} already has data at location {merchant.location_id}")
            merchant.location_id = location_id
            merchant.access_token = access_token
            merchant.signature_key = signature_key
            merchant.notification_url = notification_url
            return merchant

    def for_token(self, access_token: str) -> Merchant | None:
        with self.lock:
            return next(
                (
                    m
                    for m in self.merchants.values()
                    if secrets.compare_digest(m.access_token.encode(), access_token.encode())
                ),
                None,
            )

    def drain_outbox(self) -> list[Outgoing]:
        with self.lock:
            pending = [item for merchant in self.merchants.values() for item in merchant.outbox]
            for merchant in self.merchants.values():
                merchant.outbox.clear()
            return pending


def paginate(items: list[Any], cursor: str | None, page_size: int, scope: str) -> tuple[list[Any], str | None]:
    """Offset pagination behind an opaque cursor that only the same endpoint accepts."""
    start = 0
    if cursor:
        try:
            kind, offset = base64.urlsafe_b64decode(cursor.encode()).decode().rsplit(":", 1)
            start = int(offset)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            kind = ""
        if kind != scope or start < 0:
            raise bad_request("INVALID_CURSOR", "The pagination cursor is not valid for this request.", "cursor")
    end = start + page_size
    following = base64.urlsafe_b64encode(f"{scope}:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], following
