"""Clover as a registered provider (pos/clover/provider.py): the registry builds its gateway and inventory reader for a
Clover tenant from the per-provider options and the state table, the registered token pair seeds the token store once,
and its webhooks are read behind the POS webhook port one update at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from posbridge.domain.events import POS_ORDER_CREATED, POS_ORDER_UPDATED
from posbridge.domain.tenant import PosConnection, PosCredentials
from posbridge.errors import PermanentError, WebhookRejected
from posbridge.pos import registry
from posbridge.pos.clover import CloverPos
from posbridge.pos.clover.catalog import CloverCatalogSource
from posbridge.pos.clover.token_store import DynamoCloverTokenStore
from posbridge.pos.clover.tokens import CloverTokens
from posbridge.pos.clover.webhooks import CloverWebhooks, deliveries, verification_code
from posbridge.pos.registry import PosCatalogs, PosGateways
from tests.moto_tables import mappings_table
from tests.unit.pos_fakes import tenant

TABLE = "mappings"
URLS = {"square": "http://127.0.0.1:9", "clover": "http://127.0.0.1:8"}
OPTIONS = {"clover": {"app_id": "APP1", "currency": "USD"}}


class Secrets:
    def __init__(self, refresh: str = "refresh-1") -> None:
        self.refresh = refresh

    def pos_credentials(self, instance_id: str, changed_at: str | None = None) -> PosCredentials:
        return PosCredentials(
            access_token=SecretStr(f"access-of-{self.refresh}"),
            webhook_signature_key=SecretStr("clover-auth-code"),
            refresh_token=SecretStr(self.refresh),
            access_token_expiration=2_000_000_000,
            refresh_token_expiration=2_100_000_000,
        )


def _clover_tenant() -> Any:
    shop = tenant()
    return shop.model_copy(update={"pos": PosConnection(provider="clover", merchant_id="MID1", location_id="MID1")})


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mappings_table(TABLE) as client:
        yield client


def test_a_clover_tenant_gets_a_clover_gateway_and_reader_and_its_pair_seeds_the_token_store(dynamodb: Any) -> None:
    # Given the registry configured for both providers, and a Clover tenant registered with its token pair
    secrets = Secrets()
    shop = _clover_tenant()
    # When its gateway and catalog reader are asked for
    gateway = PosGateways(URLS, secrets, OPTIONS, TABLE).for_tenant(shop)  # type: ignore[arg-type]
    catalog = PosCatalogs(URLS, secrets, OPTIONS, TABLE).for_tenant(shop)  # type: ignore[arg-type]
    # Then they are Clover's, and the merchant's pair is in the token store
    assert isinstance(gateway, CloverPos) and isinstance(catalog, CloverCatalogSource)
    store = DynamoCloverTokenStore(TABLE, "MID1")
    assert store.load().refresh_token == "refresh-1"
    # And a Square tenant beside it still gets Square's gateway
    assert type(PosGateways(URLS, secrets, OPTIONS, TABLE).for_tenant(tenant())).__name__ == "SquarePos"  # type: ignore[arg-type]


def test_a_refreshed_pair_is_never_rolled_back_by_a_rebuild_and_a_new_authorisation_replaces_it(dynamodb: Any) -> None:
    # Given a Clover tenant whose registered pair seeded the store, then was refreshed by a worker
    shop = _clover_tenant()
    PosGateways(URLS, Secrets(), OPTIONS, TABLE).for_tenant(shop)  # type: ignore[arg-type]
    store = DynamoCloverTokenStore(TABLE, "MID1")
    refreshed = CloverTokens(
        access_token="a2", access_token_expiration=1, refresh_token="r2", refresh_token_expiration=2
    )
    assert store.replace("refresh-1", refreshed)
    # When another cold function builds the gateway from the same registration
    PosGateways(URLS, Secrets(), OPTIONS, TABLE).for_tenant(shop)  # type: ignore[arg-type]
    # Then the refreshed pair stays (the spent refresh token is not brought back)
    assert store.load().refresh_token == "r2"
    # And a registration with a new authorisation's pair replaces it
    PosGateways(URLS, Secrets("refresh-new"), OPTIONS, TABLE).for_tenant(shop)  # type: ignore[arg-type]
    assert store.load().refresh_token == "refresh-new"


def test_clover_without_its_app_id_is_refused_with_a_reason_not_a_crash(dynamodb: Any) -> None:
    # Given the registry without Clover's options, When a Clover tenant's gateway is asked for
    with pytest.raises(PermanentError) as refused:
        PosGateways(URLS, Secrets(), {}, TABLE).for_tenant(_clover_tenant())  # type: ignore[arg-type]
    # Then it is a permanent error naming what is missing
    assert refused.value.reason == "pos_provider_not_configured"


MESSAGE = {
    "appId": "APP1",
    "merchants": {
        "MID1": [
            {"objectId": "O:ORDER1", "type": "CREATE", "ts": 1_700_000_000_000},
            {"objectId": "I:ITEM1", "type": "UPDATE", "ts": 1_700_000_000_500},
        ],
        "MID2": [{"objectId": "O:ORDER2", "type": "UPDATE", "ts": 1_700_000_001_000}],
    },
}


def test_a_message_is_read_one_update_at_a_time_into_neutral_notices() -> None:
    # Given one Clover POST carrying three updates of two merchants
    webhooks = registry.webhooks("clover", "")
    assert isinstance(webhooks, CloverWebhooks) and webhooks.provider == "clover"
    pieces = deliveries(json.dumps(MESSAGE).encode())
    # When each piece is read
    notices = [webhooks.read(piece, "code") for piece in pieces]
    # Then the order updates are order notices of their merchant (account and location), deduped by Clover's key
    created, item, updated = notices
    assert (created.kind, created.account_id, created.location_id) == ("order", "MID1", "MID1")
    assert created.event_type == POS_ORDER_CREATED and created.order is not None
    assert created.order.order_id == "ORDER1" and created.event_id == "MID1|O:ORDER1|CREATE|1700000000000"
    assert (updated.kind, updated.account_id, updated.event_type) == ("order", "MID2", POS_ORDER_UPDATED)
    # And the inventory update is a catalog notice stamped by its time
    assert item.kind == "catalog" and item.catalog_stamp == "2023-11-14T22:13:20.500Z"


def test_a_deleted_order_is_not_an_order_notice_since_it_cannot_be_read() -> None:
    # Given Clover's DELETE of an order (the bridge's own cancel deletes; the order then answers 404)
    body = b'{"appId":"A","merchants":{"MID1":[{"objectId":"O:ORDER1","type":"DELETE","ts":1700000000000}]}}'
    # When it is read, Then it is "other": answered 200 and ignored, never a message parked for a 404
    assert CloverWebhooks().read(body, "code").kind == "other"


def test_the_auth_code_is_what_verifies_and_a_body_without_it_or_with_many_updates_is_refused() -> None:
    webhooks = CloverWebhooks()
    piece = deliveries(json.dumps(MESSAGE).encode())[0]
    # Given the tenant's Clover Auth Code, Then only that header value verifies
    assert webhooks.verifies("clover-auth-code", piece, "clover-auth-code")
    assert not webhooks.verifies("clover-auth-code", piece, "guess")
    # And a read without the header is a 401, a whole multi-update message or junk a 400
    with pytest.raises(WebhookRejected) as missing:
        webhooks.read(piece, None)
    assert missing.value.status == 401
    for body in (json.dumps(MESSAGE).encode(), b"not json"):
        with pytest.raises(WebhookRejected) as malformed:
            webhooks.read(body, "code")
        assert malformed.value.status == 400


def test_the_handshake_is_told_apart_from_a_message() -> None:
    # Given Clover's handshake body and a message, Then only the handshake yields a verification code
    assert verification_code(b'{"verificationCode": "0b6b1c5e-1111-2222-3333-444455556666"}') is not None
    assert verification_code(json.dumps(MESSAGE).encode()) is None
    with pytest.raises(ValueError):
        deliveries(b'{"verificationCode": "x"}')


class Codes:
    def __init__(self) -> None:
        self.recorded: list[str] = []

    def record(self, code: str) -> None:
        self.recorded.append(code)


def test_the_webhook_endpoint_keeps_the_handshake_and_cuts_a_post_into_its_updates() -> None:
    # Given Clover's webhook reader with a store for the handshake's code
    codes = Codes()
    webhooks = CloverWebhooks(codes)
    code = "0b6b1c5e-1111-2222-3333-444455556666"
    # When the handshake arrives (no header), Then its code is kept and the POST answered without verifying anything
    assert webhooks.handshake(json.dumps({"verificationCode": code}).encode()) == "verification_recorded"
    assert codes.recorded == [code]
    # And a message is no handshake: with the header it is cut into one piece per update, each readable
    body = json.dumps(MESSAGE).encode()
    assert webhooks.handshake(body) is None and webhooks.delivers_many
    pieces = webhooks.split(body, "code")
    assert [webhooks.read(piece, "code").event_id.split("|")[1] for piece in pieces] == ["O:ORDER1", "I:ITEM1",
                                                                                        "O:ORDER2"]  # fmt: skip
    # And without the header a POST is refused 401 before it is read; junk with it 400
    with pytest.raises(WebhookRejected) as missing:
        webhooks.split(b"not json", None)
    assert (missing.value.status, missing.value.code) == (401, "missing_signature")
    with pytest.raises(WebhookRejected) as malformed:
        webhooks.split(b"not json", "code")
    assert malformed.value.status == 400
    assert webhooks.signature_header == "X-Clover-Auth"


def test_a_handshake_with_nowhere_to_keep_its_code_is_refused_as_not_configured() -> None:
    # Given a reader built without the state table, When the handshake arrives, Then 503: Clover may send it again
    with pytest.raises(WebhookRejected) as refused:
        registry.webhooks("clover", "").handshake(b'{"verificationCode": "x"}')
    assert (refused.value.status, refused.value.code) == (503, "not_configured")
