"""The base of every DynamoDB store: the mappings table, reached through boto3 objects made on first use (not at
import, which keeps cold starts lean and lets tests point boto3 at moto first)."""

from __future__ import annotations

import time
from functools import cached_property
from typing import Any

import boto3

from posbridge.errors import TransientError

BATCH_GET_MAX = 100  # DynamoDB BatchGetItem keys per request
_UNPROCESSED_ATTEMPTS = 5


class TableStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @cached_property
    def _dynamodb(self) -> Any:
        return boto3.resource("dynamodb")

    @cached_property
    def _table(self) -> Any:
        return self._dynamodb.Table(self._table_name)

    @cached_property
    def _client(self) -> Any:
        # The resource's client: it takes and returns plain Python values, like the table.
        return self._table.meta.client

    def _batch_get(self, keys: list[dict[str, str]], consistent_read: bool = False) -> list[dict[str, Any]]:
        """Every existing item among these keys ({PK, SK}), 100 per request, unprocessed keys retried with backoff
        (DynamoDB returns them when throttled) and a TransientError if they stay unprocessed."""
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_MAX):
            request: dict[str, Any] = {
                self._table_name: {"Keys": keys[start : start + BATCH_GET_MAX], "ConsistentRead": consistent_read}
            }
            for attempt in range(_UNPROCESSED_ATTEMPTS):
                answer = self._dynamodb.batch_get_item(RequestItems=request)
                items += answer.get("Responses", {}).get(self._table_name, [])
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise TransientError("DynamoDB left keys unprocessed after several attempts")
        return items

    def _batch_get_sks(self, pk: str, sort_keys: list[str]) -> list[dict[str, Any]]:
        """`_batch_get` of one partition's items."""
        return self._batch_get([{"PK": pk, "SK": sk} for sk in sort_keys])
