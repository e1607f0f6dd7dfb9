"""What the devstack's functions ask of AWS, counted as AWS bills it (for the cost model in bench/cost.py).

Every botocore call made on a thread the runtime attributes to a function (devstack/runtime.py `attributed`: a Lambda
handler, or Lambda's SQS poller of a function) is recorded by (caller, service, operation). DynamoDB calls are also
converted to on-demand request units from the sizes of the items actually written and read, by the rules of the
DynamoDB developer guide ("Read/write capacity mode", "Item sizes"): a write is 1 WRU per KB of item (rounded up), a
read 1 RRU per 4 KB (0.5 when eventually consistent), transactions twice that. Lambda invocations and their durations
come from the runtime's invocation records. Calls of the devstack itself (deploy, tests, inspection) are not counted.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.client import BaseClient

from devstack.runtime import RUNTIME, current_caller

EMPTY_RECEIVE = "ReceiveMessage(empty)"
_TYPED = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}


def _value_size(value: Any) -> int:
    """DynamoDB's size of one attribute value, given typed ({"S": "x"}) or as boto3's resource layer passes it."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPED:
        kind, inner = next(iter(value.items()))
        if kind == "M":
            return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
        if kind == "L":
            return 3 + sum(_value_size(v) + 1 for v in inner)
        if kind in ("SS", "NS", "BS"):
            return sum(_value_size({kind[0]: v}) for v in inner)
        if kind == "N":
            return _number_size(str(inner))
        if kind in ("BOOL", "NULL"):
            return 1
        return len(inner.encode()) if isinstance(inner, str) else len(inner)
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + _value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(_value_size(v) + 1 for v in value)
    if isinstance(value, set | frozenset):
        return sum(_value_size(v) for v in value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return _number_size(str(value))
    if isinstance(value, bytes | bytearray):
        return len(value)
    return len(str(value).encode())


def _number_size(text: str) -> int:
    digits = len(text.lstrip("-").replace(".", "").lstrip("0")) or 1
    return math.ceil(digits / 2) + 1


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(str(name).encode()) + _value_size(value) for name, value in (item or {}).items())


def _write_units(size: int) -> float:
    return float(max(1, math.ceil(size / 1024)))


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units if consistent else units / 2)


def _update_size(params: dict[str, Any]) -> int:
    """An update is billed on the larger of the item before and after; its key and values are what we can see."""
    return item_size(params.get("Key")) + item_size(params.get("ExpressionAttributeValues"))


def dynamodb_units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) of one call."""
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        return _read_units(item_size(response.get("Item")), consistent), 0.0
    if operation in ("Query", "Scan"):
        return _read_units(sum(item_size(i) for i in response.get("Items", [])), consistent), 0.0
    if operation == "BatchGetItem":
        found = [i for items in response.get("Responses", {}).values() for i in items]
        return sum(_read_units(item_size(i), consistent) for i in found) or 0.5, 0.0
    if operation == "PutItem":
        return 0.0, _write_units(item_size(params.get("Item")))
    if operation == "UpdateItem":
        return 0.0, _write_units(_update_size(params))
    if operation == "DeleteItem":
        return 0.0, _write_units(item_size(params.get("Key")))
    if operation == "BatchWriteItem":
        units = 0.0
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                put = request.get("PutRequest", {}).get("Item")
                units += _write_units(
                    item_size(put if put is not None else request.get("DeleteRequest", {}).get("Key"))
                )
        return 0.0, units
    if operation == "TransactWriteItems":
        units = 0.0
        for entry in params.get("TransactItems", []):
            if "Put" in entry:
                units += _write_units(item_size(entry["Put"].get("Item")))
            elif "Update" in entry:
                units += _write_units(_update_size(entry["Update"]))
            else:  # Delete, ConditionCheck
                units += _write_units(item_size(next(iter(entry.values())).get("Key")))
        return 0.0, 2 * units
    if operation == "TransactGetItems":
        found = [r.get("Item") for r in response.get("Responses", [])]
        return 2 * sum(_read_units(item_size(i), True) for i in found), 0.0
    return 0.0, 0.0


@dataclass
class Usage:
    """AWS usage since the meter started, by caller (a function name, or the SQS poller of one)."""

    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0
    failed_calls: int = 0

    def count(self, service: str, operation: str | None = None, caller_prefix: str = "") -> int:
        return sum(
            n
            for (caller, svc, op), n in self.calls.items()
            if svc == service and (operation is None or op == operation) and caller.startswith(caller_prefix)
        )


class AwsMeter:
    """Wraps botocore's one call path (BaseClient._make_api_call) once per process; `measure()` scopes a count."""

    _installed = False
    _lock = threading.Lock()
    _active: list[Usage] = []

    @classmethod
    def _install(cls) -> None:
        with cls._lock:
            if cls._installed:
                return
            original = BaseClient._make_api_call

            def counted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
                caller = current_caller()
                if caller is None or not cls._active:
                    return original(client, operation, params)
                service = client.meta.service_model.service_name
                try:
                    response = original(client, operation, params)
                except Exception:
                    cls._record(caller, service, operation, params, {}, failed=True)
                    raise
                cls._record(caller, service, operation, params, response, failed=False)
                return response

            BaseClient._make_api_call = counted
            cls._installed = True

    @classmethod
    def _record(
        cls, caller: str, service: str, operation: str, params: dict[str, Any], response: Any, failed: bool
    ) -> None:
        reads, writes = (0.0, 0.0)
        if service == "sqs" and operation == "ReceiveMessage" and not (response or {}).get("Messages"):
            operation = EMPTY_RECEIVE  # Lambda's long polls of an idle queue: a fixed cost, not one per order
        if service == "dynamodb":
            # A failed condition still consumes its write; a failed read is billed its minimum.
            reads, writes = dynamodb_units(operation, params, response if isinstance(response, dict) else {})
        with cls._lock:
            for usage in cls._active:
                usage.calls[(caller, service, operation)] += 1
                usage.read_units += reads
                usage.write_units += writes
                usage.failed_calls += int(failed)

    @classmethod
    @contextmanager
    def measure(cls) -> Iterator[Usage]:
        cls._install()
        usage = Usage()
        with cls._lock:
            cls._active.append(usage)
        try:
            yield usage
        finally:
            with cls._lock:
                cls._active.remove(usage)


def invocations_since(start: int) -> list[Any]:
    """The runtime's invocation records after index `start` (take `len(RUNTIME.invocations)` before a run)."""
    return list(RUNTIME.invocations[start:])
