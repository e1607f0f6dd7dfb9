"""The Clover adapter's pure parts: the gateway fits the PosGateway port, webhooks authenticate and parse into
neutral events, token pairs never show their secrets and are replaced only over the pair they came from."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from posbridge.ports.pos import PosGateway
from posbridge.pos.clover import CloverClient, CloverPos, snapshot_from_clover
from posbridge.pos.clover.tokens import CloverTokens, MemoryTokenStore
from posbridge.pos.clover.webhooks import CloverWebhook, Verification, is_authentic, parse

PAIR = CloverTokens(
    access_token="secret-access", access_token_expiration=2_000_000_000,
    refresh_token="secret-refresh", refresh_token_expiration=2_100_000_000,
)  # fmt: skip


def test_the_clover_gateway_is_a_pos_gateway() -> None:
    # Given a Clover client (no call is made), When the gateway is typed as the port, Then mypy and Python accept it
    client = CloverClient("http://127.0.0.1:9", "MERCHANT00001", "APP0000000001", MemoryTokenStore(PAIR),
                          http=httpx.Client())  # fmt: skip
    gateway: PosGateway = CloverPos(client)
    assert callable(gateway.create_order) and "secret" not in repr(client) + repr(gateway)


def test_a_token_pair_never_shows_its_secrets() -> None:
    assert "secret" not in repr(PAIR) and "secret" not in str(PAIR) and "secret" not in f"{PAIR}"


def test_a_pair_is_replaced_only_over_the_one_it_came_from() -> None:
    store = MemoryTokenStore(PAIR)
    newer = PAIR.model_copy(update={"refresh_token": "r2", "access_token": "a2"})
    older_worker = PAIR.model_copy(update={"refresh_token": "r3", "access_token": "a3"})
    # When a worker replaces the pair it read, Then it is stored; a second worker holding the same old pair loses
    assert store.replace(PAIR.refresh_token, newer) and not store.replace(PAIR.refresh_token, older_worker)
    assert store.load() == newer


def test_the_auth_code_is_compared_exactly_and_in_constant_time() -> None:
    assert is_authentic("CODE", "CODE") and is_authentic("CODE", " CODE ")
    assert not is_authentic("CODE", "code") and not is_authentic("CODE", None) and not is_authentic("", "")
    assert not is_authentic("CODE", "CÖDE")  # a non-ASCII header is refused, not a crash


def test_a_message_parses_into_order_events_across_merchants() -> None:
    raw = (b'{"appId": "APP", "merchants": {"M1": [{"objectId": "O:ORDER1", "type": "UPDATE", "ts": 1537970958000},'
           b' {"objectId": "I:ITEM1", "type": "UPDATE", "ts": 1}], "M2": [{"objectId": "O:ORDER2", "type": "DELETE",'
           b' "ts": 1537970959000}]}}')  # fmt: skip
    message = parse(raw)
    assert isinstance(message, CloverWebhook) and len(message.events) == 3
    one, two = message.order_summaries()
    assert (one.order_id, one.location_id, one.state) == ("ORDER1", "M1", None)
    assert one.position.updated_at == datetime(2018, 9, 26, 14, 9, 18, tzinfo=UTC)
    assert (two.order_id, two.location_id, two.state) == ("ORDER2", "M2", "DELETED")
    assert message.events[0].dedupe_key == "M1|O:ORDER1|UPDATE|1537970958000"


def test_the_verification_post_is_told_apart() -> None:
    assert parse(b'{"verificationCode": "5a6f"}') == Verification(verificationCode="5a6f")
    with pytest.raises(ValueError, match="verificationCode"):
        parse(b'{"verificationCode": "5a6f", "extra": 1}')


def test_a_clover_order_reads_back_with_its_lines_money_and_maker() -> None:
    raw = {
        "id": "ORDER1", "currency": "USD", "total": 1088, "title": "Wix #7", "state": "open",
        "note": "For: Ada\nposbridge:abc", "createdTime": 1_700_000_000_000, "modifiedTime": 1_700_000_001_000,
        "lineItems": {"elements": [
            {"id": "L1", "name": "Burger", "price": 950, "item": {"id": "ITEM1"},
             "modifications": {"elements": [{"name": "Cheese", "amount": 100}]},
             "discounts": {"elements": [{"name": "Off", "amount": -50}]}},
        ]},
    }  # fmt: skip
    snapshot = snapshot_from_clover(raw, [], "M1")
    (line,) = snapshot.lines
    assert (line.variation_id, line.unit_total().minor_units()) == ("ITEM1", 1050)
    assert snapshot.made_by_bridge and snapshot.ticket_name == "Wix #7"
    money = (snapshot.discount, snapshot.tax, snapshot.total)
    assert tuple(m.minor_units() for m in money) == (50, 88, 1088)
