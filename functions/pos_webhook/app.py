"""POST /webhooks/pos/<provider>: one POS provider's webhooks verified, their order and catalog events enqueued,
answered. One function per provider in template.yaml (SquareWebhookFunction, CloverWebhookFunction), this code in
each: the provider is POS_PROVIDER, its webhook reader the registry's (ports/pos.py PosWebhooks).

What differs between providers is the reader's: the header the signature arrives in, the largest body, a handshake
the provider sends before any delivery (Clover's verification code, kept for the operator and answered 200 before
anything is verified), and how many deliveries one POST carries (Square one, signed over the body and the URL;
Clover many, of many merchants, each ingested on its own and the POST answered 200 unless every one was refused).

Without an HTTP framework, like the Wix ack path: one route needs no router. A signature covers the raw body, so the
body is taken exactly as API Gateway passed it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge import wiring
from posbridge.config import PosWebhookSettings
from posbridge.errors import WebhookRejected
from posbridge.flows.pos_ingest import IngestOutcome, ingest_pos_webhook
from posbridge.webhook_ack import WebhookKeys, header, json_response, raw_body, rejected, too_large

settings = PosWebhookSettings.from_env()
wired = wiring.pos_webhook(settings)
webhooks, links, vault = wired.webhooks, wired.links, wired.vault
queue, catalog_queue = wired.queue, wired.catalog_queue
provider = webhooks.provider
logger = Logger()
keys = WebhookKeys(vault)  # each tenant's webhook signature key (Clover: the app's Clover Auth Code)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw = raw_body(event)
    if len(raw) > webhooks.max_body_bytes:
        return rejected(logger, provider, too_large(webhooks.max_body_bytes))
    signature = header(event, webhooks.signature_header)
    try:
        handshake = webhooks.handshake(raw)
        if handshake is not None:
            logger.info("pos webhook handshake handled", extra={"provider": provider, "status": handshake})
            return json_response(200, {"status": handshake})
        pieces = webhooks.split(raw, signature)
    except WebhookRejected as rejection:
        return rejected(logger, provider, rejection)
    outcomes: list[IngestOutcome] = []
    refusal: WebhookRejected[str] | None = None
    for piece in pieces:
        try:
            outcome = ingest_pos_webhook(piece, signature, webhooks, links, keys, queue, catalog_queue)
        except WebhookRejected as rejection:
            refusal = refusal or rejection
            continue
        outcomes.append(outcome)
        logger.info(
            "pos webhook accepted",
            extra={
                "provider": provider,
                "outcome": outcome.status,
                "event_type": outcome.event_type,
                "event_id": outcome.event_id,
                "instance_id": outcome.instance_id,
                "pos_order_id": outcome.order_id,
            },
        )
    if refusal is not None and not outcomes:
        return rejected(logger, provider, refusal)
    if not webhooks.delivers_many:  # one delivery, answered with its outcome
        [outcome] = outcomes
        return json_response(200, {"status": outcome.status, "eventId": outcome.event_id})
    if refusal is not None:  # some pieces were (a merchant no tenant knows): counted, the rest kept
        rejected(logger, provider, refusal)
    queued = sum(1 for outcome in outcomes if outcome.status == "queued")
    return json_response(200, {"status": "accepted", "queued": queued, "ignored": len(outcomes) - queued})
