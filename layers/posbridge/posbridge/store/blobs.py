"""JSON documents in the snapshot bucket (catalog snapshots, plans, journals): the only place that touches S3."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

import boto3
from botocore.exceptions import ClientError


class S3Blobs:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def __repr__(self) -> str:
        return f"S3Blobs(bucket={self._bucket!r})"

    @cached_property
    def _s3(self) -> Any:
        return boto3.client("s3")

    def put_json(self, key: str, value: Any) -> None:
        body = json.dumps(value, separators=(",", ":"), default=str).encode()
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")

    def get_json(self, key: str) -> Any | None:
        """The document, or None when there is none under `key`."""
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return json.loads(answer["Body"].read())

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        return sorted(keys)
