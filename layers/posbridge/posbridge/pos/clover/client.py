"""A small JSON client for Clover's Platform API: bearer tokens kept fresh, Clover's rate limits, bounded retries.

- Auth: `Authorization: Bearer <access_token>` on every call; tokens in the URL are refused since Feb 2022
  (docs.clover.com/changelog/clover-platform-api-updates-august-2021). The token comes from a TokenStore and is
  refreshed before it expires (tokens.py); a 401 refreshes once and tries again, then is permanent (401 also means a
  missing permission or the app uninstalled: docs.clover.com/dev/docs/401-unauthorized).
- Rate limits (docs.clover.com/docs/api-usage-rate-limits): 16 requests/s and 5 in flight per token, 50/s per app;
  over any, 429 with an `X-RateLimit-*` header naming it (and `retry-after` for the concurrent ones). "After a 429
  pause 1 s, then grow the wait exponentially": the client does exactly that (retry-after wins when sent), and paces
  itself per merchant with a RateLimiter so it rarely gets there.
- Retries never duplicate a write: Clover documents no idempotency key for its order and payment writes (the only
  `Idempotency-Key` it documents is the Ecommerce API's charge, docs.clover.com/docs/ecommerce-accepting-payments).
  A 429 is safe to retry (the request was refused, not run). A 5xx, a timeout or a lost connection on a write is
  not: the write may have happened. Such a write raises OutcomeUnknown at once and the caller looks before it
  writes again (pos/clover/__init__.py). Reads retry all of these.
Errors: Clover's body is `{"message": ..., "details"?: ...}` (docs.clover.com/docs/working-with-orders); any other
4xx is PermanentError("clover_<message>").
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import httpx

from posbridge.errors import PermanentError, TransientError
from posbridge.http_retry import DEFAULT_TIMEOUT, UNSENDABLE, Outcome, encode_json, json_object, retry_after, send
from posbridge.pos.clover.tokens import (
    DEFAULT_CLOCK,
    LEASE_S,
    REFRESH_PATH,
    Clock,
    CloverTokens,
    TokenStore,
    parse_pair,
)

TOKEN_RATE = 16  # requests per second per token
TOKEN_CONCURRENCY = 5  # requests in flight per token
LEASE_WAITS = 6  # polls of the store while another worker refreshes (LEASE_WAIT_S apart)
LEASE_WAIT_S = 0.5
RATE_LIMIT_FIRST_WAIT = 1.0  # seconds: "pause for 1 second"
RATE_LIMIT_WAIT_CAP = 8.0
SERVER_ERROR_WAIT = 0.5
DETAIL_MAX = 200

log = logging.getLogger(__name__)


class OutcomeUnknown(TransientError):
    """A write got no verdict (5xx, timeout, lost connection): it may or may not have happened. Look, then write."""


class RateLimiter(Protocol):
    def acquire(self, key: str) -> None:
        """Block until one more request under `key` (a merchant) keeps within its rate."""
        ...


class WindowRateLimiter:
    """At most `rate` requests per rolling second per key, in this process (one Lambda instance)."""

    def __init__(
        self, rate: int = TOKEN_RATE, clock: Clock = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self._rate, self._clock, self._sleep = rate, clock, sleep
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> None:
        while True:
            with self._lock:
                now = self._clock()
                window = self._sent.setdefault(key, deque())
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) < self._rate:
                    window.append(now)
                    return
                wait = window[0] + 1.0 - now
            self._sleep(max(wait, 0.001))


class CloverClient:
    """One merchant (one token pair). Paths are relative to `/v3/merchants/{mId}`."""

    def __init__(
        self,
        base_url: str,
        merchant_id: str,
        client_id: str,
        tokens: TokenStore,
        http: httpx.Client | None = None,
        limiter: RateLimiter | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = DEFAULT_CLOCK,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not merchant_id or not client_id:
            raise ValueError("merchant_id and client_id are required")
        self._base_url = base_url.rstrip("/")
        self.merchant_id = merchant_id
        self._client_id = client_id
        self._tokens = tokens
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._limiter = limiter or WindowRateLimiter()
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._timeout = timeout
        self._refresh_lock = threading.Lock()
        # "5 in flight per token" (api-usage-rate-limits): this client's share; other processes are held by the
        # shared per-second window (rate_limit.py) and, past that, Clover's 429 with retry-after
        self._in_flight = threading.BoundedSemaphore(TOKEN_CONCURRENCY)
        self._worker = uuid.uuid4().hex

    def __repr__(self) -> str:  # never a token
        return f"CloverClient(base_url={self._base_url!r}, merchant_id={self.merchant_id!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # ---- requests ------------------------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | list[tuple[str, str]] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params, safe=True)

    def post(self, path: str, body: dict[str, Any], *, safe: bool) -> dict[str, Any]:
        """`safe`: the write may be repeated without harm (e.g. a totals preview); otherwise see OutcomeUnknown."""
        return self.request("POST", path, body=body, safe=safe)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: Mapping[str, Any] | list[tuple[str, str]] | None = None,
        safe: bool,
    ) -> dict[str, Any]:
        content = encode_json(body)  # every attempt sends these bytes
        url = f"{self._base_url}/v3/merchants/{quote(self.merchant_id, safe='')}{path}"
        if params:  # repeated keys (Clover ANDs repeated `filter`s) need the list form
            url += "?" + urlencode(list(params.items()) if isinstance(params, Mapping) else params)
        refreshed_for_401 = False
        failure = ""
        for attempt in range(1, self._max_attempts + 1):
            tokens = self._current_tokens()
            self._limiter.acquire(self.merchant_id)
            headers = {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"}
            if content is not None:
                headers["Content-Type"] = "application/json"
            with self._in_flight:
                outcome: Outcome = send(
                    self._http, method, url, content=content, headers=headers, timeout=self._timeout
                )
            if isinstance(outcome, httpx.Response):
                status = outcome.status_code
                if outcome.is_success:
                    return json_object(outcome, "Clover", method, path, empty_is_object=True)
                if status == 401 and not refreshed_for_401:
                    refreshed_for_401 = True
                    self._refresh(tokens)
                    continue
                if status == 429:
                    failure = f"HTTP 429 {_limit_hit(outcome)}".strip()
                    wait = retry_after(outcome, cap=RATE_LIMIT_WAIT_CAP)
                    self._pause(attempt, failure, wait if wait is not None else _rate_limit_wait(attempt))
                    continue
                if status >= 500:
                    failure = f"HTTP {status}"
                    if not safe:
                        raise OutcomeUnknown(f"Clover {method} {path} answered {status}: outcome unknown")
                    self._pause(attempt, failure, SERVER_ERROR_WAIT * attempt)
                    continue
                raise _permanent(outcome, method, path)
            if issubclass(outcome, UNSENDABLE):
                raise PermanentError("clover_request_unsendable", f"Clover {method} {path}: {outcome.__name__}")
            failure = outcome.__name__
            if not safe:
                raise OutcomeUnknown(f"Clover {method} {path} failed ({failure}): outcome unknown")
            self._pause(attempt, failure, SERVER_ERROR_WAIT * attempt)
        raise TransientError(f"Clover {method} {path} failed after {self._max_attempts} attempts: {failure}")

    def _pause(self, attempt: int, failure: str, wait: float) -> None:
        if attempt < self._max_attempts:
            log.warning(
                "clover request failed, retrying", extra={"failure": failure, "attempt": attempt, "delay": wait}
            )
            self._sleep(wait)

    # ---- tokens --------------------------------------------------------------------------------------------------

    def _current_tokens(self) -> CloverTokens:
        tokens = self._tokens.load()
        if tokens.fresh(self._clock()):
            return tokens
        return self._refresh(tokens)

    def _refresh(self, used: CloverTokens) -> CloverTokens:
        """A new pair for the one we hold (unless another worker already replaced it), saved before it is used."""
        with self._refresh_lock:
            current = self._tokens.load()
            if current.refresh_token != used.refresh_token:
                return current  # someone refreshed meanwhile: theirs is the live pair
            if current.refresh_token_expiration <= self._clock():
                raise PermanentError("clover_reauthorization_needed", "The Clover refresh token has expired.")
            waits = 0
            while not self._tokens.lease(current.refresh_token, self._worker, LEASE_S):
                # another function is refreshing this merchant's pair: take the pair it saves
                if waits == LEASE_WAITS:
                    raise TransientError("another worker is refreshing the Clover token")
                waits += 1
                self._sleep(LEASE_WAIT_S)
                latest = self._tokens.load()
                if latest.refresh_token != current.refresh_token:
                    return latest
            pair = self._call_refresh(current)
            if not self._tokens.replace(current.refresh_token, pair):
                return self._tokens.load()
            return pair

    def _call_refresh(self, current: CloverTokens) -> CloverTokens:
        body = encode_json({"client_id": self._client_id, "refresh_token": current.refresh_token})
        url = f"{self._base_url}{REFRESH_PATH}"
        failure = ""
        # A retry is harmless: the old token either still works or was spent (and fails either way).
        for attempt in range(1, self._max_attempts + 1):
            outcome = send(
                self._http,
                "POST",
                url,
                content=body,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                timeout=self._timeout,
            )
            if isinstance(outcome, httpx.Response):
                if outcome.is_success:
                    try:
                        return parse_pair(json_object(outcome, "Clover", "POST", REFRESH_PATH))
                    except ValueError:
                        raise TransientError("Clover's refresh answer is not a token pair") from None
                if outcome.status_code in (400, 401, 403):
                    latest = self._tokens.load()
                    if latest.refresh_token != current.refresh_token:
                        return latest  # another worker won the race with the same token
                    raise PermanentError(
                        "clover_reauthorization_needed",
                        f"Clover refused the refresh token ({outcome.status_code}): the merchant must authorise again.",
                    )
                failure = f"HTTP {outcome.status_code}"
            else:
                failure = outcome.__name__
            self._pause(attempt, failure, _rate_limit_wait(attempt))
        raise TransientError(f"Clover token refresh failed after {self._max_attempts} attempts: {failure}")


def _rate_limit_wait(attempt: int) -> float:
    return float(min(RATE_LIMIT_FIRST_WAIT * 2 ** (attempt - 1), RATE_LIMIT_WAIT_CAP))


def _limit_hit(response: httpx.Response) -> str:
    return next((h for h in response.headers if h.lower().startswith("x-ratelimit-")), "")


def _permanent(response: httpx.Response, method: str, path: str) -> PermanentError:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    message = payload.get("message") if isinstance(payload, dict) else None
    code = re.sub(r"[^a-z0-9]+", "_", str(message or f"http_{response.status_code}").lower()).strip("_")[:60]
    details: dict[str, object] = {"status": response.status_code, "message": str(message or "")[:DETAIL_MAX]}
    if isinstance(payload, dict) and isinstance(payload.get("details"), str):
        details["details"] = payload["details"][:DETAIL_MAX]
    return PermanentError(f"clover_{code}", f"Clover {method} {path} answered {response.status_code} {code}", details)
