"""Ingest of POS webhooks: verify, keep the order and catalog events, enqueue, answer. No call to the POS or Wix here.

The provider's webhook port (ports/pos.py PosWebhooks; Square: pos/square/webhooks.py) reads the body into a neutral
PosNotice and checks signatures; this flow decides what to do with it:
- The tenant is found from the notice's POS account (and the order's location) through the links tenant registration
  writes; the signature must verify under that tenant's key (checked in constant time by the port). An unknown account
  cannot be verified, so it is a 401 too (same answer: nothing to learn from probing), and nothing is enqueued.
- Order notices are enqueued (FIFO group = tenant + order, dedup id = the provider's event id, so its duplicates
  collapse); an order notice without a readable summary is a 400 once its signature holds; any other notice is
  answered 200 and ignored, and so is an order notice for a location no tenant is connected to.
- Catalog notices (Flow 5) go to the catalog queue, one message per tenant of the POS account (an inventory count: per
  tenant at a location the counts name), FIFO group = tenant + "catalog" (one sync at a time per tenant) and dedup
  id = tenant + the notice's catalog stamp, so a burst for one change is one sync and each new change another; a sync
  that finds nothing new since its cursor is a no-op (flows/catalog_sync.py).
- An access-revoked notice (Square: oauth.authorization.revoked) is queued for the worker, which pauses every site of
  the POS account with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from posbridge.domain.pos_events import PosNotice
from posbridge.domain.tenant_records import PosLink
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError, TransientError
from posbridge.ports.pos import PosWebhooks, Rejected
from posbridge.ports.stores import PosLinkReader, SignatureKeys
from posbridge.ports.work import Enqueuer

CATALOG_ENTITY = "catalog"
# The message group of a POS account's access events: one per tenant, so they apply in order
ACCESS_ENTITY = "oauth"


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # "queued" | "ignored"
    event_type: str
    event_id: str
    instance_id: str | None
    order_id: str | None = None


def ingest_pos_webhook(
    raw_body: bytes,
    signature: str | None,
    webhooks: PosWebhooks,
    links: PosLinkReader,
    keys: SignatureKeys,
    queue: Enqueuer,
    catalog_queue: Enqueuer | None = None,
) -> IngestOutcome:
    """Raises ports.pos.Rejected (a WebhookRejected) for what cannot be verified or read; nothing is enqueued then."""
    notice = webhooks.read(raw_body, signature)
    if not signature:  # the port refuses a delivery without one first (its own header's name in the answer)
        raise Rejected(401, "missing_signature", "missing signature")

    tenants = links.tenants_for(webhooks.provider, notice.account_id)
    at_location = [t for t in tenants if t.location_id == notice.location_id]
    tenant = next((t for t in at_location or tenants if _verifies(t, keys, webhooks, raw_body, signature)), None)
    if tenant is None:
        raise Rejected(401, "bad_signature", "signature rejected")

    ignored = IngestOutcome("ignored", notice.event_type, notice.event_id, tenant.instance_id)
    if notice.kind == "catalog":
        if catalog_queue is None:
            return ignored
        _enqueue_catalog_syncs(notice, tenant, tenants, catalog_queue, keys, webhooks, raw_body, signature)
        return IngestOutcome("queued", notice.event_type, notice.event_id, tenant.instance_id)
    if notice.kind == "revoked":  # the seller (or the POS) ended the app's access: the worker pauses its sites
        queue.send(
            WorkMessage(
                source=webhooks.provider,
                event_type=notice.event_type,
                event_id=notice.event_id,
                tenant_id=tenant.instance_id,
                entity_id=ACCESS_ENTITY,
                payload={"merchant_id": notice.account_id, "revoker_type": notice.revoker or "UNKNOWN"},
            )
        )
        return IngestOutcome("queued", notice.event_type, notice.event_id, tenant.instance_id)
    if notice.kind != "order":
        return ignored
    if notice.order is None:
        raise Rejected(400, "malformed", notice.order_error or "the order notice carries no order summary")
    if not at_location:  # an order of a location no Wix site is connected to
        return ignored
    queue.send(
        WorkMessage(
            source=webhooks.provider,
            event_type=notice.event_type,
            event_id=notice.event_id,
            tenant_id=tenant.instance_id,
            entity_id=notice.order.order_id,
            payload=notice.order.model_dump(mode="json"),
        )
    )
    return IngestOutcome("queued", notice.event_type, notice.event_id, tenant.instance_id, notice.order.order_id)


def _enqueue_catalog_syncs(
    notice: PosNotice,
    tenant: PosLink,
    tenants: list[PosLink],
    catalog_queue: Enqueuer,
    keys: SignatureKeys,
    webhooks: PosWebhooks,
    raw_body: bytes,
    signature: str,
) -> None:
    """The catalog is the account's: every location connected to it syncs (a count is one location's), but only the
    tenants this delivery is signed for: each subscription (signature key) gets its own delivery."""
    counted = notice.counted_locations
    candidates = [t for t in tenants if t.location_id in counted] if counted else tenants
    for t in [t for t in candidates if t == tenant or _verifies(t, keys, webhooks, raw_body, signature)]:
        catalog_queue.send(
            WorkMessage(
                source=webhooks.provider,
                event_type=notice.event_type,
                event_id=f"{notice.event_type}:{t.instance_id}:{notice.catalog_stamp}",
                tenant_id=t.instance_id,
                entity_id=CATALOG_ENTITY,
                payload={"updated_at": notice.catalog_stamp},
            )
        )


def _verifies(tenant: PosLink, keys: SignatureKeys, webhooks: PosWebhooks, raw_body: bytes, signature: str) -> bool:
    try:
        key = keys.signature_key(tenant.instance_id)
    except PermanentError:  # a tenant without readable credentials cannot vouch for anything
        return False
    except TransientError as exc:
        raise Rejected(503, "key_unavailable", "the signature key cannot be read now; retry later") from exc
    return webhooks.verifies(key, raw_body, signature)
