"""The Clover sandbox over real HTTP: one test per strict rule it enforces, its OAuth rotation, rate limits,
webhooks and faults."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devstack.clover_sandbox import AUTH_HEADER, CloverSandbox
from devstack.clover_sandbox.state import SandboxState
from devstack.httpserver import BackgroundServer
from tests.devstack.test_square_sandbox import Receiver


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    box: CloverSandbox
    clock: Clock
    control: httpx.Client
    url: str
    merchant_id: str
    tokens: dict[str, Any]
    hooks: Receiver
    hooks_url: str

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.tokens['access_token']}"}
        return httpx.Client(base_url=f"{self.url}/v3/merchants/{self.merchant_id}", headers=headers)

    def seed(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.control.post(f"/_sandbox/merchants/{self.merchant_id}/{path}", json=body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def env() -> Iterator[Env]:
    clock = Clock()
    box = CloverSandbox(SandboxState(clock=clock))
    hooks = Receiver(url="")
    with BackgroundServer(box) as server, BackgroundServer(hooks) as hook_server:
        control = httpx.Client(base_url=server.url)
        created = control.post("/_sandbox/merchants", json={}).json()
        yield Env(box, clock, control, server.url, created["merchantId"], created, hooks, f"{hook_server.url}/clover")
        control.close()


def _cart(**extra: Any) -> dict[str, Any]:
    return {"orderCart": {"title": "Wix #1", "lineItems": [{"name": "Soup", "price": 650, "taxRates": []}], **extra}}


def test_calls_need_a_live_bearer_token_of_that_merchant(env: Env) -> None:
    # Given the merchant's access token
    with env.api() as api:
        assert api.get("/tenders").status_code == 200
    # When a call has no token, the token in the URL, a token of another merchant, or an expired token
    other = env.control.post("/_sandbox/merchants", json={}).json()
    with httpx.Client(base_url=env.url) as bare:
        assert bare.get(f"/v3/merchants/{env.merchant_id}/tenders").status_code == 401
        url_token = f"/v3/merchants/{env.merchant_id}/tenders?access_token={env.tokens['access_token']}"
        assert bare.get(url_token).status_code == 401
    with env.api(other["access_token"]) as api:
        assert api.get("/tenders").status_code == 401
    env.clock.now += 3600
    # Then Clover answers 401 to each
    with env.api() as api:
        assert api.get("/tenders").status_code == 401


def test_a_refresh_token_works_once(env: Env) -> None:
    client_id = env.control.get("/_sandbox/app").json()["clientId"]
    body = {"client_id": client_id, "refresh_token": env.tokens["refresh_token"]}
    # When the refresh token is used
    first = env.control.post("/oauth/v2/refresh", json=body)
    # Then a new pair comes back, expirations in Unix seconds, and the new access token works
    pair = first.json()
    assert first.status_code == 200 and set(pair) == {
        "access_token", "access_token_expiration", "refresh_token", "refresh_token_expiration"}  # fmt: skip
    assert pair["access_token_expiration"] == int(env.clock.now) + 3600
    with env.api(pair["access_token"]) as api:
        assert api.get("/tenders").status_code == 200
    # And the old refresh token is spent; a wrong client id or an extra field is refused
    assert env.control.post("/oauth/v2/refresh", json=body).status_code == 401
    fresh = {"client_id": "WRONG", "refresh_token": pair["refresh_token"]}
    assert env.control.post("/oauth/v2/refresh", json=fresh).status_code == 401
    extra = {"client_id": client_id, "refresh_token": pair["refresh_token"], "client_secret": "x"}
    assert env.control.post("/oauth/v2/refresh", json=extra).status_code == 400


def test_the_seventeenth_request_in_a_second_is_429_naming_the_token_limit(env: Env) -> None:
    with env.api() as api:
        # Given 16 requests within one second (the clock does not move)
        assert all(api.get("/tenders").status_code == 200 for _ in range(16))
        # When a 17th comes in the same second
        throttled = api.get("/tenders")
        # Then it is 429 with the per-token header; a second later the token may call again
        assert throttled.status_code == 429 and "X-RateLimit-tokenLimit" in throttled.headers
        env.clock.now += 1.01
        assert api.get("/tenders").status_code == 200


def test_a_checkout_prices_without_creating_and_a_create_shows_on_the_pos(env: Env) -> None:
    rate = env.seed("tax_rates", {"name": "NYC", "rate": 887500})
    body = _cart()
    body["orderCart"]["lineItems"][0]["taxRates"] = [{"id": rate["id"]}]
    with env.api() as api:
        # When the cart is checked out: 6.50 + 8.875% = 0.576875 -> 0.58, half up
        preview = api.post("/atomic_order/checkouts", json=body).json()
        assert (preview["total"], preview["subtotal"], preview["totalTaxAmount"]) == (708, 650, 58)
        assert preview["taxSummaries"] == [{"id": rate["id"], "name": "NYC", "amount": 58}]
        # Then nothing was created
        assert env.control.get(f"/_sandbox/merchants/{env.merchant_id}/pos-screen").json()["orders"] == []
        # When it is created, Then the order carries Clover's total and shows on the POS, unpaid
        order = api.post("/atomic_order/orders", json=body).json()
    assert order["total"] == 708 and order["state"] == "open" and len(order["id"]) == 13
    (shown,) = env.control.get(f"/_sandbox/merchants/{env.merchant_id}/pos-screen").json()["orders"]
    assert (shown["title"], shown["total"], shown["paymentState"]) == ("Wix #1", 708, "OPEN")


@pytest.mark.parametrize(
    ("cart", "message"),
    [
        ({"orderCart": {"lineItems": []}}, "cart_is_empty_or_missing"),
        (_cart(externalReferenceId="w1"), "bad_request"),  # not an OrderCart field
        ({"orderCart": {"lineItems": [{"name": "Soup", "price": "6.50"}]}}, "bad_request"),  # cents are integers
        ({"orderCart": {"lineItems": [{"name": "Soup", "price": 650, "quantity": 2}]}}, "bad_request"),  # none
        ({"orderCart": {"lineItems": [{"item": {"id": "NOSUCHITEM123"}}]}}, "item_does_not_exist"),
        ({"orderCart": {"lineItems": [{"name": "Soup"}]}}, "bad_request"),  # an ad hoc line needs a price
        (_cart(discounts=[{"name": "Off", "amount": 100}]), "invalid_discount_attribute"),  # amounts are negative
        (_cart(serviceCharge={"id": "NOSUCHCHARGE1"}), "service_charge_does_not_exist"),
    ],
)
def test_the_atomic_endpoints_refuse_what_clover_refuses(env: Env, cart: dict[str, Any], message: str) -> None:
    with env.api() as api:
        for path in ("/atomic_order/checkouts", "/atomic_order/orders"):
            refused = api.post(path, json=cart)
            assert (refused.status_code, refused.json()["message"]) == (400, message)


def test_money_taken_elsewhere_is_recorded_with_an_external_tender(env: Env) -> None:
    with env.api() as api:
        order = api.post("/atomic_order/orders", json=_cart()).json()
        tenders = {t["labelKey"]: t["id"] for t in api.get("/tenders").json()["elements"]}
        path = f"/orders/{order['id']}/payments"
        # When a card tender, a zero amount or a too-long external id is sent, Then Clover refuses it
        card = {"amount": 650, "tender": {"id": tenders["com.clover.tender.credit_card"]}}
        assert api.post(path, json=card).status_code == 400
        external = tenders["com.clover.tender.external_payment"]
        assert api.post(path, json={"amount": 0, "tender": {"id": external}}).status_code == 400
        long_id = {"amount": 650, "tender": {"id": external}, "externalPaymentId": "x" * 33}
        assert api.post(path, json=long_id).status_code == 400
        # When the total is recorded with the external tender and a tip
        made = api.post(path, json={"amount": 650, "tipAmount": 100, "tender": {"id": external},
                                    "externalPaymentId": "pb123"})  # fmt: skip
        assert made.status_code == 200
        # Then the order is paid, and the payment is listed on it
        assert api.get(f"/orders/{order['id']}").json()["paymentState"] == "PAID"
        assert [p["externalPaymentId"] for p in api.get(path).json()["elements"]] == ["pb123"]
    (shown,) = env.control.get(f"/_sandbox/merchants/{env.merchant_id}/pos-screen").json()["orders"]
    assert shown["collected"] == 750 and shown["payments"][0]["tender"] == "External Payment"


def test_orders_filter_by_title_and_refuse_unknown_filters_and_expansions(env: Env) -> None:
    with env.api() as api:
        api.post("/atomic_order/orders", json=_cart())
        api.post("/atomic_order/orders", json=_cart(title="Wix #2"))
        found = api.get("/orders", params=[("filter", "title=Wix #2")]).json()["elements"]
        assert [o["title"] for o in found] == ["Wix #2"] and "lineItems" not in found[0]
        assert api.get("/orders", params={"filter": "colour=red"}).status_code == 400
        assert api.get("/orders", params={"expand": "lineItems,payments,discounts,orderType"}).status_code == 400


def test_webhooks_follow_the_handshake_then_carry_the_auth_code(env: Env) -> None:
    # Given the app's URL saved: Clover sends the verification code, without an auth header
    env.control.put("/_sandbox/app/webhook", json={"url": env.hooks_url})
    ((headers, _, code_body),) = env.hooks.events("/clover")
    assert AUTH_HEADER not in headers and set(code_body) == {"verificationCode"}
    # When a person pastes the code, Then the dashboard shows the auth code
    auth = env.control.post("/_sandbox/app/webhook/verify", json=code_body).json()["authCode"]
    # When an order is created
    with env.api() as api:
        order = api.post("/atomic_order/orders", json=_cart()).json()
    # Then a thin message arrives with the auth code: app id, merchant, "O:<id>" CREATE and a ms timestamp
    headers, _, message = env.hooks.events("/clover")[-1]
    assert headers[AUTH_HEADER] == auth
    (update,) = message["merchants"][env.merchant_id]
    assert (update["objectId"], update["type"]) == (f"O:{order['id']}", "CREATE")
    assert update["ts"] == int(env.clock.now * 1000)


def test_a_webhook_may_never_arrive(env: Env) -> None:
    env.control.put("/_sandbox/app/webhook", json={"url": env.hooks_url})
    env.control.post("/_sandbox/app/webhook/verify", json=env.hooks.events("/clover")[0][2])
    # Given Clover loses the next message
    env.control.post("/_sandbox/webhooks/delivery", json={"drop": 1})
    with env.api() as api:
        api.post("/atomic_order/orders", json=_cart())
    # Then only the verification reached the app
    assert len(env.hooks.events("/clover")) == 1


def test_a_processed_then_500_fault_creates_the_order_and_loses_the_reply(env: Env) -> None:
    path = f"/v3/merchants/{env.merchant_id}/atomic_order/orders"
    env.control.post("/_sandbox/faults", json={"path": path, "method": "POST", "status": 500, "after": True})
    with env.api() as api:
        assert api.post("/atomic_order/orders", json=_cart()).status_code == 500
    assert len(env.control.get(f"/_sandbox/merchants/{env.merchant_id}/pos-screen").json()["orders"]) == 1
