"""Scheduled (EventBridge, daily): refresh every POS OAuth token as old as its provider refreshes them
(flows/pos_oauth.py refresh_due; Square: 6 days or more, as Square says refresh every 7 days or sooner, alert past 8;
developer.squareup.com/docs/oauth-api/refresh-revoke-limit-scope).

Metrics (the alarms in template.yaml): `PosTokenRefreshFailed` (a refresh the POS refused or that stayed unreachable
after the client's retries; the token stays due and the next run tries again) and `PosTokenOldestAgeDays` (the
oldest connected token after the run; alarm above 8). Logs name sites and reason codes, never a token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge import wiring
from posbridge.config import PosOAuthSettings
from posbridge.flows.pos_oauth import refresh_due

settings = PosOAuthSettings.from_env()
ports = wiring.pos_oauth(settings)
logger = Logger()
metrics = Metrics()
tracer = Tracer()


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = refresh_due(ports, datetime.now(UTC))
    metrics.add_metric(name="PosTokensRefreshed", unit=MetricUnit.Count, value=len(report.refreshed))
    metrics.add_metric(name="PosTokenRefreshFailed", unit=MetricUnit.Count, value=len(report.failed))
    metrics.add_metric(name="PosTokenOldestAgeDays", unit=MetricUnit.Count, value=report.oldest_token_age_days)
    summary = {
        "refreshed": report.refreshed,
        "failed": report.failed,
        "replaced": report.replaced,
        "oldestTokenAgeDays": report.oldest_token_age_days,
    }
    if report.failed:
        logger.error("pos token refresh failed", extra=summary)
    else:
        logger.info("pos tokens refreshed", extra=summary)
    return summary
