"""Wix's error model and how the client classifies an answer it will not retry (wix-api.md section 4).

Wix answers `{message, details: {applicationError: {code, ...} | validationError: {fieldViolations: [...]}}}`.
429, 5xx and transport failures are retried by the client (posbridge.http_retry), then TransientError; any other
4xx is a WixApiError (409: WixConflict, so callers can re-read the revision and retry).

An error carries Wix's error body (never our request body, never a credential) and a message naming only the code.
"""

from __future__ import annotations

from typing import Any

import httpx

from posbridge.errors import PermanentError


class WixApiError(PermanentError):
    """A 4xx other than 429 (after the one token refresh for a 401): the request cannot succeed as it is.

    `code` is Wix's `details.applicationError.code`, `VALIDATION_ERROR` for a `details.validationError` body, else
    `HTTP_<status>`; `body` is Wix's error body, for recording (never a request body, never a credential).
    """

    def __init__(self, status: int, code: str, body: dict[str, Any], message: str) -> None:
        details: dict[str, object] = {"status": status, "code": code}
        fields = _violation_fields(body)
        if fields:
            details["fields"] = fields
        super().__init__(reason=f"wix_{code.lower()}", message=message, details=details)
        self.status = status
        self.code = code
        self.body = body


class WixConflict(WixApiError):
    """409: a stale `revision` or an entity that already exists. Re-read the entity, then retry with its revision."""


def _violation_fields(body: dict[str, Any]) -> list[str]:
    violations = ((body.get("details") or {}).get("validationError") or {}).get("fieldViolations")
    if not isinstance(violations, list):
        return []
    return [str(v.get("field")) for v in violations if isinstance(v, dict) and v.get("field")]


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def wix_error(response: httpx.Response, method: str, path: str) -> WixApiError:
    """The WixApiError (or WixConflict) for a non-retryable answer; the message names no value, only the code."""
    body = _error_body(response)
    details = body.get("details")
    details = details if isinstance(details, dict) else {}
    application = details.get("applicationError")
    code = ""
    if isinstance(application, dict) and application.get("code"):
        code = str(application["code"])
    elif isinstance(details.get("validationError"), dict):
        code = "VALIDATION_ERROR"
    code = code or f"HTTP_{response.status_code}"
    message = f"Wix {method} {path} answered {response.status_code} {code}"
    kind = WixConflict if response.status_code == 409 else WixApiError
    return kind(response.status_code, code, body, message)


def describe_answer(response: httpx.Response) -> str:
    """A retryable answer, for the retry log and the final TransientError: its status and Wix's error code only."""
    application = (_error_body(response).get("details") or {}).get("applicationError") or {}
    code = application.get("code", "") if isinstance(application, dict) else ""
    return f"HTTP {response.status_code} {code}".strip()
