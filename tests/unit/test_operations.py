"""The template watches what operators must know about, and tells them through one SNS topic."""

from __future__ import annotations

from typing import Any

from devstack.app import TEMPLATE
from devstack.template import load_sam


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
