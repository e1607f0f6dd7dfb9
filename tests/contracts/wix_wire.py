"""posbridge's own Wix requests, caught on the wire: a real WixClient over an httpx MockTransport that records each
request and answers with a canned body, so a contract test compares exactly the bytes the adapter would send."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

from posbridge.wix.client import WixClient
from posbridge.wix.rate_limit import NoRateLimit
from posbridge.wix.tokens import TokenCache
from tests.contracts.wix_sdk import SdkRequest

APP_ID = "0d9f3c1e-5b7a-4e2f-8c6d-1a2b3c4d5e6f"
INSTANCE = "6f0f3c1e-5b7a-4e2f-8c6d-1a2b3c4d5e6f"

Answer = Callable[[httpx.Request], dict[str, Any]]


@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any


@dataclass
class RecordingWix:
    """Every non-token request the adapter sent, in order; `answer` decides each reply (default: {})."""

    answer: Answer = lambda request: {}
    sent: list[WireRequest] = field(default_factory=list)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": "token", "expires_in": 14400})
        content = request.content
        self.sent.append(
            WireRequest(
                request.method,
                request.url.path,
                tuple(parse_qsl(request.url.query.decode(), keep_blank_values=True)),
                json.loads(content) if content else None,
            )
        )
        return httpx.Response(200, json=self.answer(request))

    def client(self) -> WixClient:
        http = httpx.Client(transport=httpx.MockTransport(self._handle))
        return WixClient(
            "https://www.wixapis.com", APP_ID, "app-secret", INSTANCE, tokens=TokenCache(), limiter=NoRateLimit(),
            http=http, max_attempts=1,
        )  # fmt: skip

    def only(self) -> WireRequest:
        assert len(self.sent) == 1, f"expected one request, the adapter sent {len(self.sent)}"
        return self.sent[0]


def assert_same_request(ours: WireRequest, sdk: SdkRequest) -> None:
    """Same method and path, the same query parameters (the SDK's `.r` packing unpacked), the same JSON body."""
    assert (ours.method, ours.path) == (sdk.method, sdk.path)
    assert sorted(ours.query) == sorted(sdk.logical_query)
    assert ours.body == sdk.body
