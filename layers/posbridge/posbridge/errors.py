"""The two kinds of failure every flow distinguishes: retry it, or park it with a reason."""

from __future__ import annotations


class TransientError(Exception):
    """Throttling, 5xx, timeouts, a lost connection: the same work may succeed later, so retry it (with backoff)."""


class PermanentError(Exception):
    """The input can never succeed as it is (validation, unknown tenant, a 4xx from a partner): a poison message.

    `reason` is a short machine-readable code; the message says what to fix. Neither may contain personal data.
    """

    def __init__(self, reason: str, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.details = details or {}


class EventIgnored(Exception):
    """The event is valid but must not be acted on (e.g. its tenant removed the app): acknowledge it, do not park it.

    `reason` is a short machine-readable code, free of personal data."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
