"""POST /webhooks/wix: verify the Wix JWT, enqueue the order events, answer 200 fast."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge.config import WixWebhookSettings
from posbridge.flows.wix_ingest import ingest_wix_webhook
from posbridge.messaging import WorkQueue
from posbridge.wix.webhooks import WebhookRejected, load_public_key

settings = WixWebhookSettings()  # type: ignore[call-arg]  # fields come from the environment
public_key = load_public_key(settings.wix_webhook_public_key)
queue = WorkQueue(settings.work_queue_url)
logger = Logger()
app = APIGatewayRestResolver()


@app.post("/webhooks/wix")
def receive_wix_webhook() -> Response[dict[str, Any]]:
    try:
        outcome = ingest_wix_webhook(app.current_event.body or "", public_key, queue)
    except WebhookRejected as rejected:
        logger.warning("wix webhook rejected", extra={"status": rejected.status, "reason": rejected.reason})
        return Response(rejected.status, content_types.APPLICATION_JSON, {"message": rejected.reason})
    logger.info(
        "wix webhook accepted",
        extra={
            "outcome": outcome.status,
            "event_type": outcome.event_type,
            "event_id": outcome.event_id,
            "instance_id": outcome.instance_id,
        },
    )
    return Response(200, content_types.APPLICATION_JSON, {"status": outcome.status, "eventId": outcome.event_id})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
