"""A small JSON client for Square's API: bearer auth, Square-Version, timeouts, bounded retries, Square's error model.

Retries (posbridge.http_retry, shared with the Wix client): 429, 5xx, timeouts and lost connections, with exponential
backoff and full jitter (Retry-After wins when Square sends it). Every attempt re-sends the identical bytes, so a write
carries the same idempotency_key each time and Square answers a retry of a request it already applied with the stored
result instead of a duplicate.
Outcomes: a parsed JSON object; TransientError once the attempts are spent; PermanentError for any other 4xx.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from posbridge.errors import IdempotencyKeyReused, PermanentError
from posbridge.http_retry import DEFAULT_TIMEOUT, Retrier, encode_json, json_object, send

# The API version whose wire formats tests/contracts proves against the official SDK: squareup 46.0.0.20260916 sends
# and types exactly this one (square/core/client_wrapper.py). Move both together.
SQUARE_VERSION = "2026-09-16"
DETAIL_MAX = 200  # Square's `detail` can echo submitted values (personal data): keep only a short prefix

log = logging.getLogger(__name__)


def fit_idempotency_key(key: str, max_len: int) -> str:
    """The key itself when it fits, else a stable digest of it: the same long key always maps to the same short one."""
    if not key:
        raise PermanentError("missing_idempotency_key", "An idempotency key is required for Square writes.")
    if len(key) <= max_len:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"pb-{digest}"[:max_len]


class SquareClient:
    """One Square account (one access token). Thread-safe as far as httpx.Client is."""

    def __init__(
        self,
        base_url: str,
        access_token: str,
        square_version: str = SQUARE_VERSION,
        http: httpx.Client | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._retrier = Retrier("Square", max_attempts, sleep, log)  # raises on max_attempts < 1
        if not access_token.strip():
            raise ValueError("access_token must not be empty")
        self._base_url = base_url.rstrip("/")
        self._token = access_token
        self._square_version = square_version
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._timeout = timeout  # per request, so it also applies to a shared httpx.Client

    def __repr__(self) -> str:  # never the token
        return f"SquareClient(base_url={self._base_url!r}, square_version={self._square_version!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SquareClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        # Serialised once: every retry sends exactly these bytes (same idempotency key, same fingerprint).
        content = encode_json(body)
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Square-Version": self._square_version,
            "Accept": "application/json",
        }
        if content is not None:
            headers["Content-Type"] = "application/json"
        url = f"{self._base_url}{path}"
        response = self._retrier.run(
            method,
            path,
            lambda: send(self._http, method, url, content=content, headers=headers, timeout=self._timeout),
            permanent=lambda answer: _permanent(answer, method, path),
            describe=_describe,
        )
        return json_object(response, "Square", method, path)


def _describe(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {_first_error(response).get('code', '')}".strip()


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        payload = response.json()
    except ValueError:
        return []
    errors = payload.get("errors") if isinstance(payload, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _first_error(response: httpx.Response) -> dict[str, Any]:
    errors = _errors(response)
    return errors[0] if errors else {}


def _permanent(response: httpx.Response, method: str, path: str) -> PermanentError:
    """Square's first error names the reason; codes, categories and fields go to details (no request body, ever)."""
    errors = _errors(response)
    first = errors[0] if errors else {}
    code = str(first.get("code") or f"HTTP_{response.status_code}")
    details: dict[str, object] = {
        "status": response.status_code,
        "code": code,
        "category": first.get("category"),
        "field": first.get("field"),
        "errors": [{k: e.get(k) for k in ("code", "category", "field")} for e in errors],
    }
    detail = first.get("detail")
    if isinstance(detail, str):
        details["detail"] = detail[:DETAIL_MAX]
    field = f" ({first['field']})" if first.get("field") else ""
    message = f"Square {method} {path} answered {response.status_code} {code}{field}"
    # Same key, different body (developer.squareup.com/docs/build-basics/common-api-patterns/idempotency): the flows
    # tell this one apart, so it gets its own type (same reason code).
    kind = IdempotencyKeyReused if code == "IDEMPOTENCY_KEY_REUSED" else PermanentError
    return kind(reason=f"square_{code.lower()}", message=message, details=details)
