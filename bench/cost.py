"""The cost model: AWS usage counted on the devstack (devstack/meter.py, the runtime's invocation records, Step
Functions execution histories) priced at AWS's public list prices, us-east-1, arm64, no free tier, no savings plan.

- per 1,000 orders: from a chaos soak (bench/soak.py: Wix orders, POS orders 30% of them, status changes 20%, every
  fault of the soak included, so it is the price of a bad day, not a calm one);
- per catalog import of 1,000 items (bench/catalog.py's menu, Wix at its documented 200 requests/minute).

Prices (US East (N. Virginia), read 2026-12-06):
- Lambda, Arm: $0.0000133334 per GB-second (first 7.5 billion GB-s a month), $0.20 per 1M requests
  (https://aws.amazon.com/lambda/pricing/). Billed duration is the handler's wall time rounded up to 1 ms; init
  (cold start) time, billed since August 2025, is not counted here.
- DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read request units
  (https://aws.amazon.com/dynamodb/pricing/on-demand/, after the November 2024 price cut; also in
  https://aws.amazon.com/blogs/aws/amazon-dynamodb-on-demand-no-capacity-planning-and-pay-per-request-pricing).
- SQS FIFO: $0.50 per million requests, each 64 KB chunk of a payload one request (https://aws.amazon.com/sqs/pricing/).
- Step Functions Standard: $0.025 per 1,000 state transitions (https://aws.amazon.com/step-functions/pricing/).
- API Gateway REST: $3.50 per million requests, first 333 million a month (https://aws.amazon.com/api-gateway/pricing/).
- Secrets Manager: $0.05 per 10,000 API calls (https://aws.amazon.com/secrets-manager/pricing/); the $0.40 per secret
  and month is per tenant, not per order.
- S3 Standard: $0.005 per 1,000 PUT/COPY/POST/LIST, $0.0004 per 1,000 GET and others (https://aws.amazon.com/s3/pricing/).
- CloudWatch Logs: $0.50 per GB ingested (standard logs, https://aws.amazon.com/cloudwatch/pricing/), on the bytes the
  functions write at the template's default LogLevel (INFO) in the soak; Lambda's own START/END/REPORT lines are not
  counted, and the catalog import is measured at the bench's log level (ERROR): its log line is a lower bound.
Not priced: X-Ray traces, KMS requests, storage, data transfer, the idle cost of Lambda's SQS pollers (empty long
polls).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from bench.catalog import RATE_PER_MINUTE, run_import
from bench.stack import quiet_devstack
from devstack.app import Devstack
from devstack.meter import AwsMeter
from devstack.runtime import RUNTIME

PRICES = {
    "lambda_request": Decimal("0.20") / 1_000_000,
    "lambda_gb_s_arm": Decimal("0.0000133334"),
    "dynamodb_wru": Decimal("0.625") / 1_000_000,
    "dynamodb_rru": Decimal("0.125") / 1_000_000,
    "sqs_fifo_request": Decimal("0.50") / 1_000_000,
    "sfn_transition": Decimal("0.025") / 1_000,
    "api_rest_request": Decimal("3.50") / 1_000_000,
    "secrets_call": Decimal("0.05") / 10_000,
    "s3_write": Decimal("0.005") / 1_000,
    "s3_read": Decimal("0.0004") / 1_000,
    "logs_ingested_gb": Decimal("0.50"),
}
S3_WRITES = {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "CreateMultipartUpload"}
CATALOG_ITEMS = 1_000


def price(aws: dict[str, Any]) -> dict[str, Decimal]:
    """Dollars by line item for the usage counted in `aws` (bench/soak.py `aws_usage`)."""
    s3 = {k.split(":", 1)[1]: n for k, n in aws.get("calls", {}).items() if k.startswith("s3:")}
    s3_writes = sum(n for op, n in s3.items() if op in S3_WRITES)
    return {
        "Lambda requests": aws["lambda_invocations"] * PRICES["lambda_request"],
        "Lambda duration": Decimal(str(aws["lambda_gb_s"])) * PRICES["lambda_gb_s_arm"],
        "DynamoDB reads": Decimal(str(aws["dynamodb_read_units"])) * PRICES["dynamodb_rru"],
        "DynamoDB writes": Decimal(str(aws["dynamodb_write_units"])) * PRICES["dynamodb_wru"],
        "SQS": aws["sqs_requests"] * PRICES["sqs_fifo_request"],
        "Step Functions": aws.get("sfn_transitions", 0) * PRICES["sfn_transition"],
        "API Gateway": aws["api_requests"] * PRICES["api_rest_request"],
        "Secrets Manager": aws["secretsmanager_requests"] * PRICES["secrets_call"],
        "S3": s3_writes * PRICES["s3_write"] + (sum(s3.values()) - s3_writes) * PRICES["s3_read"],
        "CloudWatch Logs": Decimal(aws.get("log_bytes") or 0) / 2**30 * PRICES["logs_ingested_gb"],
    }


def _dollars(value: Decimal) -> str:
    return f"${value:.4f}"


def soak_cost(result: dict[str, Any]) -> dict[str, Any]:
    """Cost per 1,000 orders (Wix and POS orders together, with their status changes) of a soak's result."""
    orders = result["placed"]["wix_orders"] + result["placed"]["pos_orders"]
    scale = Decimal(1000) / Decimal(max(orders, 1))
    lines = {k: v * scale for k, v in price(result["aws"]).items()}
    total = sum(lines.values(), Decimal(0))
    biggest = sorted(lines.items(), key=lambda kv: kv[1], reverse=True)[:4]
    return {
        "per_1000_orders_usd": float(round(total, 4)),
        "lines_per_1000_orders_usd": {k: float(round(v, 5)) for k, v in lines.items()},
        "table": [
            ("cost per 1,000 orders (us-east-1, arm64)", f"{_dollars(total)}: "
             + ", ".join(f"{k} {_dollars(v)}" for k, v in biggest)),
        ],
    }  # fmt: skip


