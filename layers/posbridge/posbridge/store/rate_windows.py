"""Fixed-window request counters in the mappings table, shared by every function and process: the state behind the
Wix client's budget per app instance and minute (wix/rate_limit.py) and Clover's per merchant and second
(pos/clover/rate_limit.py).

    PK RATELIMIT#<key>  SK <epoch minute> -> count (ADD 1 under the condition `count < limit`),
                                             expires_at (epoch seconds, the table's TTL attribute: one minute after
                                             the window closes)
"""

from __future__ import annotations

from functools import cached_property
from typing import Any


class RateWindows:
    """At most `limit` slots per key per window, taken atomically across every caller."""

    def __init__(self, table_name: str, limit: int, *, dynamodb: Any = None) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._table_name = table_name
        self._limit = limit
        self._injected_dynamodb = dynamodb

    def __repr__(self) -> str:
        return f"RateWindows(table_name={self._table_name!r}, limit={self._limit})"

    @cached_property
    def _dynamodb(self) -> Any:
        if self._injected_dynamodb is not None:
            return self._injected_dynamodb
        import boto3  # imported late: cold starts that never build a limiter skip it

        return boto3.client("dynamodb")

    def take(self, key: str, minute: int) -> bool:
        """One slot in the window `key` of this epoch minute; False when the window is full. The item expires (TTL)
        one minute after that minute closes."""
        from botocore.exceptions import BotoCoreError, ClientError

        from posbridge.aws_errors import as_transient, error_code

        try:
            self._dynamodb.update_item(
                TableName=self._table_name,
                Key={"PK": {"S": f"RATELIMIT#{key}"}, "SK": {"S": str(minute)}},
                UpdateExpression="ADD #count :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self._limit)},
                    ":expires": {"N": str((minute + 2) * 60)},
                },
            )
            return True
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and error_code(exc) == "ConditionalCheckFailedException":
                return False
            transient = as_transient(exc)  # throttling, 5xx, no answer: another attempt later
            if transient is None:
                raise  # refused for what it is (access denied, no such table): a deployment error to see
            raise transient from exc
