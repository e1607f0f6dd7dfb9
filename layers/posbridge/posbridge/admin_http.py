"""The admin API's HTTP plumbing, around its routes (functions/admin/app.py): the OpenAPI answers a route declares,
the 422 every refused request gets, the refusal of unknown query parameters, and the gate before routing.

A 422 says where and why, never the rejected value (it may be a token). The gate refuses, before Powertools parses
anything, a body over 64 KB (413), a GET with a body, a body that is not JSON content (415), not UTF-8 or not a JSON
object (422).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from posbridge.domain.admin import InvalidRequest, Problem

# No admin request is anywhere near this (a tenant registration is ~1 KB); bigger bodies are refused before parsing.
MAX_BODY_BYTES = 64 * 1024
NOT_JSON = "the body is not JSON content (Content-Type must be application/json)"


def answer(description: str, model: type[BaseModel] | None = None) -> OpenAPIResponse:
    """A JSON answer of a route, for its `responses`: of `model`, or of any object."""
    schema: dict[str, Any] = {"model": model} if model is not None else {"schema": {"type": "object"}}
    return {"description": description, "content": {content_types.APPLICATION_JSON: schema}}  # type: ignore[dict-item]


def problems(**by_code: str) -> dict[int, OpenAPIResponse]:
    """The error answers of a route (all `Problem`s), plus the 422 of every validated request."""
    answers = {int(code.removeprefix("e")): answer(text, Problem) for code, text in by_code.items()}
    return answers | {422: answer("the request does not match this document; nothing was done", InvalidRequest)}


def invalid_request(exc: RequestValidationError) -> Response[dict[str, Any]]:
    """The exception handler of RequestValidationError (Powertools' and ours)."""
    return Response(422, content_types.APPLICATION_JSON, invalid(exc.errors()))


def invalid(errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 answer: where and why only, never the rejected value (pydantic's `input`, `ctx`): it may be a token."""
    detail = [
        {"loc": [_clipped(part) for part in e.get("loc", ())], "msg": _reason(e), "type": str(e.get("type", ""))}
        for e in list(errors)[:20]
    ]
    summary = "; ".join(f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in detail[:3])
    return {"message": f"invalid request: {summary}", "detail": detail}


def _clipped(part: Any) -> str | int:
    # A location names fields, but an unknown field's name is the caller's text: keep it short.
    return part if isinstance(part, int) else str(part)[:64]


def _reason(error: Any) -> str:
    if error.get("type") == "json_invalid":
        return f"the body is not valid JSON ({(error.get('ctx') or {}).get('error', 'malformed')})"
    return str(error.get("msg", "invalid"))


def known_query_only(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """An unknown query parameter is refused, not ignored: a misspelt filter (`?instanceID=`) must not widen a list."""
    known = {field.alias for field in app.context["_route"].dependant.query_params}
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - known)
    if unknown:
        raise RequestValidationError(
            [{"type": "extra_forbidden", "loc": ("query", name), "msg": "unknown query parameter"} for name in unknown]
        )
    return next_middleware(app)


@dataclass(frozen=True)
class Refusal:
    """An answer given before routing: `status` and `reason` (to log), and the API Gateway proxy `response`."""

    status: int
    reason: str
    response: dict[str, Any]


def gate(event: dict[str, Any]) -> Refusal | dict[str, Any]:
    """The refusal of a request no route may see, or the event to route (its body decoded if it was base64)."""
    body = event.get("body") or ""
    raw = base64.b64decode(body, validate=False) if event.get("isBase64Encoded") else body.encode()
    if len(raw) > MAX_BODY_BYTES:
        return _refused(413, f"body over {MAX_BODY_BYTES} bytes")
    if event.get("httpMethod") == "GET" and raw.strip():
        return _refused(422, "a GET request takes no body", "extra_forbidden")
    content_type = next((v for k, v in (event.get("headers") or {}).items() if k.lower() == "content-type"), "")
    if raw and content_type.strip() and not content_type.strip().lower().startswith("application/json"):
        return _refused(415, NOT_JSON)  # (Powertools would parse forms and multipart: this API takes JSON only)
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return _refused(422, "the body is not UTF-8 JSON", "json_invalid")
    if _not_an_object(text):
        return _refused(422, "the body must be a JSON object", "model_type")
    if event.get("isBase64Encoded"):  # (API Gateway encodes what it does not take for text)
        event = {**event, "body": text, "isBase64Encoded": False}
    return event


def _refused(status: int, message: str, error_type: str = "") -> Refusal:
    """A 422 has the shape of every other 422 (InvalidRequest)."""
    body = invalid([{"loc": ("body",), "msg": message, "type": error_type}]) if status == 422 else {"message": message}
    response = {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
    return Refusal(status, message, response)


def _not_an_object(text: str) -> bool:
    """A JSON body other than an object (or null). Every admin body is an object, and Powertools would validate a
    list's first element in place of the list."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False  # Powertools answers it (json_invalid)
    return value is not None and not isinstance(value, dict)
