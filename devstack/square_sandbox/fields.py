"""Typed readers for request bodies: each one raises Square's error for a missing or mistyped field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from devstack.square_sandbox.errors import bad_request, missing

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def as_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request("EXPECTED_OBJECT", f"Expected an object for `{field}`.", field)
    return value


def req_object(parent: dict[str, Any], key: str, field: str) -> dict[str, Any]:
    if parent.get(key) is None:
        raise missing(field)
    return as_object(parent[key], field)


def opt_object(parent: dict[str, Any], key: str, field: str) -> dict[str, Any] | None:
    return None if parent.get(key) is None else as_object(parent[key], field)


def opt_str(parent: dict[str, Any], key: str, field: str, max_len: int | None = None) -> str | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request("EXPECTED_STRING", f"Expected a string for `{field}`.", field)
    if max_len is not None and len(value) > max_len:
        raise bad_request("VALUE_TOO_LONG", f"`{field}` must be at most {max_len} characters.", field)
    return value


def req_str(parent: dict[str, Any], key: str, field: str, max_len: int | None = None) -> str:
    value = opt_str(parent, key, field, max_len)
    if value is None:
        raise missing(field)
    if value == "":
        raise bad_request("VALUE_EMPTY", f"`{field}` must not be empty.", field)
    return value


def opt_list(parent: dict[str, Any], key: str, field: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("EXPECTED_ARRAY", f"Expected an array for `{field}`.", field)
    return value


def opt_bool(parent: dict[str, Any], key: str, field: str) -> bool | None:
    value = parent.get(key)
    if value is not None and not isinstance(value, bool):
        raise bad_request("EXPECTED_BOOLEAN", f"Expected a boolean for `{field}`.", field)
    return value


def opt_int(parent: dict[str, Any], key: str, field: str) -> int | None:
    value = parent.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad_request("EXPECTED_INTEGER", f"Expected an integer for `{field}`.", field)
    return value


def enum(value: Any, allowed: Iterable[str], field: str) -> str:
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise bad_request("INVALID_ENUM_VALUE", f"`{field}` must be one of {', '.join(allowed)}; got {value!r}.", field)
    return value


def money(value: Any, field: str, currency: str) -> dict[str, Any]:
    """Square Money: an integer amount in the smallest unit and the location's ISO 4217 currency."""
    data = as_object(value, field)
    amount = opt_int(data, "amount", f"{field}.amount")
    if amount is None:
        raise missing(f"{field}.amount")
    if amount < 0:
        raise bad_request("VALUE_TOO_LOW", f"`{field}.amount` must not be negative.", f"{field}.amount")
    code = req_str(data, "currency", f"{field}.currency")
    if not _CURRENCY.match(code):
        raise bad_request("INVALID_VALUE", f"`{field}.currency` is not an ISO 4217 code.", f"{field}.currency")
    if code != currency:
        raise bad_request("CURRENCY_MISMATCH", f"`{field}.currency` must be the location currency {currency}.", field)
    return {"amount": amount, "currency": code}


def rfc3339(value: Any, field: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset (Square rejects naive times)."""
    if not isinstance(value, str):
        raise bad_request("EXPECTED_STRING", f"Expected an RFC 3339 timestamp for `{field}`.", field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value.upper():
        raise bad_request("INVALID_TIME", f"`{field}` must be an RFC 3339 timestamp, e.g. 2024-01-26T02:25:34Z.", field)
    return parsed


def limit(parent: dict[str, Any], field: str, default: int, maximum: int) -> int:
    value = opt_int(parent, "limit", field)
    if value is None:
        return default
    if value < 1:
        raise bad_request("VALUE_TOO_LOW", f"`{field}` must be at least 1.", field)
    if value > maximum:
        raise bad_request("VALUE_TOO_HIGH", f"`{field}` must be at most {maximum}.", field)
    return value