def _sfn_transitions(devstack: Devstack, since_arns: set[str]) -> int:
    """State transitions of the executions started since: each state entered is one (retries included)."""
    assert devstack.stack is not None
    sfn = devstack.stack.client("stepfunctions")
    transitions = 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            if execution["executionArn"] in since_arns:
                continue
            history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
            events = list(history["events"])
            while history.get("nextToken"):
                history = sfn.get_execution_history(
                    executionArn=execution["executionArn"], maxResults=1000, nextToken=history["nextToken"]
                )
                events += history["events"]
            transitions += sum(1 for e in events if e["type"].endswith("StateEntered"))
    return transitions


def _execution_arns(devstack: Devstack) -> set[str]:
    assert devstack.stack is not None
    sfn = devstack.stack.client("stepfunctions")
    return {
        e["executionArn"]
        for m in sfn.list_state_machines()["stateMachines"]
        for e in sfn.list_executions(stateMachineArn=m["stateMachineArn"])["executions"]
    }


def catalog_import_usage(devstack: Devstack, http: httpx.Client, items: int = CATALOG_ITEMS) -> dict[str, Any]:
    """AWS usage of one catalog import (warm functions), counted the way the soak counts it."""
    from bench.soak import aws_usage

    before_arns = _execution_arns(devstack)
    first = len(RUNTIME.invocations)
    with AwsMeter.measure() as usage:
        run_import(devstack, http, items)
    aws = aws_usage(usage, RUNTIME.invocations[first:], devstack)
    aws["sfn_transitions"] = _sfn_transitions(devstack, before_arns)
    return aws


def catalog_cost(items: int = CATALOG_ITEMS) -> dict[str, Any]:
    with quiet_devstack(60) as (devstack, http):
        http.post(f"{devstack.wix_url}/_sandbox/rate-limit", json={"perMinute": RATE_PER_MINUTE}).raise_for_status()
        run_import(devstack, http, 10)  # cold starts are not what is measured
        aws = catalog_import_usage(devstack, http, items)
    lines = price(aws)
    return {"items": items, "aws": aws, "usd": float(round(sum(lines.values(), Decimal(0)), 4)),
            "lines_usd": {k: float(round(v, 5)) for k, v in lines.items()}}  # fmt: skip


def rows(soak_orders: int = 200) -> list[dict[str, object]]:
    """`make bench`: a small soak (its faults included) and a catalog import of 1,000 items, priced."""
    from bench.soak import SoakConfig, run_soak

    soak = run_soak(SoakConfig(orders=soak_orders, max_seconds=600))
    per_order = soak_cost(soak)
    catalog = catalog_cost()
    out = [
        _row(f"AWS cost per 1,000 orders, {key} (soak of {soak_orders} Wix orders under faults)", value)
        for key, value in per_order["lines_per_1000_orders_usd"].items()
        if value
    ]
    out.append(
        _row("AWS cost per 1,000 orders, total (us-east-1, arm64, list prices)", per_order["per_1000_orders_usd"])
    )
    out += [
        _row(f"AWS cost per catalog import of {catalog['items']:,} items, {key}", value)
        for key, value in catalog["lines_usd"].items()
        if value
    ]
    out.append(_row(f"AWS cost per catalog import of {catalog['items']:,} items, total", catalog["usd"]))
    out.append(
        _row(
            f"catalog import of {catalog['items']:,} items: Step Functions state transitions",
            catalog["aws"]["sfn_transitions"],
            "n",
        )
    )
    return out


def _row(metric: str, value: float, unit: str = "USD") -> dict[str, object]:
    return {"metric": metric, "value": value, "unit": unit, "ratio": None}


if __name__ == "__main__":
    found = catalog_cost()
    print(json.dumps(found, indent=2, default=str))
