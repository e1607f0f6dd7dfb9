"""Clover webhooks (docs.clover.com/docs/webhooks): verified by the app's static auth code, parsed into neutral
events.

- Verification: after the URL is verified, every message carries the app's "Clover Auth Code" as header
  `X-Clover-Auth` (static, per app; no body signature, no timestamp). It is compared in constant time.
- Handshake: before that, Clover POSTs `{"verificationCode": "<uuid>"}` without the header; a person pastes the code
  into the Developer Dashboard. `parse` returns it as a `Verification` so the handler can hand it to the operator;
  nothing else may be done with an unauthenticated body.
- Messages: `{"appId": ..., "merchants": {"<mId>": [{"objectId": "O:<id>", "type": "CREATE"|"UPDATE"|"DELETE",
  "ts": <Unix ms>}]}}`: several merchants and updates per POST, no event id, no object data (fetch the object).
  Dedupe on (merchant, objectId, type, ts). "Clover does not guarantee when, or if, notifications will be
  received": reconciliation by polling (`orders_updated_since`) is the primary path, webhooks only make it sooner.

Behind the POS webhook port (ports/pos.py PosWebhooks), one update at a time: `deliveries` cuts a message into
single-update messages (the header is a static code, not a signature over the body, so each still verifies), and
`CloverWebhooks.read` reads one of them as a neutral PosNotice: an order created or updated as an order notice (the
merchant as account and location, the event id the dedupe key; a deleted order, which cannot be read, as "other"),
an inventory update as a catalog notice stamped by its `ts`,
anything else (apps, customers, payments...) as "other".
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posbridge.domain.catalog import CatalogChanges
from posbridge.domain.events import POS_ORDER_CREATED, POS_ORDER_UPDATED
from posbridge.domain.pos_events import PosNotice
from posbridge.domain.pos_order import PosOrderSummary, PosPosition
from posbridge.ports.pos import Rejected

PROVIDER = "clover"
AUTH_HEADER = "X-Clover-Auth"
ORDER_PREFIX = "O"
# Inventory prefixes (docs.clover.com/docs/webhooks): `I` items, `IC` categories, `IG` modifier groups, `IM`
# modifiers; the upcoming split adds `IS` item stock and `IA` item availability, both about an item
# (docs.clover.com/dev/docs/upcoming-changes-to-inventory-webhooks).
ITEM_PREFIXES = frozenset({"I", "IS", "IA"})
INVENTORY_PREFIXES = ITEM_PREFIXES | {"IC", "IG", "IM"}


def is_authentic(auth_code: str, header_value: str | None) -> bool:
    if not auth_code or not header_value:
        return False
    # As bytes: compare_digest refuses a str with non-ASCII characters, and a header is anyone's to write.
    return hmac.compare_digest(auth_code.encode(), header_value.strip().encode("utf-8", "surrogateescape"))


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    verificationCode: str = Field(min_length=1, max_length=200)


class CloverEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    merchant_id: str
    object_id: str  # e.g. "O:GHIVJT2ABCRSC"
    type: Literal["CREATE", "UPDATE", "DELETE"]
    ts: int  # Unix ms

    @property
    def kind(self) -> str:
        return self.object_id.split(":", 1)[0]

    @property
    def target_id(self) -> str:
        return self.object_id.split(":", 1)[1] if ":" in self.object_id else ""

    @property
    def dedupe_key(self) -> str:
        return f"{self.merchant_id}|{self.object_id}|{self.type}|{self.ts}"


class _Update(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    objectId: str = Field(min_length=3, max_length=100, pattern=r"^[A-Z]{1,3}:[A-Za-z0-9]+$")
    type: Literal["CREATE", "UPDATE", "DELETE"]
    ts: int = Field(ge=0)


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    appId: str = Field(min_length=1, max_length=100)
    merchants: dict[str, list[_Update]]


class CloverWebhook(BaseModel):
    model_config = ConfigDict(frozen=True)

    app_id: str
    events: tuple[CloverEvent, ...]

    def order_summaries(self) -> list[PosOrderSummary]:
        """What the message says about orders: one neutral summary per order event (the merchant as location)."""
        return [
            PosOrderSummary(
                order_id=event.target_id,
                location_id=event.merchant_id,
                state="DELETED" if event.type == "DELETE" else None,
                # `ts` is when Clover sent the event, not the order's modifiedTime (which it may follow by a moment)
                position=PosPosition(updated_at=datetime.fromtimestamp(event.ts / 1000, tz=UTC)),
                position_exact=False,
            )
            for event in self.events
            if event.kind == ORDER_PREFIX and event.target_id
        ]

    def catalog_changes(self, merchant_id: str) -> CatalogChanges:
        """What the message says about one merchant's inventory, as the incremental sync's scope. A webhook is the
        only way Clover tells of a deleted item (lists leave deleted objects out, and no documented filter lists
        them): the sync reads the whole catalog (`whole`) and its diff finds what is gone. An id alone cannot be
        narrowed either (an `I` id may be a variant of an item group, the dish being the group)."""
        mine = [e for e in self.events if e.merchant_id == merchant_id and e.kind in INVENTORY_PREFIXES]
        if not mine:
            return CatalogChanges()
        items = frozenset(e.target_id for e in mine if e.kind in ITEM_PREFIXES and e.target_id)
        latest = max(e.ts for e in mine)
        return CatalogChanges(
            count=len(mine),
            latest=datetime.fromtimestamp(latest / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{latest % 1000:03d}Z",
            items=items,
            variations=items,
            modifier_groups=frozenset(e.target_id for e in mine if e.kind == "IG" and e.target_id),
            categories=frozenset(e.target_id for e in mine if e.kind == "IC" and e.target_id),
            whole=True,
        )


def parse(raw_body: bytes) -> Verification | CloverWebhook:
    """Raises ValueError (naming fields only, never values) when the body is neither."""
    try:
        payload: Any = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("body is not JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("body must be a JSON object")
    if "verificationCode" in payload:
        try:
            return Verification.model_validate(payload)
        except ValidationError:
            raise ValueError("not a Clover verification: verificationCode invalid") from None
    try:
        message = _Message.model_validate(payload)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise ValueError(f"not a Clover webhook: {', '.join(fields)} missing or invalid") from None
    events = tuple(
        CloverEvent(merchant_id=mid, object_id=u.objectId, type=u.type, ts=u.ts)
        for mid, updates in message.merchants.items()
        for u in updates
    )
    return CloverWebhook(app_id=message.appId, events=events)


def verification_code(raw_body: bytes) -> str | None:
    """The code of a verification handshake (`{"verificationCode": ...}`), None for any other body."""
    try:
        parsed = parse(raw_body)
    except ValueError:
        return None
    return parsed.verificationCode if isinstance(parsed, Verification) else None


def deliveries(raw_body: bytes) -> list[bytes]:
    """The message cut into one message per update (same appId), in the order sent; ValueError when it is not a
    Clover message."""
    parsed = parse(raw_body)
    if isinstance(parsed, Verification):
        raise ValueError("a verification handshake is not a message")

    def one(e: CloverEvent) -> bytes:
        update = {"objectId": e.object_id, "type": e.type, "ts": e.ts}
        return json.dumps({"appId": parsed.app_id, "merchants": {e.merchant_id: [update]}}).encode()

    return [one(e) for e in parsed.events]


class VerificationCodes(Protocol):
    """Where a verification handshake's code is kept for the operator (webhook_code.py)."""

    def record(self, code: str) -> None: ...


