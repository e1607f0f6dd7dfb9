"""Ingest of POS webhooks (Square): verify, keep the order events, enqueue, answer. No call to the POS or Wix here.

- The signature (`x-square-hmacsha256-signature`: HMAC-SHA256 over the configured notification URL + the raw body,
  with the tenant's signature key) is checked in constant time; a missing or bad one is 401 and nothing is enqueued.
  The tenant is found from `merchant_id` (and the order's `location_id`) through the links tenant registration writes;
  an unknown merchant cannot be verified, so it is a 401 too (same answer: nothing to learn from probing).
- `order.created`, `order.updated`, `order.fulfillment.updated` are enqueued (FIFO group = tenant + order, dedup id =
  `event_id`, so Square's duplicates collapse); any other event type is answered 200 and ignored, and so is an order
  event for a location no tenant is connected to.
- `catalog.version.updated` and `inventory.count.updated` (Flow 5) go to the catalog queue, one message per tenant of
  the merchant (inventory: per tenant at a location the counts name), FIFO group = tenant + "catalog" (one sync at a
  time per tenant) and dedup id = tenant + the catalog version's `updated_at` (inventory: the latest `calculated_at`
  of the event's `inventory_counts`, squareup InventoryCountUpdatedEventObject; without one a 10-second bucket of
  `created_at`), so a burst for one change is one sync and each new change another; a sync that finds nothing new
  since its cursor is a no-op (flows/catalog_sync.py).
- A body that is not a Square notification is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from posbridge.domain.tenant_records import PosLink
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError, TransientError, WebhookRejected
from posbridge.pos.square.notifications import SquareNotification, parse_notification
from posbridge.pos.square.order_snapshot import summary_from_event
from posbridge.pos.square.webhooks import is_valid

PROVIDER = "square"
HANDLED_EVENT_TYPES = frozenset({"order.created", "order.updated", "order.fulfillment.updated"})
CATALOG_EVENT_TYPES = frozenset({"catalog.version.updated", "inventory.count.updated"})
CATALOG_ENTITY = "catalog"
INVENTORY_BUCKET_S = 10


# Why a webhook was refused: the `reason` dimension of the WebhooksRejected metric (a closed set, so few metrics).
RejectReason = Literal[
    "too_large", "malformed", "missing_signature", "bad_signature", "not_configured", "key_unavailable"
]
# 400 malformed, 401 not verifiable, 503 not configured / try again.
Rejected = WebhookRejected[RejectReason]


class Links(Protocol):
    def tenants_for(self, provider: str, merchant_id: str) -> list[PosLink]: ...


class SignatureKeys(Protocol):
    def signature_key(self, instance_id: str) -> str: ...


class Enqueuer(Protocol):
    def send(self, message: WorkMessage) -> str: ...


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # "queued" | "ignored"
    event_type: str
    event_id: str
    instance_id: str | None
    order_id: str | None = None


def ingest_square_webhook(
    raw_body: bytes,
    signature: str | None,
    notification_url: str,
    links: Links,
    keys: SignatureKeys,
    queue: Enqueuer,
    catalog_queue: Enqueuer | None = None,
) -> IngestOutcome:
    if not notification_url:
        raise Rejected(503, "not_configured", "the Square notification URL is not configured (SquareNotificationUrl)")
    if not signature:
        raise Rejected(401, "missing_signature", "missing x-square-hmacsha256-signature")
    try:
        notification = parse_notification(raw_body)
    except ValueError as exc:
        raise Rejected(400, "malformed", str(exc)) from None

    tenants = links.tenants_for(PROVIDER, notification.merchant_id)
    location = notification.location_id()
    at_location = [t for t in tenants if t.location_id == location]
    tenant = next(
        (t for t in at_location or tenants if _verifies(t, keys, notification_url, raw_body, signature)), None
    )
    if tenant is None:
        raise Rejected(401, "bad_signature", "signature rejected")

    ignored = IngestOutcome("ignored", notification.type, notification.event_id, tenant.instance_id)
    if notification.type in CATALOG_EVENT_TYPES:
        if catalog_queue is None:
            return ignored
        stamp = _catalog_stamp(notification)
        counted_at = _count_locations(notification)
        # The catalog is the merchant's: every location connected to it syncs (a count is one location's), but only
        # the tenants this delivery is signed for: each subscription (signature key) gets its own delivery.
        candidates = [t for t in tenants if t.location_id in counted_at] if counted_at else tenants
        for t in [t for t in candidates if t == tenant or _verifies(t, keys, notification_url, raw_body, signature)]:
            catalog_queue.send(
                WorkMessage(
                    source=PROVIDER,
                    event_type=notification.type,
                    event_id=f"{notification.type}:{t.instance_id}:{stamp}",
                    tenant_id=t.instance_id,
                    entity_id=CATALOG_ENTITY,
                    payload={"updated_at": stamp},
                )
            )
        return IngestOutcome("queued", notification.type, notification.event_id, tenant.instance_id)
    if notification.type not in HANDLED_EVENT_TYPES:
        return ignored
    try:
        summary = summary_from_event(notification.type, notification.data)
    except ValueError as exc:
        raise Rejected(400, "malformed", str(exc)) from None
    if not at_location:  # an order of a location no Wix site is connected to
        return ignored
    queue.send(
        WorkMessage(
            source=PROVIDER,
            event_type=notification.type,
            event_id=notification.event_id,
            tenant_id=tenant.instance_id,
            entity_id=summary.order_id,
            payload=summary.model_dump(mode="json"),
        )
    )
    return IngestOutcome("queued", notification.type, notification.event_id, tenant.instance_id, summary.order_id)


def _inventory_counts(notification: SquareNotification) -> list[dict[str, object]]:
    obj = notification.data.get("object")
    counts = obj.get("inventory_counts") if isinstance(obj, dict) else None
    return [c for c in counts if isinstance(c, dict)] if isinstance(counts, list) else []


def _count_locations(notification: SquareNotification) -> set[str]:
    """The locations an inventory.count.updated's counts are at (none for a catalog event)."""
    return {str(c["location_id"]) for c in _inventory_counts(notification) if isinstance(c.get("location_id"), str)}


def _catalog_stamp(notification: SquareNotification) -> str:
    """What makes two catalog notifications "the same change": the catalog version's updated_at; for inventory (no
    version) its counts' latest calculated_at, else the event time in 10-second buckets. Falls back to the event id."""
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


def _verifies(tenant: PosLink, keys: SignatureKeys, url: str, raw_body: bytes, signature: str) -> bool:
    try:
        key = keys.signature_key(tenant.instance_id)
    except PermanentError:  # a tenant without readable credentials cannot vouch for anything
        return False
    except TransientError as exc:
        raise Rejected(503, "key_unavailable", "the signature key cannot be read now; retry later") from exc
    return is_valid(key, url, raw_body, signature)
