"""Wix API Query Language subset: filters, sort and cursor paging, shared by Search Orders and the Menus queries."""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from devstack.wix_sandbox.state import parse_iso
from devstack.wix_sandbox.validation import ApiError, bad_request

EQUALITY = frozenset({"$eq", "$ne", "$in", "$nin"})
ALL_OPERATORS = EQUALITY | {"$gt", "$gte", "$lt", "$lte", "$exists", "$startsWith", "$contains", "$hasSome", "$hasAll"}
_LIST_OPERATORS = frozenset({"$in", "$nin", "$hasSome", "$hasAll"})
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_COMPARISONS = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}


def values_at(entity: Any, path: str) -> list[Any]:
    """All leaf values at a dotted path; arrays fan out, so `lineItems.catalogReference.appId` yields every line's."""
    current = [entity]
    for part in path.split("."):
        step: list[Any] = []
        for node in current:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, dict) and item.get(part) is not None:
                    step.append(item[part])
        current = step
    leaves: list[Any] = []
    for value in current:
        leaves.extend(value if isinstance(value, list) else [value])
    return leaves


def _coerce(value: Any) -> Any:
    """Dates and decimal strings compare by value, not as text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str) and _ISO.match(value):
        try:
            return parse_iso(value)
        except ValueError:
            return value
    if isinstance(value, str) and _NUMBER.match(value):
        return Decimal(value)
    return value


def _equal(a: Any, b: Any) -> bool:
    return bool(_coerce(a) == _coerce(b))


def _compare(op: str, value: Any, operand: Any) -> bool:
    left, right = _coerce(value), _coerce(operand)
    if not isinstance(left, datetime | Decimal | str) or type(left) is not type(right):
        return False  # a date never compares with a number or text
    return bool(_COMPARISONS[op](left, right))


def _apply(op: str, values: list[Any], operand: Any) -> bool:
    if op == "$eq":
        return not values if operand is None else any(_equal(v, operand) for v in values)
    if op == "$ne":
        return not _apply("$eq", values, operand)
    if op in ("$in", "$hasSome"):
        return any(_equal(v, x) for v in values for x in operand)
    if op == "$nin":
        return not _apply("$in", values, operand)
    if op == "$hasAll":
        return all(any(_equal(v, x) for v in values) for x in operand)
    if op == "$exists":
        return bool(values) == bool(operand)
    if op == "$startsWith":
        return any(isinstance(v, str) and v.startswith(operand) for v in values)
    if op == "$contains":
        return any(isinstance(v, str) and operand in v for v in values)
    return any(_compare(op, v, operand) for v in values)


def validate_filter(flt: Any, allowed: Mapping[str, frozenset[str]] | None, field: str = "filter") -> dict[str, Any]:
    """400 on malformed filters, unknown operators, or (with `allowed`) fields/operators the API does not support."""
    if not isinstance(flt, dict):
        raise bad_request(f"{field} must be an object")
    for key, condition in flt.items():
        if key in ("$and", "$or"):
            if not isinstance(condition, list):
                raise bad_request(f"{field}.{key} must be an array of filters")
            for i, sub in enumerate(condition):
                validate_filter(sub, allowed, f"{field}.{key}[{i}]")
            continue
        if key == "$not":
            validate_filter(condition, allowed, f"{field}.$not")
            continue
        if key.startswith("$"):
            raise bad_request(f"{field}: unknown operator {key}")
        ops = condition if isinstance(condition, dict) and condition else {"$eq": condition}
        for op, operand in ops.items():
            if op not in ALL_OPERATORS:
                raise bad_request(f"{field}.{key}: unknown operator {op}")
            if allowed is not None and op not in allowed.get(key, frozenset()):
                raise bad_request(f"{field}: {key} cannot be filtered with {op}")
            if op in _LIST_OPERATORS and not isinstance(operand, list):
                raise bad_request(f"{field}.{key}.{op} needs an array")
    return flt


def mentions(flt: dict[str, Any], name: str) -> bool:
    """Whether a filter constrains `name` anywhere (Search Orders shows PENDING/REJECTED orders only then)."""
    for key, condition in flt.items():
        if key == name:
            return True
        if key in ("$and", "$or") and any(mentions(sub, name) for sub in condition):
            return True
        if key == "$not" and mentions(condition, name):
            return True
    return False


def matches(entity: dict[str, Any], flt: dict[str, Any]) -> bool:
    for key, condition in flt.items():
        if key == "$and":
            ok = all(matches(entity, sub) for sub in condition)
        elif key == "$or":
            ok = any(matches(entity, sub) for sub in condition)
        elif key == "$not":
            ok = not matches(entity, condition)
        else:
            ops = condition if isinstance(condition, dict) and condition else {"$eq": condition}
            values = values_at(entity, key)
            ok = all(_apply(op, values, operand) for op, operand in ops.items())
        if not ok:
            return False
    return True


def validate_sort(sort: Any, allowed: Iterable[str] | None) -> list[dict[str, str]]:
    if not isinstance(sort, list):
        raise bad_request("sort must be an array of {fieldName, order}")
    fields = set(allowed) if allowed is not None else None
    for i, entry in enumerate(sort):
        if not isinstance(entry, dict) or not isinstance(entry.get("fieldName"), str):
            raise bad_request(f"sort[{i}] needs a fieldName")
        if entry.get("order", "ASC") not in ("ASC", "DESC"):
            raise bad_request(f"sort[{i}].order must be ASC or DESC")
        if fields is not None and entry["fieldName"] not in fields:
            raise bad_request(f"sort[{i}]: cannot sort by {entry['fieldName']}")
    return sort


def sort_items(items: list[dict[str, Any]], sort: list[dict[str, str]]) -> list[dict[str, Any]]:
    ordered = list(items)
    for entry in reversed(sort):  # stable sorts, least significant key first
        name = entry["fieldName"]

        def key(item: dict[str, Any], name: str = name) -> tuple[int, Any]:
            values = values_at(item, name)
            return (0, "") if not values else (1, _coerce(values[0]))

        try:
            ordered.sort(key=key, reverse=entry.get("order", "ASC") == "DESC")
        except TypeError as exc:
            raise bad_request(f"cannot sort by {name}: mixed value types") from exc
    return ordered


@dataclass
class CursorQuery:
    filter: dict[str, Any]
    sort: list[dict[str, str]]
    offset: int
    limit: int


def parse_query(
    query: dict[str, Any],
    *,
    scope: str,
    max_limit: int,
    default_limit: int,
    allowed: Mapping[str, frozenset[str]] | None = None,
    default_sort: list[dict[str, str]] | None = None,
    sortable: Iterable[str] | None = None,
) -> CursorQuery:
    """`{filter, sort, cursorPaging:{limit, cursor}}`; a cursor carries filter+sort, so resending them is an error.
    Sort fields: `sortable`, else every field of `allowed`, else any."""
    paging = query.get("cursorPaging") or {}
    if not isinstance(paging, dict):
        raise bad_request("cursorPaging must be an object")
    limit = paging.get("limit", default_limit)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        raise bad_request(f"cursorPaging.limit must be between 1 and {max_limit}")
    cursor = paging.get("cursor")
    if cursor:
        if query.get("filter") or query.get("sort"):
            raise bad_request("send either a cursor or filter/sort, not both")
        state = decode_cursor(cursor, scope)
        return CursorQuery(state["filter"], state["sort"], state["offset"], limit)
    sort_fields = sortable if sortable is not None else (allowed.keys() if allowed is not None else None)
    return CursorQuery(
        validate_filter(query.get("filter") or {}, allowed),
        validate_sort(query.get("sort") or default_sort or [], sort_fields),
        0,
        limit,
    )


def page(items: list[dict[str, Any]], q: CursorQuery, scope: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of already filtered+sorted items and its `{count, cursors{next, prev}, hasNext}` metadata."""
    chunk = items[q.offset : q.offset + q.limit]
    has_next = q.offset + q.limit < len(items)
    state = {"filter": q.filter, "sort": q.sort}
    cursors = {
        "next": encode_cursor({**state, "offset": q.offset + q.limit}, scope) if has_next else None,
        "prev": encode_cursor({**state, "offset": max(0, q.offset - q.limit)}, scope) if q.offset else None,
    }
    return chunk, {"count": len(chunk), "cursors": cursors, "hasNext": has_next}


def encode_cursor(state: dict[str, Any], scope: str) -> str:
    raw = json.dumps({"scope": scope, **state}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: Any, scope: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "invalid cursor") from exc
    valid = (
        isinstance(state, dict) and state.get("scope") == scope and isinstance(state.get("filter"), dict)
        and isinstance(state.get("sort"), list) and isinstance(state.get("offset"), int)
    )  # fmt: skip
    if not valid:
        raise ApiError(400, "invalid cursor")
    return dict(state)