class CloverWebhooks:
    """Clover's PosWebhooks: one single-update message (see `deliveries`) verified by the app's Clover Auth Code,
    which is each Clover tenant's `webhook_signature_key`; the handshake's code goes to `codes`."""

    provider = PROVIDER
    signature_header = AUTH_HEADER
    max_body_bytes = 256 * 1024  # a Clover message is ids and timestamps only; anything near this is not Clover
    delivers_many = True  # many updates, of many merchants, per POST

    def __init__(self, codes: VerificationCodes | None = None) -> None:
        self._codes = codes

    def handshake(self, raw_body: bytes) -> str | None:
        """The verification handshake (`{"verificationCode": ...}`, no header): its code kept (never logged) and
        answered 200 before anything is verified, as it carries nothing to act on."""
        code = verification_code(raw_body)
        if code is None:
            return None
        if self._codes is None:
            raise Rejected(503, "not_configured", "no store for Clover's verification code is configured")
        self._codes.record(code)
        return "verification_recorded"

    def split(self, raw_body: bytes, signature: str | None) -> list[bytes]:
        """One message per update (`deliveries`): the header is a static code, not a signature over the body, so
        every piece verifies the same. A POST without the header is refused before it is read."""
        if not signature:
            raise Rejected(401, "missing_signature", f"missing {AUTH_HEADER}")
        try:
            return deliveries(raw_body)
        except ValueError as exc:
            raise Rejected(400, "malformed", str(exc)) from None

    def read(self, raw_body: bytes, signature: str | None) -> PosNotice:
        if not signature:
            raise Rejected(401, "missing_signature", f"missing {AUTH_HEADER}")
        try:
            parsed = parse(raw_body)
        except ValueError as exc:
            raise Rejected(400, "malformed", str(exc)) from None
        if isinstance(parsed, Verification) or len(parsed.events) != 1:
            raise Rejected(400, "malformed", "one Clover update per read (pos.clover.webhooks.deliveries)")
        event = parsed.events[0]
        event_type = {"CREATE": POS_ORDER_CREATED}.get(event.type, POS_ORDER_UPDATED)

        # A deleted order cannot be read (404) nor listed: its DELETE is "other". The bridge's own cancel deletes
        # (pos/clover/__init__.py cancel_order), which needs nothing more; a deletion at the till of an order
        # imported into Wix leaves the Wix order as it is (README, Clover).
        if event.kind == ORDER_PREFIX and event.target_id and event.type != "DELETE":
            return PosNotice(
                account_id=event.merchant_id,
                event_type=event_type,
                event_id=event.dedupe_key,
                kind="order",
                location_id=event.merchant_id,
                order=parsed.order_summaries()[0],
            )
        if event.kind in INVENTORY_PREFIXES:
            return PosNotice(
                account_id=event.merchant_id,
                event_type=f"clover.inventory.{event.type.lower()}",
                event_id=event.dedupe_key,
                kind="catalog",
                location_id=event.merchant_id,
                catalog_stamp=parsed.catalog_changes(event.merchant_id).latest or str(event.ts),
            )
        return PosNotice(
            account_id=event.merchant_id,
            event_type=f"clover.{event.kind.lower()}.{event.type.lower()}",
            event_id=event.dedupe_key,
            kind="other",
            location_id=event.merchant_id,
        )

    def verifies(self, signature_key: str, raw_body: bytes, signature: str) -> bool:
        return is_authentic(signature_key, signature)
