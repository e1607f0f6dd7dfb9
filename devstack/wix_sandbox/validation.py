"""Wix error bodies and request validation that reports every field violation at once, like the Wix gateway."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any

# gRPC-style codes Wix puts in applicationError.code for the standard statuses.
_STATUS_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    428: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def error_body(status: int, message: str | None = None, code: str | None = None) -> dict[str, Any]:
    """`{message, details:{applicationError:{code, description}}}`; also used by the fault injector."""
    text = message or HTTPStatus(status).phrase
    return {
        "message": text,
        "details": {"applicationError": {"code": code or _STATUS_CODES.get(status, "UNKNOWN"), "description": text}},
    }


class ApiError(Exception):
    """An error answer; `violations` turns it into a validationError body."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None, violations: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.violations = violations

    def body(self) -> dict[str, Any]:
        if self.violations:
            return {"message": self.message, "details": {"validationError": {"fieldViolations": self.violations}}}
        return error_body(self.status, self.message, self.code)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(what: str, entity_id: str) -> ApiError:
    return ApiError(404, f"{what} {entity_id!r} not found", code="NOT_FOUND")


def is_guid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


class Checker:
    """Collects field violations; each check returns the value when valid (or absent and optional), else None."""

    def __init__(self) -> None:
        self.violations: list[dict[str, str]] = []

    def fail(self, field: str, description: str) -> None:
        self.violations.append({"field": field, "description": description})

    def done(self, message: str = "Invalid request") -> None:
        if self.violations:
            raise ApiError(
                400,
                f"{message}: {self.violations[0]['field']}: {self.violations[0]['description']}",
                violations=self.violations,
            )

    def _get(self, data: dict[str, Any], key: str, field: str, required: bool) -> Any:
        value = data.get(key)
        if value is None and required:
            self.fail(field, "is required")
        return value

    def obj(self, data: dict[str, Any], key: str, field: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self._get(data, key, field, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(field, "must be an object")
            return None
        return value

    def text(
        self,
        data: dict[str, Any],
        key: str,
        field: str,
        *,
        required: bool = False,
        min_len: int = 0,
        max_len: int | None = None,
    ) -> str | None:
        value = self._get(data, key, field, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(field, "must be a string")
        elif len(value) < min_len:
            self.fail(field, f"must be at least {min_len} characters")
        elif max_len is not None and len(value) > max_len:
            self.fail(field, f"must be at most {max_len} characters")
        else:
            return value
        return None

    def integer(
        self,
        data: dict[str, Any],
        key: str,
        field: str,
        *,
        required: bool = False,
        lo: int | None = None,
        hi: int | None = None,
    ) -> int | None:
        value = self._get(data, key, field, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, "must be an integer")
        elif (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(field, f"must be between {lo} and {hi}")
        else:
            return value
        return None

    def boolean(self, data: dict[str, Any], key: str, field: str, *, required: bool = False) -> bool | None:
        value = self._get(data, key, field, required)
        if value is not None and not isinstance(value, bool):
            self.fail(field, "must be a boolean")
            return None
        return value

    def decimal(
        self,
        data: dict[str, Any],
        key: str,
        field: str,
        *,
        required: bool = False,
        max_places: int | None = None,
    ) -> Decimal | None:
        """A non-negative decimal string such as "12.50" (Wix money and prices are strings, never numbers)."""
        value = self._get(data, key, field, required)
        if value is None:
            return None
        if not isinstance(value, str) or not _DECIMAL.match(value):
            self.fail(field, 'must be a decimal string such as "12.50"')
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.fail(field, "must be a decimal string")
            return None
        if number < 0:
            self.fail(field, "must not be negative")
        elif max_places is not None and "." in value and len(value.split(".")[1]) > max_places:
            self.fail(field, f"must have at most {max_places} decimal places")
        else:
            return number
        return None

    def array(
        self,
        data: dict[str, Any],
        key: str,
        field: str,
        *,
        required: bool = False,
        min_len: int = 0,
        max_len: int | None = None,
    ) -> list[Any] | None:
        value = self._get(data, key, field, required)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(field, "must be an array")
        elif len(value) < min_len:
            self.fail(field, f"must have at least {min_len} elements")
        elif max_len is not None and len(value) > max_len:
            self.fail(field, f"must have at most {max_len} elements")
        else:
            return value
        return None

    def enum(
        self,
        data: dict[str, Any],
        key: str,
        field: str,
        allowed: tuple[str, ...],
        *,
        required: bool = False,
    ) -> str | None:
        value = self._get(data, key, field, required)
        if value is None:
            return None
        if value not in allowed:
            self.fail(field, f"must be one of {', '.join(allowed)} (case-sensitive), got {value!r}")
            return None
        return str(value)

    def string_list(self, data: dict[str, Any], key: str, field: str, *, max_len: int) -> list[str]:
        values = self.array(data, key, field, max_len=max_len) or []
        for i, value in enumerate(values):
            if not isinstance(value, str) or not value:
                self.fail(f"{field}[{i}]", "must be a non-empty string")
        return [v for v in values if isinstance(v, str)]


def json_object(value: Any, what: str = "request body") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"{what} must be a JSON object")
    return value
