"""Bounded retries for the partner JSON clients (Square, Wix): one loop, one backoff, one failure classification.

- Retried: 429, 5xx, timeouts and lost connections, with exponential backoff and full jitter; a Retry-After in
  seconds wins when the partner sends one, capped (longer waits belong to the queue's redelivery, not to a Lambda
  sleeping).
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
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from posbridge.errors import PermanentError, TransientError

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
BACKOFF_BASE = 0.2  # seconds
BACKOFF_CAP = 2.0
RETRY_AFTER_CAP = 10.0

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
    """One attempt. The timeout is per request, so it also applies to a shared httpx.Client."""
    try:
        return http.request(method, url, content=content, headers=dict(headers), params=params, timeout=timeout)
    except httpx.TransportError as exc:
        return type(exc)


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
        unsendable request, TransientError once the attempts are spent. `attempt` must send the same bytes each time.
        """
        failure = ""
        for number in range(1, self.max_attempts + 1):
            wait: float | None = None
            outcome = attempt()
            if isinstance(outcome, httpx.Response):
                if outcome.is_success:
                    return outcome
                if not is_retryable(outcome):
                    raise permanent(outcome)
                failure = describe(outcome)
                wait = retry_after(outcome)
            elif issubclass(outcome, UNSENDABLE):
                raise PermanentError(
                    f"{self.service.lower()}_request_unsendable",
                    f"{self.service} {method} {path} could not be sent: {outcome.__name__}",
                )
            else:
                failure = outcome.__name__
            if number < self.max_attempts:
                delay = wait if wait is not None else backoff(number)
                self._log.warning(
                    f"{self.service.lower()} request failed, retrying",
                    extra={"method": method, "path": path, "failure": failure, "attempt": number, "delay": delay},
                )
                self._sleep(delay)
        raise TransientError(f"{self.service} {method} {path} failed after {self.max_attempts} attempts: {failure}")
