"""The baseline for cold-start ratios: a Lambda handler that imports only boto3."""

from typing import Any

import boto3

sqs = boto3.client("sqs")


def handler(event: Any, context: Any) -> dict[str, int]:
    return {"statusCode": 200}
