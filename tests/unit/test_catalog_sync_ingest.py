"""Flow 5's ingest: POS catalog webhooks are verified and coalesced per tenant (FIFO group = tenant + "catalog", one
dedup id per catalog version), so a burst of notifications for one change is one queued sync."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from posbridge.domain.tenant_records import PosLink
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import WebhookRejected
from posbridge.flows.pos_ingest import ingest_pos_webhook
from posbridge.pos.square.webhooks import SquareWebhooks

URL = "https://bridge.example/webhooks/pos/square"


class Links:
    def tenants_for(self, provider: str, merchant_id: str) -> list[PosLink]:
        return [PosLink("L1", "tenant-a"), PosLink("L2", "tenant-b")] if merchant_id == "M1" else []


class Keys:
    """Each tenant has its own subscription and signature key."""

    def signature_key(self, instance_id: str) -> str:
        return "key-" + instance_id


class SharedKeys:
    """One subscription for the merchant's locations: every tenant has the key tenant-a's deliveries are signed with."""

    def signature_key(self, instance_id: str) -> str:
        return "key-tenant-a"


class Queue:
    def __init__(self) -> None:
        self.sent: list[WorkMessage] = []

    def send(self, message: WorkMessage) -> str:
        self.sent.append(message)
        return "id"


def _event(event_id: str, event_type: str = "catalog.version.updated", updated_at: str = "2026-01-01T10:00:00.000Z",
           created_at: str = "2026-01-01T10:00:01Z") -> tuple[bytes, str]:  # fmt: skip
    catalog_version: dict[str, object] = {"catalog_version": {"updated_at": updated_at}}
    obj = catalog_version if event_type.startswith("catalog") else {"counts": []}
    body = json.dumps({"merchant_id": "M1", "type": event_type, "event_id": event_id, "created_at": created_at,
                       "data": {"type": "x", "id": "", "object": obj}}).encode()  # fmt: skip
    digest = hmac.new(b"key-tenant-a", URL.encode() + body, hashlib.sha256).digest()
    return body, base64.b64encode(digest).decode()


def _dedup(queue: Queue) -> set[tuple[str, str]]:
    return {(m.group_id, m.dedup_id) for m in queue.sent}


def test_a_burst_of_notifications_for_one_catalog_version_is_one_message_per_tenant() -> None:
    # Given four notifications (distinct event ids) for one catalog version, plus a redelivery of the first
    catalog, orders = Queue(), Queue()
    events = [_event(f"evt-{n}") for n in range(4)] + [_event("evt-0")]
    # When each is ingested
    square = SquareWebhooks(URL)
    outcomes = [ingest_pos_webhook(b, s, square, Links(), SharedKeys(), orders, catalog) for b, s in events]
    # Then all are queued on the catalog queue only, and collapse to one (group, dedup id) per tenant of the merchant
    assert {o.status for o in outcomes} == {"queued"} and orders.sent == []
    assert len(catalog.sent) == 10 and {g for g, _ in _dedup(catalog)} == {"tenant-a:catalog", "tenant-b:catalog"}
    assert len(_dedup(catalog)) == 2


def test_a_new_catalog_version_is_a_new_message_and_inventory_counts_are_bucketed() -> None:
    catalog = Queue()
    for body, sig in (_event("a"), _event("b", updated_at="2026-01-01T10:05:00.000Z"),
                      _event("c", "inventory.count.updated", created_at="2026-01-01T10:00:01Z"),
                      _event("d", "inventory.count.updated", created_at="2026-01-01T10:00:03Z")):  # fmt: skip
        ingest_pos_webhook(body, sig, SquareWebhooks(URL), Links(), SharedKeys(), Queue(), catalog)
    # Two catalog versions and one 10-second inventory bucket, for each of the two tenants
    assert len(_dedup(catalog)) == 6


def test_a_catalog_event_signed_for_one_tenant_syncs_only_that_tenant() -> None:
    # Given two tenants on one merchant, each with its own subscription key, and a delivery signed with tenant-a's
    catalog = Queue()
    body, sig = _event("evt-a")
    # When it is ingested
    ingest_pos_webhook(body, sig, SquareWebhooks(URL), Links(), Keys(), Queue(), catalog)
    # Then only tenant-a's catalog syncs: tenant-b's own subscription delivers (and vouches for) its own notification
    assert [m.tenant_id for m in catalog.sent] == ["tenant-a"]


def test_catalog_events_are_ignored_without_a_catalog_queue_and_refused_unsigned() -> None:
    body, sig = _event("x")
    assert ingest_pos_webhook(body, sig, SquareWebhooks(URL), Links(), Keys(), Queue(), None).status == "ignored"
    with pytest.raises(WebhookRejected) as rejected:
        ingest_pos_webhook(body, "bad", SquareWebhooks(URL), Links(), Keys(), Queue(), Queue())
    assert rejected.value.status == 401


def _counted(event_id: str, calculated_at: str, location_id: str = "L1") -> tuple[bytes, str]:
    """inventory.count.updated as squareup's InventoryCountUpdatedEvent shapes it: data.object.inventory_counts[]."""
    count = {"catalog_object_id": "V1", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
             "location_id": location_id, "quantity": "0", "calculated_at": calculated_at}  # fmt: skip
    body = json.dumps({"merchant_id": "M1", "type": "inventory.count.updated", "event_id": event_id,
                       "created_at": "2026-01-01T10:00:01Z",
                       "data": {"type": "inventory_counts", "id": "x",
                                "object": {"inventory_counts": [count]}}}).encode()  # fmt: skip
    digest = hmac.new(b"key-tenant-a", URL.encode() + body, hashlib.sha256).digest()
    return body, base64.b64encode(digest).decode()


def test_each_inventory_change_is_a_sync_of_the_location_counted_and_a_redelivery_is_not() -> None:
    # Given two count changes at location L1 two seconds apart (same 10-second bucket), and a redelivery of the first
    catalog = Queue()
    events = [_counted("a", "2026-01-01T10:00:01.000Z"), _counted("b", "2026-01-01T10:00:03.000Z"),
              _counted("a2", "2026-01-01T10:00:01.000Z")]  # fmt: skip
    # When each is ingested
    for body, sig in events:
        assert ingest_pos_webhook(body, sig, SquareWebhooks(URL), Links(), Keys(), Queue(), catalog).status == "queued"
    # Then each change is its own sync (the second one is not lost in the first's bucket), the redelivery collapses,
    # and only the tenant at the counted location syncs (inventory is per location, the catalog per merchant)
    assert {g for g, _ in _dedup(catalog)} == {"tenant-a:catalog"}
    assert len(_dedup(catalog)) == 2
