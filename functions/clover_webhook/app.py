"""POST /webhooks/pos/clover: Clover's webhooks, verified by the `X-Clover-Auth` code, their order and inventory
updates enqueued, answered.

The same ack path as Square's (functions/square_webhook): the registry's webhook reader and the ingest flow; two
things are Clover's own (pos/clover/webhooks.py):
- the verification handshake (`{"verificationCode": ...}`, no header) is kept for the operator (never logged) and
  answered 200, before anything is verified: it carries nothing to act on;
- one POST carries many updates, of many merchants: each is ingested on its own (the header is a static code, not a
  signature over the body, so every piece verifies the same). The answer is 200 unless every piece was refused.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge import wiring
from posbridge.config import CloverWebhookSettings
from posbridge.errors import WebhookRejected
from posbridge.flows.pos_ingest import ingest_pos_webhook
from posbridge.pos.clover.webhooks import AUTH_HEADER, deliveries, verification_code
from posbridge.webhook_ack import WebhookKeys, header, json_response, raw_body, rejected, too_large

# A Clover message is ids and timestamps only; anything near this is not Clover. Refused before reading.
MAX_BODY_BYTES = 256 * 1024

settings = CloverWebhookSettings.from_env()
wired = wiring.clover_webhook(settings)
webhooks, links, vault = wired.webhooks, wired.links, wired.vault
queue, catalog_queue, codes = wired.queue, wired.catalog_queue, wired.verification_codes
logger = Logger()
keys = WebhookKeys(vault)  # each tenant's Clover Auth Code


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw = raw_body(event)
    if len(raw) > MAX_BODY_BYTES:
        return rejected(logger, "clover", too_large(MAX_BODY_BYTES))
    auth = header(event, AUTH_HEADER)
    code = verification_code(raw)
    if code is not None:
        codes.record(code)
        logger.info("clover webhook verification code received and stored (CLOVERWEBHOOK/VERIFICATION)")
        return json_response(200, {"status": "verification_recorded"})
    if not auth:
        return rejected(logger, "clover", WebhookRejected(401, "missing_signature", f"missing {AUTH_HEADER}"))
    try:
        pieces = deliveries(raw)
    except ValueError as exc:
        return rejected(logger, "clover", WebhookRejected(400, "malformed", str(exc)))
    queued = ignored = 0
    refusal: WebhookRejected[str] | None = None
    for piece in pieces:
        try:
            outcome = ingest_pos_webhook(piece, auth, webhooks, links, keys, queue, catalog_queue)
        except WebhookRejected as rejection:
            refusal = refusal or rejection
            continue
        if outcome.status == "queued":
            queued += 1
        else:
            ignored += 1
        logger.info(
            "clover webhook update accepted",
            extra={
                "outcome": outcome.status,
                "event_type": outcome.event_type,
                "event_id": outcome.event_id,
                "instance_id": outcome.instance_id,
                "pos_order_id": outcome.order_id,
            },
        )
    if refusal is not None and queued + ignored == 0:
        return rejected(logger, "clover", refusal)
    if refusal is not None:  # some pieces were (a merchant no tenant knows): counted, the rest kept
        rejected(logger, "clover", refusal)
    return json_response(200, {"status": "accepted", "queued": queued, "ignored": ignored})
