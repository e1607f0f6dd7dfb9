"""POST /webhooks/wix: verify the Wix JWT, enqueue the order events, answer 200 fast.

Deliberately without an HTTP framework: this is the cold-start-sensitive ack path (Wix allows 1250 ms, cold start
included), and one route needs no router."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge import wiring
from posbridge.config import WixWebhookSettings
from posbridge.errors import WebhookRejected
from posbridge.flows.wix_ingest import ingest_wix_webhook
from posbridge.webhook_ack import json_response, rejected, too_large

settings = WixWebhookSettings.from_env()
wired = wiring.wix_webhook(settings)
webhooks, queue = wired.webhooks, wired.queue
logger = Logger()
# A Wix order webhook is a few KB (300 lines at most); anything near this is not Wix. Refused before any parsing.
MAX_BODY_BYTES = 1024 * 1024


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    if len(body) > MAX_BODY_BYTES:
        return rejected(logger, "wix", too_large(MAX_BODY_BYTES))
    try:
        outcome = ingest_wix_webhook(body, webhooks, queue)
    except WebhookRejected as rejection:
        return rejected(logger, "wix", rejection)
    logger.info(
        "wix webhook accepted",
        extra={
            "outcome": outcome.status,
            "event_type": outcome.event_type,
            "event_id": outcome.event_id,
            "instance_id": outcome.instance_id,
        },
    )
    return json_response(200, {"status": outcome.status, "eventId": outcome.event_id})
