"""The two kinds of failure every flow distinguishes: retry it, or park it with a reason; and a refused webhook."""

from __future__ import annotations

import traceback
from typing import Generic, TypeVar

R = TypeVar("R", bound=str, covariant=True)


class TransientError(Exception):
    """Throttling, 5xx, timeouts, a lost connection: the same work may succeed later, so retry it (with backoff)."""


class RetryLater(TransientError):
    """A transient failure that says when to come back: the queue worker stops its batch and returns the unfinished
    messages with a visibility delay matched to the cause (posbridge/work_batch.py), instead of retrying at once.

    `retry_after_s`: when the work may succeed, if the partner said so (a Retry-After, the next rate window); None:
    the worker backs off by the message's receive count."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RateLimited(RetryLater):
    """The partner's rate limit (a 429, or our shared Wix window) is full."""


class PartnerUnavailable(RetryLater):
    """The partner kept answering 5xx or timing out, within this invocation's budget: back off by receive count."""


class DeadlineReached(RetryLater):
    """This invocation's time ran out (posbridge/deadline.py) before the work could finish: try again soon."""


class StaleWrite(TransientError):
    """A record changed since it was read (another writer came first): re-read it and decide again."""


class PermanentError(Exception):
    """The input can never succeed as it is (validation, unknown tenant, a 4xx from a partner): a poison message.

    `reason` is a short machine-readable code; the message says what to fix. Neither may contain personal data.
    """

    def __init__(self, reason: str, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.details = details or {}


class IdempotencyKeyReused(PermanentError):
    """The partner already applied this idempotency key to a different request body (Square: 400
    IDEMPOTENCY_KEY_REUSED). The write it names happened once already; a new key would do it a second time, so the
    message is parked with this reason, never retried under another key."""


class EventIgnored(Exception):
    """The event is valid but must not be acted on (e.g. its tenant removed the app): acknowledge it, do not park it.

    `reason` is a short machine-readable code, free of personal data."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class WebhookRejected(Exception, Generic[R]):
    """A webhook refused before anything was enqueued. `status` is the HTTP answer (400 malformed, 401 not verifiable,
    413 too large, 503 try again), `code` the metric's reason (each source's closed set, R: few metrics), `reason`
    the message for the sender."""

    def __init__(self, status: int, code: R, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code: R = code
        self.reason = reason


def crash_fields(exc: BaseException) -> dict[str, object]:
    """Log fields for a failure nothing classified: its type and code path, never its text (a validation error's
    text can quote a buyer's data, an encoding error's a credential)."""
    return {"error_type": type(exc).__name__, "frames": traceback.format_tb(exc.__traceback__)}
