"""Helpers for the Square contract tests: the official SDK (squareup) as the oracle.

- `SandboxSeller`: one merchant on an in-process Square sandbox (httpx.WSGITransport: no socket, fast), every API call
  recorded as it went over the wire.
- `sdk_request`: the request the official SDK itself sends for an endpoint and a body, captured on a mock transport.
- `check` / `check_body`: the strict walk of JSON against the SDK's types (devstack/square_sandbox/sdk_schema.py).
"""

from __future__ import annotations

import inspect
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from square.client import Square

from devstack.square_sandbox import SquareSandbox
from devstack.square_sandbox.sdk_schema import ENDPOINTS, Violation, check, check_body

__all__ = ["ENDPOINTS", "Exchange", "SandboxSeller", "Violation", "check", "check_body", "route_of", "sdk_request"]

SANDBOX_URL = "http://square.sandbox.test"


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as they went over the wire."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None
    status: int
    answer: dict[str, Any]

    @property
    def route(self) -> str:
        return route_of(self.method, self.path)[0]


class RecordingTransport(httpx.BaseTransport):
    """Hands every request to `inner` and records it with its answer."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        content = request.read()
        self.exchanges.append(
            Exchange(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                headers=dict(request.headers),
                body=json.loads(content) if content else None,
                status=response.status_code,
                answer=response.json() if response.content else {},
            )
        )
        return response


@dataclass
class SandboxSeller:
    """A fresh Square sandbox with one merchant; `api` records every /v2 exchange."""

    sandbox: SquareSandbox = field(default_factory=SquareSandbox)
    merchant_id: str = field(default_factory=lambda: f"M{uuid.uuid4().hex[:10].upper()}")
    location_id: str = field(default_factory=lambda: f"L{uuid.uuid4().hex[:10].upper()}")
    token: str = field(default_factory=lambda: f"EAAA{uuid.uuid4().hex}")

    def __post_init__(self) -> None:
        self.transport = RecordingTransport(httpx.WSGITransport(app=self.sandbox.wsgi_app))
        self.control = httpx.Client(transport=httpx.WSGITransport(app=self.sandbox.wsgi_app), base_url=SANDBOX_URL)
        created = self.control.post(
            "/_sandbox/merchants",
            json={
                "merchantId": self.merchant_id,
                "locationId": self.location_id,
                "accessToken": self.token,
                "signatureKey": "contract-signature-key",
            },
        )
        assert created.status_code == 200, created.text
        self.http = httpx.Client(transport=self.transport)

    @property
    def exchanges(self) -> list[Exchange]:
        return self.transport.exchanges

    def seller(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A seller's own action (control API: seed the catalog, move a fulfillment, ring up a POS-app order...)."""
        answer = self.control.post(f"/_sandbox/merchants/{self.merchant_id}{path}", json=body or {})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def state(self) -> dict[str, Any]:
        return dict(self.control.get(f"/_sandbox/merchants/{self.merchant_id}/state").json())

    def close(self) -> None:
        self.http.close()
        self.control.close()


_TEMPLATES = [
    (route, re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route)) + "$")) for route in ENDPOINTS
]


def route_of(method: str, path: str) -> tuple[str, dict[str, str]]:
    """The SDK endpoint a request is for ("GET /v2/orders/{order_id}") and its path parameters."""
    for route, pattern in _TEMPLATES:
        found = pattern.match(f"{method} {path}")
        if found:
            return route, found.groupdict()
    raise AssertionError(f"{method} {path} is no endpoint the contract knows (devstack/square_sandbox/sdk_schema.py)")


@dataclass(frozen=True)
class SdkRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None


def sdk_request(route: str, path_params: dict[str, str], arguments: dict[str, Any]) -> SdkRequest:
    """The request squareup's own client sends for `route` called with `arguments` (the body, or the query of a GET),
    captured on a mock transport that answers `{}`."""
    captured: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        client = Square(token="contract-token", base_url="https://connect.squareup.com", httpx_client=http)
        method = ENDPOINTS[route]
        raw_class = method.__globals__[method.__qualname__.split(".")[0]]
        raw_client = raw_class(client_wrapper=client._client_wrapper)
        positional = [path_params[name] for name in inspect.signature(method).parameters if name in path_params]
        method(raw_client, *positional, **arguments)
    (request,) = captured
    content = request.read()
    return SdkRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.url.params),
        headers=dict(request.headers),
        body=json.loads(content) if content else None,
    )
