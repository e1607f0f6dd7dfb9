"""Work-queue consumer: Flow 1 (Wix order -> POS; a Wix cancel -> POS cancel: posbridge/flows/cancel_order.py) for
queued Wix order events; Flows 2 and 3 (POS order -> Wix order, POS status -> Wix fulfillment: posbridge/flows/
pos_sync.py) for queued POS order events. Dispatch is by message source, then event type.

Per message: a transient failure (throttling, 5xx, timeout) fails the item so SQS redelivers it later (and moves it to
the DLQ after maxReceiveCount); a permanent one (validation, unknown tenant) is parked in the DLQ at once with its
reason. FIFO: after a failure the rest of that message group waits, so one order's events never overtake each other.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from posbridge import wiring
from posbridge.config import OrderWorkerSettings, WixApiSettings
from posbridge.domain.events import ORDER_CANCELED
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import EventIgnored, PermanentError
from posbridge.flows.apply_status import SyncResult
from posbridge.flows.cancel_order import CancelResult, cancel_wix_order
from posbridge.flows.export_order import ExportResult, export_wix_order
from posbridge.flows.lifecycle import (
    APP_INSTALLED,
    LIFECYCLE_EVENTS,
    app_installed,
    app_removed,
    occurred_at,
)
from posbridge.flows.pos_sync import sync_pos_order
from posbridge.messaging import IDEMPOTENCY_KEY_JMESPATH
from posbridge.store.orders import MappingConflict
from posbridge.wix import orders as wix_order_events
from posbridge.wix.client import WixApiError

WIX_RATE_WAIT_MAX_S = 15.0

settings = OrderWorkerSettings.from_env()
wix_settings = WixApiSettings.from_env()
# A full rate window is waited out only while the 30 s timeout allows; otherwise the message returns to the queue.
wired = wiring.order_worker(settings, wix_settings, WIX_RATE_WAIT_MAX_S)
tenants, mappings, gateways, catalog_lookup = wired.tenants, wired.mappings, wired.gateways, wired.catalog_lookup
lifecycle, dead_letters, pos_sync_ports = wired.lifecycle, wired.dead_letters, wired.pos_sync
logger = Logger()
metrics = Metrics()
tracer = Tracer()  # X-Ray: patches botocore and httpx, so each AWS, POS and Wix call is a subsegment
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
# Wix retries a webhook for ~47 h, far past SQS's 5-minute dedup window: remember event ids for 48 h.
idempotency = IdempotencyConfig(event_key_jmespath=IDEMPOTENCY_KEY_JMESPATH, expires_after_seconds=48 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="message", config=idempotency, persistence_store=persistence
)
def export(message: dict[str, Any]) -> dict[str, Any]:
    work = WorkMessage.model_validate(message)
    return asdict(export_wix_order(work, tenants, mappings, gateways, catalog_lookup, wix_orders=wix_order_events))


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="message", config=idempotency, persistence_store=persistence
)
def sync_pos(message: dict[str, Any]) -> dict[str, Any]:
    return asdict(sync_pos_order(WorkMessage.model_validate(message), pos_sync_ports))


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="message", config=idempotency, persistence_store=persistence
)
def cancel(message: dict[str, Any]) -> dict[str, Any]:
    return asdict(cancel_wix_order(WorkMessage.model_validate(message), tenants, mappings, gateways))


def wix_cancel_event(message: WorkMessage) -> None:
    result = CancelResult(**cancel(message=message.model_dump(mode="json")))
    logger.info("wix order cancel processed", extra=asdict(result))
    metrics.add_metric(name=f"WixCancels_{result.outcome}", unit=MetricUnit.Count, value=1)


def pos_order_event(message: WorkMessage) -> None:
    result = SyncResult(**sync_pos(message=message.model_dump(mode="json")))
    logger.info("pos order processed", extra={**asdict(result), "event_type": message.event_type})
    metrics.add_metric(name=f"PosOrders_{result.outcome}", unit=MetricUnit.Count, value=1)


def lifecycle_event(message: WorkMessage) -> None:
    """Wix AppInstalled / AppRemoved (posbridge/flows/lifecycle.py): idempotent and ordered by itself."""
    step = app_installed if message.event_type == APP_INSTALLED else app_removed
    outcome = step(message.tenant_id, lifecycle, datetime.now(UTC), occurred_at(message.payload))
    logger.info("app lifecycle event processed", extra={"outcome": outcome, "event_type": message.event_type})
    metrics.add_metric(name=f"Lifecycle_{outcome}", unit=MetricUnit.Count, value=1)


def process(record: SQSRecord) -> None:
    try:
        message = WorkMessage.model_validate_json(record.body)
        logger.append_keys(event_id=message.event_id, instance_id=message.tenant_id, entity_id=message.entity_id)
        if message.source == "wix" and message.event_type in LIFECYCLE_EVENTS:
            lifecycle_event(message)
            return
        if message.source != "wix":
            pos_order_event(message)
            return
        if message.event_type == ORDER_CANCELED:
            wix_cancel_event(message)
            return
        result = ExportResult(**export(message=message.model_dump(mode="json")))
    except EventIgnored as ignored:  # acknowledged: e.g. the tenant removed the app
        logger.info("event ignored", extra={"reason": ignored.reason})
        metrics.add_metric(name="EventsIgnored", unit=MetricUnit.Count, value=1)
        return
    except (PermanentError, MappingConflict, ValidationError) as exc:
        _park(record, exc)
        return
    logger.info(
        "wix order processed",
        extra={
            "outcome": result.outcome,
            "pos_order_id": result.pos_order_id,
            "lines": result.lines,
            "line_sources": result.line_sources,  # Wix line ids and codes only
        },
    )
    metrics.add_metric(name=f"WixOrders_{result.outcome}", unit=MetricUnit.Count, value=1)


def _park(record: SQSRecord, exc: Exception) -> None:
    reason = exc.reason if isinstance(exc, PermanentError) else type(exc).__name__
    if isinstance(exc, ValidationError):  # its text would quote the input, which may hold personal data
        error = "invalid work message: " + ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
    else:  # ids and field names only: adapters keep personal data out of their errors
        error = str(exc)
    if isinstance(exc, WixApiError):  # Wix's own error body (never our request) says what to fix
        error = f"{error}: {json.dumps(exc.body, separators=(',', ':'))}"
    group = record.attributes.message_group_id or "poison"
    dead_letters.park(record.body, group, record.message_id, reason, error)
    logger.error(
        "poison message parked in the DLQ", extra={"reason": reason, "error": error, "message_id": record.message_id}
    )
    metrics.add_metric(name="PoisonParked", unit=MetricUnit.Count, value=1)


@tracer.capture_lambda_handler
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=process, processor=processor, context=context)
