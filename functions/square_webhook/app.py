"""POST /webhooks/pos/square: verify Square's signature, enqueue the order events, answer.

Without an HTTP framework, like the Wix ack path: one route needs no router. The signature covers the raw body, so the
body is taken exactly as API Gateway passed it."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge import wiring
from posbridge.config import SquareWebhookSettings
from posbridge.errors import WebhookRejected
from posbridge.flows.pos_ingest import ingest_pos_webhook
from posbridge.pos.square.webhooks import SIGNATURE_HEADER
from posbridge.webhook_ack import json_response, rejected, too_large

# A Square order webhook is a few KB; anything near this is not Square. Refused before verifying or parsing.
MAX_BODY_BYTES = 1024 * 1024

settings = SquareWebhookSettings.from_env()
wired = wiring.square_webhook(settings)
webhooks, links, vault = wired.webhooks, wired.links, wired.vault
queue, catalog_queue = wired.queue, wired.catalog_queue
logger = Logger()


class SignatureKeys:
    """Each tenant's Square signature key, from its secret (cached by Powertools for five minutes)."""

    def signature_key(self, instance_id: str) -> str:
        return vault.pos_credentials(instance_id).webhook_signature_key.get_secret_value()


keys = SignatureKeys()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    if len(raw) > MAX_BODY_BYTES:
        return rejected(logger, "square", too_large(MAX_BODY_BYTES))
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        outcome = ingest_pos_webhook(raw, headers.get(SIGNATURE_HEADER), webhooks, links, keys, queue, catalog_queue)
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
