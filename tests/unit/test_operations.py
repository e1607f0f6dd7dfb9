"""The template watches what operators must know about, and tells them through one SNS topic."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from devstack.app import TEMPLATE
from devstack.template import load_sam


@cache
def _alarms() -> dict[str, dict[str, Any]]:
    resources = load_sam(TEMPLATE)["Resources"]
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _metrics(alarm: dict[str, Any]) -> set[str]:
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm.get("Metrics", []) if "MetricStat" in m}


def test_each_operational_signal_has_an_alarm() -> None:
    watched = set().union(*(_metrics(a) for a in _alarms().values()))
    assert {"ApproximateNumberOfMessagesVisible", "Errors", "Throttles", "Latency"} <= watched


def test_every_alarm_notifies_the_alarm_topic() -> None:
    assert _alarms()
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in _alarms().values())


def test_the_dlq_alarm_fires_on_the_first_parked_message() -> None:
    dlq = next(a for a in _alarms().values() if a.get("MetricName") == "ApproximateNumberOfMessagesVisible")
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"]}
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_the_slow_ack_alarm_is_below_wixs_timeout() -> None:
    latency = next(a for a in _alarms().values() if a.get("MetricName") == "Latency")
    assert latency["ExtendedStatistic"] == "p99" and latency["Threshold"] < 1250


def _watched(alarm: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric, what it is about: the first dimension's value as the template writes it) of each metric."""

    def about(dimensions: list[dict[str, Any]]) -> str:
        value = dimensions[0]["Value"]
        if isinstance(value, str):
            return value
        return str(value.get("Ref") or value.get("Fn::Sub") or value["Fn::GetAtt"][0])

    if "MetricName" in alarm:
        return {(alarm["Namespace"], alarm["MetricName"], about(alarm["Dimensions"]))}
    stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    return {(s["Metric"]["Namespace"], s["Metric"]["MetricName"], about(s["Metric"]["Dimensions"])) for s in stats}


# The issue's alarm list, as (alarm, what it must watch, threshold): every one "above 0" but the ack latency.
EXPECTED_ALARMS = [
    ("DeadLetterQueueNotEmptyAlarm", {("AWS/SQS", "ApproximateNumberOfMessagesVisible", "WorkDeadLetterQueue")}, 0),
    (
        "CatalogDeadLetterQueueNotEmptyAlarm",
        {("AWS/SQS", "ApproximateNumberOfMessagesVisible", "CatalogSyncDeadLetterQueue")},
        0,
    ),
    ("WixWebhookErrorsAlarm", {("AWS/Lambda", "Errors", "WixWebhookFunction")}, 0),
    ("OrderWorkerErrorsAlarm", {("AWS/Lambda", "Errors", "OrderWorkerFunction")}, 0),
    (
        "FunctionErrorsAlarm",
        {
            ("AWS/Lambda", "Errors", f)
            for f in (
                "SquareWebhookFunction",
                "CatalogSyncFunction",
                "ReconcilerFunction",
                "CatalogHealthFunction",
                "AdminFunction",
                "RestaurantApiFunction",
                "PosTokenRefreshFunction",
            )
        },
        0,
    ),
    (
        "ThrottlesAlarm",
        {
            ("AWS/Lambda", "Throttles", f)
            for f in ("WixWebhookFunction", "SquareWebhookFunction", "OrderWorkerFunction", "CatalogSyncFunction")
        },
        0,
    ),
    (
        "CatalogJobFailedAlarm",
        {
            ("AWS/States", "ExecutionsFailed", "CatalogPublishStateMachine"),
            ("AWS/States", "ExecutionsTimedOut", "CatalogPublishStateMachine"),
            ("Posbridge", "CatalogImportsHealed", "posbridge-catalog-health"),
            ("Posbridge", "CatalogSyncFailed", "posbridge-catalog-sync"),
        },
        0,
    ),
    ("SlowWixAckAlarm", {("AWS/ApiGateway", "Latency", "${AWS::StackName}-api")}, 1000),
    # Issue 15: a POS OAuth refresh failed, a token is past 8 days (Square's line), or an authorization was revoked
    (
        "PosTokenAlarm",
        {
            ("Posbridge", "PosTokenRefreshFailed", "posbridge-pos-tokens"),
            ("Posbridge", "PosTokenOldestAgeDays", "posbridge-pos-tokens"),
            ("Posbridge", "PosAuthorizationRevoked", "posbridge-order-worker"),
        },
        0,
    ),
]


@pytest.mark.parametrize(("name", "metrics", "threshold"), EXPECTED_ALARMS, ids=[a[0] for a in EXPECTED_ALARMS])
def test_each_alarm_of_the_issue_watches_its_metrics_and_notifies_the_topic(
    name: str, metrics: set[tuple[str, str, str]], threshold: int
) -> None:
    # Given the alarm in the template
    alarm = _alarms()[name]
    # Then it watches exactly those metrics, fires above its threshold and notifies the alarm topic
    assert _watched(alarm) == metrics
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (threshold, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize("name", [a[0] for a in EXPECTED_ALARMS if "Metrics" in _alarms()[a[0]]])
def test_a_metric_math_alarm_sums_every_metric_it_reads_and_a_missing_one_counts_as_zero(name: str) -> None:
    # Given an alarm over several metrics (most of them report nothing in a quiet period)
    queries = _alarms()[name]["Metrics"]
    [total] = [q for q in queries if q.get("ReturnData")]
    ids = {q["Id"] for q in queries if "MetricStat" in q}
    # Then its expression adds them all, each FILLed with 0 (else one silent metric would blank the sum)
    assert set(re.findall(r"FILL\((\w+), 0\)", total["Expression"])) == ids
    assert len(ids) <= 10  # CloudWatch's hard limit for a metric math alarm


def test_the_dashboard_is_valid_json_and_shows_the_issues_metrics() -> None:
    # Given the dashboard body with its substitutions filled in
    body = load_sam(TEMPLATE)["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    text = re.sub(r"\$\{[^}]+\}", "x", body)
    widgets = json.loads(text)["widgets"]
    # Then it graphs each metric of the issue: orders exported/imported, statuses applied, rejections by reason, DLQ
    # parked, catalog entities written and publish duration
    for metric in (
        "WixOrders_exported",
        "PosOrders_imported",
        "PosOrders_status_applied",
        "WebhooksRejected",
        "PoisonParked",
        "CatalogEntitiesWritten",
        "PublishDuration",
        "ExecutionsFailed",
    ):
        assert metric in text, metric
    assert len(widgets) >= 8


def test_cloudwatch_alarms_may_use_the_alarm_topics_key() -> None:
    # Given the template's alarm topic
    resources = load_sam(TEMPLATE)["Resources"]
    key_ref = resources["AlarmTopic"]["Properties"].get("KmsMasterKeyId")

    # Then it is encrypted with a key of the stack (an AWS managed key's policy cannot admit CloudWatch) ...
    assert isinstance(key_ref, dict) and "Ref" in key_ref, f"the alarm topic uses {key_ref!r}"
    key = resources[key_ref["Ref"]]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True

    # ... whose policy lets CloudWatch alarms of this account encrypt what they publish
    grants = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Effect"] == "Allow" and s["Principal"].get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert grants and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(grants[0]["Action"])
    assert grants[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
