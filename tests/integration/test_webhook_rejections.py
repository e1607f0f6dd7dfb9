"""A refused webhook is counted by reason: the deployed ack functions print a CloudWatch EMF line for each refusal
(metric WebhooksRejected, dimensions reason + service), which CloudWatch turns into the metric the dashboard shows."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest

from devstack.app import Devstack
from devstack.wix_sandbox import sign_webhook


def _emf_lines(output: str) -> list[dict[str, Any]]:
    lines = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "_aws" in record:
            lines.append(record)
    return lines


def _rejections(output: str) -> list[tuple[str, str, float]]:
    """(service, reason, count) of each WebhooksRejected datapoint, read as CloudWatch reads an EMF line."""
    found = []
    for record in _emf_lines(output):
        for directive in record["_aws"]["CloudWatchMetrics"]:
            names = [m["Name"] for m in directive["Metrics"]]
            if "WebhooksRejected" in names:
                assert directive["Namespace"] == "Posbridge"
                assert sorted(directive["Dimensions"][0]) == ["reason", "service"]
                found += [(record["service"], record["reason"], v) for v in record["WebhooksRejected"]]
    return found


def _api_event(body: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"httpMethod": "POST", "body": body, "isBase64Encoded": False, "headers": headers or {}}


def _expired_wix_body(devstack: Devstack) -> str:
    assert devstack.wix is not None
    past = int(time.time()) - 3600
    return sign_webhook(devstack.wix.private_key_pem, "AppInstalled", "inst-x", {"appId": "a"}, iat=past, exp=past + 60)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (lambda d: "not a jwt", 400, "malformed"),
        (
            lambda d: jwt.encode(
                {"data": "{}", "iat": 1, "exp": 2}, "a forged shared secret, 32+ bytes long", algorithm="HS256"
            ),
            401,
            "bad_signature",
        ),
        (_expired_wix_body, 401, "expired"),
        (lambda d: "x" * (1024 * 1024 + 1), 413, "too_large"),
    ],
    ids=["malformed", "forged", "expired", "too-large"],
)
def test_a_refused_wix_webhook_is_counted_by_reason(
    devstack: Devstack,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    body: Any,
    status: int,
    reason: str,
) -> None:
    assert devstack.stack is not None
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    capfd.readouterr()
    # Given a request that is not a valid Wix webhook
    # When the deployed Wix webhook function handles it
    payload, error = devstack.stack.invoke("WixWebhookFunction", _api_event(body(devstack)))
    # Then it is refused with a message, and exactly one WebhooksRejected datapoint is printed for its reason
    assert error is None and payload["statusCode"] == status and json.loads(payload["body"])["message"]
    assert _rejections("".join(capfd.readouterr())) == [("posbridge-wix-webhook", reason, 1.0)]


def test_an_accepted_wix_webhook_prints_no_rejection(
    devstack: Devstack, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert devstack.stack is not None and devstack.wix is not None
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    capfd.readouterr()
    # Given a genuine Wix webhook of an event the bridge does not handle
    body = sign_webhook(devstack.wix.private_key_pem, "wix.ecom.v1.order_updated", "inst-y", {"id": "evt-ok-1"})
    # When it is handled
    payload, _ = devstack.stack.invoke("WixWebhookFunction", _api_event(body))
    # Then it is acknowledged and nothing is counted as rejected
    assert payload["statusCode"] == 200
    assert _rejections("".join(capfd.readouterr())) == []


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({}, 401, "missing_signature"),
        ({"X-Square-HmacSha256-Signature": "c2ln"}, 400, "malformed"),
    ],
    ids=["unsigned", "malformed"],
)
def test_a_refused_square_webhook_is_counted_by_reason(
    devstack: Devstack,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str],
    status: int,
    reason: str,
) -> None:
    assert devstack.stack is not None
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    capfd.readouterr()
    # Given a request that is not a valid Square notification
    # When the deployed Square webhook function handles it
    payload, error = devstack.stack.invoke("SquareWebhookFunction", _api_event("{not json", headers))
    # Then it is refused, and one WebhooksRejected datapoint is printed for its reason
    assert error is None and payload["statusCode"] == status
    assert _rejections("".join(capfd.readouterr())) == [("posbridge-square-webhook", reason, 1.0)]
