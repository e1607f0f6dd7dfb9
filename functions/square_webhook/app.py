"""POST /webhooks/pos/square: verify Square's signature, enqueue the order events, answer.

Without an HTTP framework, like the Wix ack path: one route needs no router. The signature covers the raw body, so the
body is taken exactly as API Gateway passed it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge import wiring
from posbridge.config import SquareWebhookSettings
from posbridge.errors import WebhookRejected
from posbridge.flows.pos_ingest import ingest_pos_webhook
from posbridge.pos.square.webhooks import SIGNATURE_HEADER
from posbridge.webhook_ack import WebhookKeys, header, json_response, raw_body, rejected, too_large

# A Square order webhook is a few KB; anything near this is not Square. Refused before verifying or parsing.
MAX_BODY_BYTES = 1024 * 1024

settings = SquareWebhookSettings.from_env()
wired = wiring.square_webhook(settings)
webhooks, links, vault = wired.webhooks, wired.links, wired.vault
queue, catalog_queue = wired.queue, wired.catalog_queue
logger = Logger()
keys = WebhookKeys(vault)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw = raw_body(event)
    if len(raw) > MAX_BODY_BYTES:
        return rejected(logger, "square", too_large(MAX_BODY_BYTES))
    try:
        outcome = ingest_pos_webhook(raw, header(event, SIGNATURE_HEADER), webhooks, links, keys, queue, catalog_queue)
    except WebhookRejected as rejection:
        return rejected(logger, "square", rejection)
    logger.info(
        "square webhook accepted",
        extra={
            "outcome": outcome.status,
            "event_type": outcome.event_type,
            "event_id": outcome.event_id,
            "instance_id": outcome.instance_id,
            "pos_order_id": outcome.order_id,
        },
    )
    return json_response(200, {"status": outcome.status, "eventId": outcome.event_id})
