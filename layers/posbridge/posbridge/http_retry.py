"""Bounded retries for the partner JSON clients (Square, Wix): one loop, one backoff, one failure classification.

- Retried: 429, 5xx, timeouts and lost connections, with exponential backoff and full jitter; a Retry-After in
  seconds wins when the partner sends one, capped. In a queue worker (a deadline is set) a Retry-After beyond the cap
  is not slept: it is raised at once as RateLimited (or PartnerUnavailable for a 5xx) carrying it, and the queue's
  redelivery waits it out.
- Within the invocation's deadline (posbridge/deadline.py): each attempt's timeout is cut to the time left, and an
  attempt or a backoff that would not fit is not started; the call then raises what it saw (RateLimited after a 429,
  PartnerUnavailable after 5xx/timeouts, DeadlineReached when no attempt failed).
- Never retried: any other 4xx (the caller turns it into its own PermanentError), and a request that cannot be sent
  as built (bad base URL, bad header).
- Serialise once: the caller encodes the body once (`encode_json`) and every attempt sends exactly those bytes, so a
  write carries the same idempotency key each time.
- Secrets: a transport failure leaves `send` as its class only. An httpx exception holds the request, whose headers
  carry the credential, and would otherwise ride along as `__context__` of whatever is raised later.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from posbridge import deadline
from posbridge.errors import (
    DeadlineReached,
    PartnerUnavailable,
    PermanentError,
    RateLimited,
    RetryLater,
    TransientError,
)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
BACKOFF_BASE = 0.2  # seconds
BACKOFF_CAP = 2.0
RETRY_AFTER_CAP = 10.0
MIN_ATTEMPT_S = 1.0  # an attempt is started only with at least this much of the deadline left

# Transport failures that say nothing about our request (timeouts, resets, refused connections) are retried;
# these two mean the request cannot be sent as built, so retrying cannot help.
UNSENDABLE: tuple[type[httpx.TransportError], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

# One attempt's outcome: the response, or the class (never the instance) of the transport failure.
Outcome = httpx.Response | type[httpx.TransportError]

log = logging.getLogger(__name__)


def encode_json(body: Mapping[str, Any] | None) -> bytes | None:
    """The body's bytes, computed once per request: every retry re-sends exactly these."""
    return None if body is None else json.dumps(body, separators=(",", ":")).encode()


def send(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    content: bytes | None,
    headers: Mapping[str, str],
    timeout: httpx.Timeout,
    params: Mapping[str, Any] | None = None,
) -> Outcome:
    """One attempt. The timeout is per request, so it also applies to a shared httpx.Client; within a deadline each
    of its parts is cut to the time left."""
    timeout = within_deadline(timeout)
    try:
        return http.request(method, url, content=content, headers=dict(headers), params=params, timeout=timeout)
    except httpx.TransportError as exc:
        return type(exc)


def within_deadline(timeout: httpx.Timeout) -> httpx.Timeout:
    """`timeout` with no part longer than the current deadline's remaining time (unchanged without a deadline)."""
    bound = deadline.current()
    if bound is None:
        return timeout
    left = max(0.1, bound.remaining())

    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write),
                         pool=cut(timeout.pool))  # fmt: skip


def backoff(attempt: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2^(attempt-1))]."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def retry_after(response: httpx.Response, cap: float = RETRY_AFTER_CAP) -> float | None:
    """Retry-After in seconds, capped; the HTTP-date form and garbage are ignored (None)."""
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or not seconds >= 0:  # `not >=` also refuses NaN
        return None
    return min(seconds, cap)


def is_retryable(response: httpx.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def json_object(
    response: httpx.Response, service: str, method: str, path: str, *, empty_is_object: bool = False
) -> dict[str, Any]:
    """The 2xx body as a JSON object. Anything else is a proxy or outage artefact, not a verdict on the request."""
    if empty_is_object and not response.content.strip():
        return {}
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise TransientError(f"{service} {method} {path} answered {response.status_code} without a JSON object")
    return payload


def _status_only(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}"


class Retrier:
    """Runs one request's attempts. `service` names the partner in messages and reasons ("Square" -> square_...)."""

    def __init__(
        self,
        service: str,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        logger: logging.Logger = log,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.service = service
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._log = logger

    def run(
        self,
        method: str,
        path: str,
        attempt: Callable[[], Outcome],
        *,
        permanent: Callable[[httpx.Response], Exception],
        describe: Callable[[httpx.Response], str] = _status_only,
    ) -> httpx.Response:
        """The first 2xx response. Raises `permanent(response)` for a non-retryable answer, PermanentError for an
        unsendable request, RateLimited / PartnerUnavailable once the attempts (or the deadline) are spent, and
        DeadlineReached when the deadline came before any attempt failed. `attempt` must send the same bytes each time.
        """
        bound = deadline.current()
        failure = ""
        throttled = False  # the last failure was a 429
        hint: float | None = None  # the last Retry-After
        for number in range(1, self.max_attempts + 1):
            if bound is not None and bound.remaining() < MIN_ATTEMPT_S:
                raise self._give_up(method, path, number - 1, failure, throttled, hint)
            wait: float | None = None
            outcome = attempt()
            if isinstance(outcome, httpx.Response):
                if outcome.is_success:
                    return outcome
                if not is_retryable(outcome):
                    raise permanent(outcome)
                failure = describe(outcome)
                throttled = outcome.status_code == 429
                wait = hint = retry_after(outcome, cap=math.inf)
            elif issubclass(outcome, UNSENDABLE):
                raise PermanentError(
                    f"{self.service.lower()}_request_unsendable",
                    f"{self.service} {method} {path} could not be sent: {outcome.__name__}",
                )
            else:
                failure, throttled, hint = outcome.__name__, False, None
            if number == self.max_attempts:
                break
            delay = wait if wait is not None else backoff(number)
            # A queue worker hands a long Retry-After, or a wait that would not fit, to the queue's redelivery.
            if bound is not None and (delay > RETRY_AFTER_CAP or delay + MIN_ATTEMPT_S > bound.remaining()):
                raise self._give_up(method, path, number, failure, throttled, hint)
            delay = min(delay, RETRY_AFTER_CAP)
            self._log.warning(
                f"{self.service.lower()} request failed, retrying",
                extra={"method": method, "path": path, "failure": failure, "attempt": number, "delay": delay},
            )
            self._sleep(delay)
        raise self._give_up(method, path, self.max_attempts, failure, throttled, hint)

    def _give_up(
        self, method: str, path: str, attempts: int, failure: str, throttled: bool, hint: float | None
    ) -> RetryLater:
        if not failure:
            return DeadlineReached(f"{self.service} {method} {path}: the invocation's time ran out before an attempt")
        message = f"{self.service} {method} {path} failed after {attempts} attempts: {failure}"
        return RateLimited(message, hint) if throttled else PartnerUnavailable(message, hint)
