"""Wix's REST request types, so the sandbox refuses what Wix refuses: a field the request type lacks is a 400 with
`details.validationError.fieldViolations`, never silently ignored.

The types are JSON Schema generated from the pinned official SDK modules' meta.d.ts (contracts/wix), stored in
rest_requests.json by `python -m tests.contracts.wix_request_types`; a contract test keeps the file equal to the SDK.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from werkzeug.datastructures import MultiDict

from devstack.wix_sandbox.validation import ApiError, bad_request

REQUESTS_FILE = Path(__file__).with_name("rest_requests.json")


@functools.cache
def _validator(type_name: str) -> Draft7Validator:
    types = _types()
    if type_name not in types:
        raise KeyError(f"no REST request type {type_name} in {REQUESTS_FILE.name}")
    return Draft7Validator(types[type_name])


@functools.cache
def _types() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REQUESTS_FILE.read_text())
    return loaded


def _field(path: Iterable[Any]) -> str:
    """Wix's spelling of a field path: `order.lineItems[0].price`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def unknown_fields(type_name: str, body: Any) -> list[dict[str, str]]:
    """One violation per field of `body` that the REST type does not declare."""
    violations = []
    for error in _validator(type_name).iter_errors(body):
        if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
            continue
        declared = set(error.schema.get("properties", {}))
        for name in sorted(set(error.instance) - declared):
            field = _field([*error.absolute_path, name])
            violations.append({"field": field, "description": f"{field} is not a field of {type_name}"})
    return sorted(violations, key=lambda violation: violation["field"])


def check_known(type_name: str, body: Any) -> None:
    violations = unknown_fields(type_name, body)
    if violations:
        raise ApiError(400, f"Invalid request: {violations[0]['description']}", violations=violations)


def query_fields(args: MultiDict[str, str]) -> dict[str, Any]:
    """A query string as the request object it stands for: dotted names nest (`paging.limit`), a repeated name is a
    list, and `.r` (the SDK's base64url JSON of a request too deep for plain parameters, @wix/sdk-runtime
    rest-modules toURLSearchParams) is that JSON."""
    if ".r" in args:
        if len(args) > 1:
            raise bad_request("`.r` carries the whole request: no other query parameter may come with it")
        packed = args[".r"]
        try:
            unpacked = json.loads(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))
        except (binascii.Error, ValueError) as exc:
            raise bad_request("`.r` must be base64url JSON") from exc
        if not isinstance(unpacked, dict):
            raise bad_request("`.r` must hold a JSON object")
        return unpacked
    request: dict[str, Any] = {}
    for name in args:
        values = args.getlist(name)
        node = request
        *parents, leaf = name.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise bad_request(f"query parameter {name} conflicts with {part}")
            node = child
        node[leaf] = values[0] if len(values) == 1 else values
    return request
