"""A small JSON client for Square's API: bearer auth, Square-Version, timeouts, bounded retries, Square's error model.

Retries: 429, 5xx, timeouts and lost connections, with exponential backoff and full jitter (Retry-After wins when
Square sends it). Every attempt re-sends the identical bytes, so a write carries the same idempotency_key each time
and Square answers a retry of a request it already applied with the stored result instead of a duplicate.
Outcomes: a parsed JSON object; TransientError once the attempts are spent; PermanentError for any other 4xx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from posbridge.errors import PermanentError, TransientError

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
BACKOFF_BASE = 0.2  # seconds
BACKOFF_CAP = 2.0
RETRY_AFTER_CAP = 10.0  # longer waits belong to the queue's redelivery, not to a Lambda sleeping
DETAIL_MAX = 200  # Square's `detail` can echo submitted values (personal data): keep only a short prefix

# Transport failures that say nothing about our request (timeouts, resets, refused connections) are retried;
# these two mean the request cannot be sent as built (bad base URL, bad header), so retrying cannot help.
_UNSENDABLE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

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
        square_version: str = "2025-10-16",
        http: httpx.Client | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not access_token.strip():
            raise ValueError("access_token must not be empty")
        self._base_url = base_url.rstrip("/")
        self._token = access_token
        self._square_version = square_version
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._max_attempts = max_attempts
        self._sleep = sleep
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
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Square-Version": self._square_version,
            "Accept": "application/json",
        }
        if content is not None:
            headers["Content-Type"] = "application/json"
        url = f"{self._base_url}{path}"
        failure = ""
        for attempt in range(1, self._max_attempts + 1):
            retry_after: float | None = None
            outcome = self._send(method, url, content, headers)
            if isinstance(outcome, httpx.Response):
                if outcome.is_success:
                    return _json_object(outcome, method, path)
                if outcome.status_code != 429 and outcome.status_code < 500:
                    raise _permanent(outcome, method, path)
                failure = f"HTTP {outcome.status_code} {_first_error(outcome).get('code', '')}".strip()
                retry_after = _retry_after(outcome)
            elif issubclass(outcome, _UNSENDABLE):
                raise PermanentError(
                    "square_request_unsendable", f"Square {method} {path} could not be sent: {outcome.__name__}"
                )
            else:
                failure = outcome.__name__
            if attempt < self._max_attempts:
                delay = retry_after if retry_after is not None else _backoff(attempt)
                log.warning(
                    "square request failed, retrying",
                    extra={"method": method, "path": path, "failure": failure, "attempt": attempt, "delay": delay},
                )
                self._sleep(delay)
        raise TransientError(f"Square {method} {path} failed after {self._max_attempts} attempts: {failure}")

    def _send(
        self, method: str, url: str, content: bytes | None, headers: dict[str, str]
    ) -> httpx.Response | type[httpx.TransportError]:
        """The response, or the class of the transport failure. Only the class leaves here: an httpx exception holds
        the request, whose headers carry the token, and would ride along as __context__ of anything raised later."""
        try:
            return self._http.request(method, url, content=content, headers=headers, timeout=self._timeout)
        except httpx.TransportError as exc:
            return type(exc)


def _backoff(attempt: int) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2^(attempt-1))]."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the HTTP-date form is ignored: Square sends seconds if anything)."""
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or seconds < 0:
        return None
    return min(seconds, RETRY_AFTER_CAP)


def _json_object(response: httpx.Response, method: str, path: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        # A 2xx that is not Square's JSON is a proxy or outage artefact, not a verdict on our request.
        raise TransientError(f"Square {method} {path} answered {response.status_code} without a JSON object")
    return payload


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
    return PermanentError(reason=f"square_{code.lower()}", message=message, details=details)
