"""Clover's error answers as the sandbox gives them.

Platform API errors are JSON with a `message`; the atomic order endpoints add `details` (the bad id, where there is
one): docs.clover.com/docs/working-with-orders, "Handle 400 Bad Request errors" (`item_does_not_exist`,
`service_charge_does_not_exist`, `invalid_modifier`, `cart_is_empty_or_missing`, `bad_request`). 401 covers a missing,
expired or unknown token (docs.clover.com/dev/docs/401-unauthorized). 429 names the limit hit in a header
(docs.clover.com/docs/api-usage-rate-limits: `X-RateLimit-tokenLimit`, ...). The exact 401/429 bodies are not
documented: the sandbox answers `{"message": ...}` like every other Clover error (sandbox choice).
"""

from __future__ import annotations

from typing import Any


class CloverError(Exception):
    def __init__(self, status: int, message: str, details: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class ControlNotFound(Exception):
    """A control API call names a merchant (or order) the sandbox does not have."""


def bad_request(message: str, details: str | None = None) -> CloverError:
    return CloverError(400, message, details)


def unauthorized(message: str = "401 Unauthorized") -> CloverError:
    return CloverError(401, message)


def not_found(message: str = "Not Found") -> CloverError:
    return CloverError(404, message)


def fault_body(status: int) -> dict[str, Any]:
    return {"message": f"Injected fault {status}"}
