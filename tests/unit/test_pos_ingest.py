"""POST /webhooks/pos/square's rule (posbridge/flows/pos_ingest.py): verify, route to the tenant, enqueue or ignore."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from posbridge.domain.tenant_records import PosLink
from posbridge.errors import PermanentError, TransientError, WebhookRejected
from posbridge.flows.pos_ingest import ingest_pos_webhook
from posbridge.pos.square.webhooks import SquareWebhooks, signature
from tests.unit.pos_fakes import FakeQueue

URL = "https://bridge.example/v1/webhooks/pos/square"
KEYS = {"inst-a": "key-a", "inst-b": "key-b"}


@dataclass
class FakeLinks:
    links: dict[str, list[PosLink]] = field(
        default_factory=lambda: {"M-1": [PosLink("L-A", "inst-a"), PosLink("L-B", "inst-b")]}
    )

    def tenants_for(self, provider: str, merchant_id: str) -> list[PosLink]:
        assert provider == "square"
        return self.links.get(merchant_id, [])


@dataclass
class FakeKeys:
    broken: set[str] = field(default_factory=set)
    down: bool = False

    def signature_key(self, instance_id: str) -> str:
        if self.down:
            raise TransientError("Secrets Manager unavailable")
        if instance_id in self.broken or instance_id not in KEYS:
            raise PermanentError("missing_pos_credentials", "no credentials")
        return KEYS[instance_id]


def _event(event_type: str = "order.updated", location: str = "L-A", merchant: str = "M-1") -> bytes:
    key = {"order.updated": "order_updated", "order.created": "order_created"}.get(event_type, "order_updated")
    body: dict[str, Any] = {
        "merchant_id": merchant,
        "type": event_type,
        "event_id": "evt-1",
        "created_at": "2026-03-01T12:00:00Z",
        "data": {"type": "order", "id": "ORDER-1", "object": {key: {"order_id": "ORDER-1", "version": 2,
                 "state": "OPEN", "location_id": location, "updated_at": "2026-03-01T12:00:00Z"}}},
    }  # fmt: skip
    return json.dumps(body).encode()


def _ingest(body: bytes, sig: str | None, queue: FakeQueue, keys: FakeKeys | None = None, url: str = URL) -> Any:
    return ingest_pos_webhook(body, sig, SquareWebhooks(url), FakeLinks(), keys or FakeKeys(), queue)


def test_a_signed_order_event_is_queued_for_its_tenant_grouped_by_order_deduplicated_by_event() -> None:
    # Given an order.updated for location L-B, signed with that tenant's key over the URL + body
    queue, body = FakeQueue(), _event(location="L-B")
    # When it is ingested
    outcome = _ingest(body, signature("key-b", URL, body), queue)
    # Then one work message is queued for inst-b, with the summary, grouped by tenant + order
    [sent] = queue.sent
    assert outcome.status == "queued" and sent.tenant_id == "inst-b"
    assert sent.group_id == "inst-b:ORDER-1" and sent.dedup_id == "inst-b:square:evt-1"
    assert sent.payload["order_id"] == "ORDER-1" and sent.payload["position"]["version"] == 2


@pytest.mark.parametrize(
    "sig",
    [
        None,
        "",
        "bm90IGEgc2lnbmF0dXJl",
        signature("key-a", URL + "?x=1", _event()),
        signature("key-b", URL, _event()),
        "sïgnätüre\udcff",  # non-ASCII (and an undecodable byte, as a header can carry): refused, never a crash
    ],
    ids=["missing", "empty", "garbage", "other-url", "other-tenants-key", "non-ascii"],
)
def test_a_missing_or_bad_signature_is_401_and_nothing_is_queued(sig: str | None) -> None:
    queue = FakeQueue()
    with pytest.raises(WebhookRejected) as caught:
        _ingest(_event(), sig, queue)
    assert caught.value.status == 401 and queue.sent == []
    assert caught.value.code == ("missing_signature" if not sig else "bad_signature")


def test_a_tampered_body_is_401() -> None:
    queue, body = FakeQueue(), _event()
    with pytest.raises(WebhookRejected) as caught:
        _ingest(body.replace(b'"version": 2', b'"version": 9'), signature("key-a", URL, body), queue)
    assert caught.value.status == 401 and queue.sent == []


def test_an_unknown_merchant_cannot_be_verified() -> None:
    queue, body = FakeQueue(), _event(merchant="M-UNKNOWN")
    with pytest.raises(WebhookRejected) as caught:
        _ingest(body, signature("key-a", URL, body), queue)
    assert caught.value.status == 401 and queue.sent == []


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"type": "order.updated"}', "caf\xe9".encode("latin-1")])
def test_a_malformed_body_is_400(body: bytes) -> None:
    queue = FakeQueue()
    with pytest.raises(WebhookRejected) as caught:
        _ingest(body, "c2ln", queue)
    assert (caught.value.status, caught.value.code) == (400, "malformed") and queue.sent == []


def test_a_signed_order_event_without_its_summary_is_400() -> None:
    queue = FakeQueue()
    body = json.dumps({"merchant_id": "M-1", "type": "order.updated", "event_id": "e", "data": {"object": {}}}).encode()
    with pytest.raises(WebhookRejected) as caught:
        _ingest(body, signature("key-a", URL, body), queue)
    assert caught.value.status == 400 and queue.sent == []


def test_an_unsigned_order_event_without_its_summary_is_401_not_400() -> None:
    # Given an order event whose summary is missing, signed with a key that is not the tenant's
    queue = FakeQueue()
    body = json.dumps({"merchant_id": "M-1", "type": "order.updated", "event_id": "e", "data": {"object": {}}}).encode()
    # When it is ingested
    with pytest.raises(WebhookRejected) as caught:
        _ingest(body, signature("not-the-key", URL, body), queue)
    # Then it is refused as unverifiable: nothing about its content is judged before the signature holds
    assert (caught.value.status, caught.value.code) == (401, "bad_signature") and queue.sent == []


def test_other_event_types_are_acknowledged_and_ignored() -> None:
    queue = FakeQueue()
    body = json.dumps({"merchant_id": "M-1", "type": "catalog.version.updated", "event_id": "e", "data": {}}).encode()
    outcome = _ingest(body, signature("key-a", URL, body), queue)
    assert outcome.status == "ignored" and queue.sent == []


def test_an_order_at_a_location_no_tenant_is_connected_to_is_ignored() -> None:
    queue, body = FakeQueue(), _event(location="L-ELSEWHERE")
    outcome = _ingest(body, signature("key-a", URL, body), queue)
    assert outcome.status == "ignored" and queue.sent == []


def test_without_a_configured_url_square_is_asked_to_retry_later() -> None:
    with pytest.raises(WebhookRejected) as caught:
        _ingest(_event(), "c2ln", FakeQueue(), url="")
    assert (caught.value.status, caught.value.code) == (503, "not_configured")


def test_keys_that_cannot_be_read_now_ask_square_to_retry() -> None:
    with pytest.raises(WebhookRejected) as caught:
        _ingest(_event(), signature("key-a", URL, _event()), FakeQueue(), FakeKeys(down=True))
    assert (caught.value.status, caught.value.code) == (503, "key_unavailable")


def _revoked(revoker: str = "MERCHANT") -> bytes:
    # squareup 46 OauthAuthorizationRevokedEvent: data {type: revocation, object: {revocation}} (no data id)
    body = {
        "merchant_id": "M-1",
        "type": "oauth.authorization.revoked",
        "event_id": "evt-revoked",
        "created_at": "2026-03-01T12:00:00Z",
        "data": {"type": "revocation", "object": {"revocation": {"revoked_at": "2026-03-01T12:00:00Z",
                 "revoker_type": revoker}}},
    }  # fmt: skip
    return json.dumps(body).encode()


def test_a_signed_authorization_revoked_event_is_queued_for_the_worker_with_the_merchant_and_revoker() -> None:
    # Given Square's oauth.authorization.revoked for merchant M-1, signed with a key of one of its sites
    queue, body = FakeQueue(), _revoked()
    # When it is ingested
    outcome = _ingest(body, signature("key-a", URL, body), queue)
    # Then one message goes to the worker (which pauses the merchant's sites), naming the merchant and who revoked
    [sent] = queue.sent
    assert outcome.status == "queued" and sent.event_type == "oauth.authorization.revoked"
    assert sent.payload == {"merchant_id": "M-1", "revoker_type": "MERCHANT"}


def test_an_unsigned_authorization_revoked_event_pauses_nothing() -> None:
    queue, body = FakeQueue(), _revoked()
    with pytest.raises(WebhookRejected) as rejected:
        _ingest(body, signature("not-a-key", URL, body), queue)
    assert rejected.value.status == 401 and queue.sent == []
