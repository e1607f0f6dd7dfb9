"""The base of every DynamoDB store: the mappings table, reached through boto3 objects made on first use (not at
import, which keeps cold starts lean and lets tests point boto3 at moto first)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3


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
