"""Wix's rate limit: about 200 requests/minute per app instance, across every function of the bridge (wix-api.md
section 4). The client takes a RateLimiter slot before every attempt (token mints included); DynamoRateLimiter shares
the budget through the mappings table's counters (store/rate_windows.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from posbridge import deadline
from posbridge.errors import RateLimited
from posbridge.http_retry import MIN_ATTEMPT_S
from posbridge.store.rate_windows import RateWindows

RATE_LIMIT_PER_MINUTE = 180  # Wix allows ~200/min/instance; the rest is margin for clock skew and in-flight requests
RATE_LIMIT_MAX_WAIT_S = 120.0

log = logging.getLogger(__name__)


class RateLimiter(Protocol):
    def acquire(self, instance_id: str) -> None:
        """Return once one more request to Wix for this instance fits the budget (may sleep)."""


class NoRateLimit:
    """For tests and tools that talk to a sandbox without a limit."""

    def acquire(self, instance_id: str) -> None:
        return None


class DynamoRateLimiter:
    """A fixed-window counter per instance per minute in the mappings table, shared by every function and process.

    The window is RateWindows' item `RATELIMIT#<instanceId>` / `<epoch minute>`. When it is full the caller sleeps
    until the next minute and tries again, unless that wait would pass `max_wait_s` or the invocation's deadline
    (posbridge/deadline.py): then it raises RateLimited with the seconds until the next window, so the message goes
    back to its queue for that long rather than a Lambda sleeping past its timeout.

    A fixed window admits up to 2 x limit within a 60 s span straddling a boundary; if Wix counts a rolling minute,
    such a burst can still draw a 429, which the client retries. 180 of 200 also leaves room for clock skew between
    functions and requests granted just before a boundary that reach Wix just after it.
    """

    def __init__(
        self,
        table_name: str,
        limit_per_minute: int = RATE_LIMIT_PER_MINUTE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        *,
        max_wait_s: float = RATE_LIMIT_MAX_WAIT_S,
        dynamodb: Any = None,
    ) -> None:
        if limit_per_minute < 1:
            raise ValueError("limit_per_minute must be at least 1")
        self._table_name = table_name
        self._limit = limit_per_minute
        self._windows = RateWindows(table_name, limit_per_minute, dynamodb=dynamodb)
        self._sleep = sleep
        self._clock = clock
        self._max_wait_s = max_wait_s

    def __repr__(self) -> str:
        return f"DynamoRateLimiter(table_name={self._table_name!r}, limit_per_minute={self._limit})"

    def acquire(self, instance_id: str) -> None:
        waited = 0.0
        while True:
            now = self._clock()
            minute = int(now // 60)
            if self._windows.take(instance_id, minute):
                return
            delay = max(0.0, (minute + 1) * 60 - now)
            bound = deadline.current()
            if waited + delay > self._max_wait_s or (bound is not None and delay + MIN_ATTEMPT_S > bound.remaining()):
                # The message comes back when the next window opens (the queue waits, not a Lambda).
                raise RateLimited(f"Wix rate limit for instance {instance_id}: the window is full", delay)
            log.info("wix rate limit window full, waiting", extra={"instance_id": instance_id, "delay": delay})
            self._sleep(delay)
            waited += delay
