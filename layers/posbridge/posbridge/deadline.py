"""The time an invocation may still spend: every retry loop and rate-limit wait stops before it, never sleeps past it.

A queue worker builds one Deadline from Lambda's remaining time minus a safety margin (time to report the batch, set
visibilities, park poison and flush metrics) and applies it for the batch (`with deadline.applied():`). The partner
clients read it through `current()`: a request's timeout is cut to what is left, an attempt or a wait that cannot fit
raises instead (posbridge/http_retry.py, DynamoRateLimiter). Code outside a worker (CLI, tools, tests) has no deadline
and keeps the clients' own bounds. A context variable rather than a parameter: the clients are built once per process
and shared by every message, while the deadline belongs to one invocation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

SAFETY_MARGIN_S = 4.0  # after the deadline: ChangeMessageVisibilityBatch, DLQ parking, metrics (each well under 1 s)

_current: ContextVar[Deadline | None] = ContextVar("posbridge_deadline", default=None)


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._at = clock() + max(0.0, seconds)

    @classmethod
    def from_context(
        cls, context: RemainingTime, margin_s: float = SAFETY_MARGIN_S, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        """The invocation's remaining time (Lambda context) minus the margin its own ending needs."""
        return cls(context.get_remaining_time_in_millis() / 1000 - margin_s, clock)

    def remaining(self) -> float:
        return max(0.0, self._at - self._clock())

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.3f})"

    @contextmanager
    def applied(self) -> Iterator[Deadline]:
        """Make this the deadline every client call in the block works to."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)


def current() -> Deadline | None:
    """The deadline of the invocation being served, or None (no bound beyond the clients' own)."""
    return _current.get()
