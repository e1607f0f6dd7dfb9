"""Wix Create Order has no idempotency key: posbridge sends it once, and a lost answer is resolved by searching for
what the lost attempt created (flows/import_order.py searches by external id before creating), never by resending."""

from __future__ import annotations

import json

import httpx
import pytest

from posbridge.errors import TransientError
from posbridge.wix.client import WixClient
from posbridge.wix.orders_api import WixOrders
from posbridge.wix.rate_limit import NoRateLimit
from posbridge.wix.tokens import TokenCache

ORDERS = "/ecom/v1/orders"
CREATED = {"order": {"id": "11111111-2222-4333-8444-555555555555", "status": "APPROVED", "lineItems": []}}


class WixThatLosesAnswers:
    """Processes every Create Order; the first answers are lost on the way back (`lost` of them)."""

    def __init__(self, lost: int, how: str) -> None:
        self.lost, self.how = lost, how
        self.created: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 14400})
        assert (request.method, request.url.path) == ("POST", ORDERS)
        self.created.append(json.loads(request.content))
        if len(self.created) <= self.lost:
            if self.how == "timeout":
                raise httpx.ReadTimeout("the answer was lost", request=request)
            return httpx.Response(503, json={"message": "upstream failed after the write"})
        return httpx.Response(200, json=CREATED)


def _orders(wix: WixThatLosesAnswers) -> WixOrders:
    client = WixClient(
        "https://www.wixapis.com", "app", "secret", "instance", tokens=TokenCache(), limiter=NoRateLimit(),
        http=httpx.Client(transport=httpx.MockTransport(wix)), max_attempts=4, sleep=lambda _: None,
    )  # fmt: skip
    return WixOrders(client)


@pytest.mark.parametrize("how", ["timeout", "503"])
def test_a_create_whose_answer_is_lost_is_sent_once_and_reported_transient(how: str) -> None:
    # Given Wix processes the Create Order but its answer is lost (a read timeout, or a 5xx after the write)
    wix = WixThatLosesAnswers(lost=1, how=how)
    # When posbridge creates the order through a client that retries other calls up to 4 times
    with pytest.raises(TransientError):
        _orders(wix).create_order({"order": {"channelInfo": {"type": "POS", "externalOrderId": "POS-1"}}})
    # Then the create went to Wix exactly once: no second Wix order
    assert len(wix.created) == 1


def test_an_answered_create_returns_the_order() -> None:
    wix = WixThatLosesAnswers(lost=0, how="timeout")
    assert _orders(wix).create_order({"order": {}}).id == CREATED["order"]["id"]
    assert len(wix.created) == 1
