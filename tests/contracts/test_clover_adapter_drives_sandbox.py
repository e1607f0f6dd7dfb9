"""The Clover adapter against the Clover sandbox over real HTTP: Flow 1's order and payment, to the cent of Wix's
total; no duplicate after a lost reply; tokens kept fresh; rate limits; webhooks verified and parsed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devstack.clover_sandbox import AUTH_HEADER, CloverSandbox
from devstack.httpserver import BackgroundServer
from devstack.wix_sandbox import WixSandbox
from posbridge.domain.money import Money
from posbridge.domain.order import LineItem, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.pos_export import OrderPayment
from posbridge.errors import PermanentError, TransientError
from posbridge.ports.pos import CATALOG_REFERENCE_UNKNOWN
from posbridge.pos.clover import ADJUSTMENT_NAME, CloverClient, CloverPos
from posbridge.pos.clover.client import WindowRateLimiter
from posbridge.pos.clover.tokens import CloverTokens, MemoryTokenStore
from posbridge.pos.clover.webhooks import CloverWebhook, Verification, is_authentic, parse
from posbridge.wix.orders import restaurant_order
from tests.devstack.test_square_sandbox import Receiver
from tests.devstack.test_wix_sandbox_money import TAXED_DELIVERY, _checkout


@dataclass
class Env:
    box: CloverSandbox
    url: str
    control: httpx.Client
    merchant_id: str
    client_id: str
    store: MemoryTokenStore
    sleeps: list[float]

    def gateway(self, **client: Any) -> CloverPos:
        return CloverPos(self.client(**client))

    def client(self, **extra: Any) -> CloverClient:
        return CloverClient(self.url, self.merchant_id, self.client_id, self.store, sleep=self.sleeps.append, **extra)

    def screen(self) -> list[dict[str, Any]]:
        return list(self.control.get(f"/_sandbox/merchants/{self.merchant_id}/pos-screen").json()["orders"])

    def calls(self) -> dict[str, int]:
        return dict(self.control.get(f"/_sandbox/merchants/{self.merchant_id}/state").json()["calls"])

    def fault(self, path: str, **fault: Any) -> None:
        full = f"/v3/merchants/{self.merchant_id}{path}"
        assert self.control.post("/_sandbox/faults", json={"path": full, "method": "POST", **fault}).status_code == 200


@pytest.fixture
def env() -> Iterator[Env]:
    box = CloverSandbox()
    with BackgroundServer(box) as server:
        control = httpx.Client(base_url=server.url)
        made = control.post("/_sandbox/merchants", json={}).json()
        control.post(f"/_sandbox/merchants/{made['merchantId']}/tax_rates", json={"name": "NYC", "rate": 887500})
        store = MemoryTokenStore(CloverTokens.model_validate(made))
        yield Env(box, server.url, control, made["merchantId"], made["clientId"], store, [])
        control.close()


@pytest.fixture
def taxed_delivery() -> Order:
    box = WixSandbox("6f3c2b7e-0d1a-4c55-9a7e-1b2c3d4e5f60", "secret")
    return restaurant_order(_checkout(box, box.store.add_instance("site-clover"), **TAXED_DELIVERY))


def _paid(order: Order) -> OrderPayment:
    money = order.money
    assert money is not None
    return OrderPayment(wix_order_id=order.id, tip=money.tip.charged if money.tip else None)


def test_an_exported_order_shows_paid_on_clover_to_the_cent_of_wix(env: Env, taxed_delivery: Order) -> None:
    # Given the taxed delivery Wix charged 46.77 for (3.00 of it a tip)
    pos = env.gateway()
    # When the adapter creates the order and records Wix's payment
    made = pos.create_order(taxed_delivery, None, "export-1")
    payment_id = pos.pay_order(made, _paid(taxed_delivery), "pay-1", "pay-1b")
    # Then the POS shows one paid order at Clover's total of 43.77, the tip on the payment: 46.77 collected
    (shown,) = env.screen()
    assert (shown["paymentState"], shown["total"], shown["collected"]) == ("PAID", 4377, 4677)
    assert shown["orderType"] == "Delivery" and shown["title"].startswith("Wix #")
    assert made.total == Money(amount=Decimal("43.77"), currency="USD") and payment_id
    # And every Wix line maps to a Clover line; the adjustment is named when there is one
    assert set(made.line_ids) == {line.id for line in taxed_delivery.line_items}
    assert (made.adjustment_name == ADJUSTMENT_NAME) == (made.adjustment_minor != 0)


def test_a_redelivered_export_finds_its_order_and_payment_instead_of_duplicating(
    env: Env, taxed_delivery: Order
) -> None:
    pos = env.gateway()
    first = pos.create_order(taxed_delivery, None, "export-1")
    pos.pay_order(first, _paid(taxed_delivery), "pay-1", "pay-1b")
    # When the same export runs again (a redelivered message)
    again = pos.create_order(taxed_delivery, None, "export-1")
    pos.pay_order(again, _paid(taxed_delivery), "pay-1", "pay-1b")
    # Then it is the same order, paid once
    (shown,) = env.screen()
    assert again.id == first.id and len(shown["payments"]) == 1


def test_a_create_whose_reply_is_lost_is_found_not_repeated(env: Env, taxed_delivery: Order) -> None:
    # Given Clover creates the order but the reply is a 500
    env.fault("/atomic_order/orders", status=500, after=True)
    # When the adapter creates it
    made = env.gateway().create_order(taxed_delivery, None, "export-1")
    # Then it looked instead of posting again: one order on the POS, the one returned
    assert [o["id"] for o in env.screen()] == [made.id]
    assert env.calls()["POST /v3/merchants/{mId}/atomic_order/orders"] == 1


def test_a_create_refused_with_a_503_is_not_retried_blindly(env: Env, taxed_delivery: Order) -> None:
    # Given Clover answers the create with a 503 before doing anything
    env.fault("/atomic_order/orders", status=503)
    # When the adapter creates it, Then it is transient (the queue redelivers) and nothing was posted twice
    with pytest.raises(TransientError):
        env.gateway().create_order(taxed_delivery, None, "export-1")
    assert env.screen() == []
    # And the redelivery creates it once
    env.gateway().create_order(taxed_delivery, None, "export-1")
    assert len(env.screen()) == 1


def test_a_payment_whose_reply_is_lost_is_found_not_repeated(env: Env, taxed_delivery: Order) -> None:
    pos = env.gateway()
    made = pos.create_order(taxed_delivery, None, "export-1")
    env.fault(f"/orders/{made.id}/payments", status=502, after=True)
    # When the payment's reply is lost, Then the adapter finds the payment it made
    assert pos.pay_order(made, _paid(taxed_delivery), "pay-1", "pay-1b")
    assert len(env.screen()[0]["payments"]) == 1


def test_an_order_to_pay_at_handover_stays_unpaid_and_says_so(env: Env, taxed_delivery: Order) -> None:
    assert taxed_delivery.money is not None
    unpaid = taxed_delivery.model_copy(
        update={"money": taxed_delivery.money.model_copy(update={"payment_status": "NOT_PAID", "balance": None})}
    )
    pos = env.gateway()
    made = pos.create_order(unpaid, None, "export-1")
    # When the payment step runs for an order the staff collect
    assert pos.pay_order(made, OrderPayment(wix_order_id=unpaid.id, to_collect=unpaid.to_collect), "p", "q") is None
    # Then Clover shows it open and marked UNPAID with what to collect
    (shown,) = env.screen()
    assert shown["paymentState"] == "OPEN" and shown["title"].startswith("UNPAID")
    assert shown["note"].startswith("UNPAID: collect 46.77 USD")


def test_an_expired_access_token_is_refreshed_and_the_new_pair_saved_before_use(
    env: Env, taxed_delivery: Order
) -> None:
    spent = env.store.load().refresh_token
    env.control.post(f"/_sandbox/merchants/{env.merchant_id}/expire-access-tokens")
    # When the adapter calls Clover with the expired token (it does not know yet: Clover answers 401)
    env.gateway().create_order(taxed_delivery, None, "export-1")
    # Then it refreshed once, stored the new pair, and the old refresh token is spent at Clover
    assert env.store.replaced == 1 and env.store.load().refresh_token != spent
    reuse = env.control.post("/oauth/v2/refresh", json={"client_id": env.client_id, "refresh_token": spent})
    assert reuse.status_code == 401 and len(env.screen()) == 1


def test_a_token_near_expiry_is_refreshed_before_the_call(env: Env) -> None:
    tokens = env.store.load()
    # Given a clock 30 s before the access token expires (inside the refresh margin)
    client = env.client(clock=lambda: tokens.access_token_expiration - 30)
    # When a call is made, Then the pair was replaced first and the call carried the new token
    assert client.get("/tenders")["elements"]
    assert env.store.replaced == 1


def test_a_spent_refresh_token_asks_for_reauthorisation(env: Env) -> None:
    tokens = env.store.load()
    env.control.post("/oauth/v2/refresh", json={"client_id": env.client_id, "refresh_token": tokens.refresh_token})
    env.control.post(f"/_sandbox/merchants/{env.merchant_id}/expire-access-tokens")
    # When the adapter's only refresh token was spent elsewhere (lost reply), Then it is permanent
    with pytest.raises(PermanentError) as refused:
        env.client().get("/tenders")
    assert refused.value.reason == "clover_reauthorization_needed"


def test_a_429_waits_a_second_then_retries(env: Env) -> None:
    env.control.post(
        "/_sandbox/faults", json={"path": f"/v3/merchants/{env.merchant_id}/tenders", "status": 429, "times": 2}
    )
    # When two 429s come before an answer, Then the client paused 1 s, then 2 s (Clover's advice), then succeeded
    assert env.client().get("/tenders")["elements"]
    assert env.sleeps == [1.0, 2.0]


def test_the_client_paces_itself_at_sixteen_requests_a_second() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = WindowRateLimiter(clock=lambda: now[0], sleep=sleep)
    # When 17 requests are made at once, Then the 17th waits for the window to move
    for _ in range(17):
        limiter.acquire("M")
    assert slept == [1.0]


def test_a_catalog_item_clover_no_longer_has_is_named_as_such(env: Env) -> None:
    usd = Money(amount=Decimal("5.00"), currency="USD")
    order = Order(id="w9", number="9", status="APPROVED", currency="USD",
                  line_items=(LineItem(id="L1", name="Gone", quantity=1, unit_price=usd),))  # fmt: skip
    with pytest.raises(PermanentError) as refused:
        env.gateway().create_order(order, None, "k", {"L1": CatalogLine(variation_id="DELETEDITEM01", modifier_ids=())})
    assert refused.value.reason == CATALOG_REFERENCE_UNKNOWN


def test_webhooks_from_the_sandbox_verify_and_parse_into_order_events(env: Env, taxed_delivery: Order) -> None:
    hooks = Receiver(url="")
    with BackgroundServer(hooks) as hook_server:
        env.control.put("/_sandbox/app/webhook", json={"url": f"{hook_server.url}/clover"})
        ((_, raw_code, _),) = hooks.events("/clover")
        code = parse(raw_code)
        assert isinstance(code, Verification)
        auth = env.control.post("/_sandbox/app/webhook/verify", json=code.model_dump()).json()["authCode"]
        made = env.gateway().create_order(taxed_delivery, None, "export-1")
        headers, raw, _ = hooks.events("/clover")[-1]
    # Then the message is authentic with the auth code (and not with another), and names the order
    assert is_authentic(auth, headers[AUTH_HEADER]) and not is_authentic(auth, "forged")
    message = parse(raw)
    assert isinstance(message, CloverWebhook)
    (summary,) = message.order_summaries()
    assert (summary.order_id, summary.location_id) == (made.id, env.merchant_id)
    # And the order reads back whole, known as the bridge's, and is listed as changed
    snapshot = env.gateway().order_snapshot(made.id)
    assert snapshot.made_by_bridge and snapshot.total.amount == Decimal("43.77")
    page = env.gateway().orders_updated_since("2020-01-01T00:00:00Z")
    assert [o.order_id for o in page.orders] == [made.id] and page.cursor is None


def test_a_webhook_body_that_is_not_clovers_is_refused_with_field_names_only() -> None:
    with pytest.raises(ValueError, match="merchants"):
        parse(b'{"appId": "A", "merchants": {"M": [{"objectId": "O:1", "type": "TOUCH", "ts": 1}]}}')
    with pytest.raises(ValueError, match="not JSON"):
        parse(b"\xff")


class _StoreThatFails(MemoryTokenStore):
    def replace(self, old_refresh_token: str, new: CloverTokens) -> bool:
        raise TransientError("the token table is unavailable")


def test_a_new_pair_that_cannot_be_saved_is_never_used(env: Env) -> None:
    # Given a store that cannot save, and an access token Clover expired
    store = _StoreThatFails(env.store.load())
    env.control.post(f"/_sandbox/merchants/{env.merchant_id}/expire-access-tokens")
    client = CloverClient(env.url, env.merchant_id, env.client_id, store, sleep=env.sleeps.append)
    # When a call needs a refresh, Then it fails before the new token is used: no call got past Clover's auth
    # (the sandbox counts authenticated calls only; the refresh itself happened)
    with pytest.raises(TransientError):
        client.get("/tenders")
    assert "GET /v3/merchants/{mId}/tenders" not in env.calls()


def test_a_create_that_times_out_is_found_by_the_redelivery_not_made_twice(env: Env, taxed_delivery: Order) -> None:
    # Given Clover takes 1.5 s to take the create, and the client waits 0.5 s
    env.control.post("/_sandbox/faults", json={"path": f"/v3/merchants/{env.merchant_id}/atomic_order/orders",
                                                "method": "POST", "status": None, "delayMs": 1500})  # fmt: skip
    slow = CloverPos(env.client(timeout=httpx.Timeout(0.5, connect=2.0)))
    # When the order is created, Then the outcome is unknown: transient, and the create was not sent again
    with pytest.raises(TransientError):
        slow.create_order(taxed_delivery, None, "export-1")
    deadline = time.monotonic() + 10
    while not env.screen() and time.monotonic() < deadline:
        time.sleep(0.05)
    # And once the slow create lands, the redelivered export finds it: one order
    again = env.gateway().create_order(taxed_delivery, None, "export-1")
    assert [o["id"] for o in env.screen()] == [again.id]
