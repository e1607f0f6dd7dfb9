"""Square's error model: `{errors: [{category, code, detail, field?}]}` and the HTTP status paired with each code."""

from __future__ import annotations

from typing import Any

INVALID_REQUEST = "INVALID_REQUEST_ERROR"
AUTHENTICATION = "AUTHENTICATION_ERROR"
RATE_LIMIT = "RATE_LIMIT_ERROR"
API = "API_ERROR"


class SquareError(Exception):
    """One Square error; raised by handlers and rendered as Square's error body."""

    def __init__(self, status: int, category: str, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.category = category
        self.code = code
        self.detail = detail
        self.field = field

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field is not None:
            error["field"] = self.field
        return error

    def body(self) -> dict[str, Any]:
        return {"errors": [self.to_json()]}


class ControlNotFound(Exception):
    """A control-API path names a merchant or order that does not exist (404 with a plain message)."""


def bad_request(code: str, detail: str, field: str | None = None) -> SquareError:
    return SquareError(400, INVALID_REQUEST, code, detail, field)


def missing(field: str) -> SquareError:
    return bad_request("MISSING_REQUIRED_PARAMETER", f"Missing required parameter `{field}`.", field)


def not_found(detail: str, field: str | None = None) -> SquareError:
    """A path resource that does not exist (or belongs to another merchant): 404."""
    return SquareError(404, INVALID_REQUEST, "NOT_FOUND", detail, field)


def unknown_reference(detail: str, field: str) -> SquareError:
    """A body field naming an object that does not exist: Square's NOT_FOUND code, but on a 400."""
    return bad_request("NOT_FOUND", detail, field)


def version_mismatch(detail: str, field: str) -> SquareError:
    """A stale `version`: Square's docs call it a "version mismatch" error, but squareup's ErrorCode enum (the oracle)
    has no VERSION_MISMATCH; its code for a 409 is CONFLICT."""
    return SquareError(409, INVALID_REQUEST, "CONFLICT", detail, field)


def idempotency_key_reused(field: str = "idempotency_key") -> SquareError:
    return bad_request(
        "IDEMPOTENCY_KEY_REUSED", "The idempotency key was already used with a different request body.", field
    )


def unauthorized(detail: str = "This request could not be authorized.") -> SquareError:
    return SquareError(401, AUTHENTICATION, "UNAUTHORIZED", detail)


_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: (INVALID_REQUEST, "BAD_REQUEST"),
    401: (AUTHENTICATION, "UNAUTHORIZED"),
    403: (AUTHENTICATION, "FORBIDDEN"),
    404: (INVALID_REQUEST, "NOT_FOUND"),
    405: (INVALID_REQUEST, "METHOD_NOT_ALLOWED"),
    409: (INVALID_REQUEST, "CONFLICT"),
    429: (RATE_LIMIT, "RATE_LIMITED"),
    500: (API, "INTERNAL_SERVER_ERROR"),
    502: (API, "BAD_GATEWAY"),
    503: (API, "SERVICE_UNAVAILABLE"),
    504: (API, "GATEWAY_TIMEOUT"),
}


def for_status(status: int) -> SquareError:
    """The error Square answers with for a bare HTTP status (used for injected faults)."""
    default = (INVALID_REQUEST, "BAD_REQUEST") if status < 500 else (API, "INTERNAL_SERVER_ERROR")
    category, code = _STATUS_ERRORS.get(status, default)
    return SquareError(status, category, code, f"Injected fault: HTTP {status}.")


def fault_body(status: int) -> dict[str, Any]:
    return for_status(status).body()
