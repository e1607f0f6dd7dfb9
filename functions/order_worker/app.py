"""Work-queue consumer: Flow 1 (Wix order -> POS; a Wix cancel -> POS cancel: posbridge/flows/cancel_order.py) for
queued Wix order events; Flows 2 and 3 (POS order -> Wix order, POS status -> Wix fulfillment: posbridge/flows/
pos_sync.py) for queued POS order events. Dispatch is by message source, then event type.

The batch is worked to a deadline from the invocation's remaining time (posbridge/work_batch.py): a message that
cannot finish (rate limit full, partner down, time up) goes back to the queue with a visibility delay matched to the
cause, the messages finished before it are kept, and a partner outage waits in the queue instead of draining into the
DLQ. A permanent failure (validation, unknown tenant) is parked in the DLQ at once with its reason. FIFO: after a
failure the rest of that message group waits, so one order's events never overtake each other. An order of a
site with no POS connected yet is not parked: only its id is kept until the connection (flows/export_order.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent, SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from posbridge import wiring
from posbridge.config import OrderWorkerSettings, WixApiSettings
from posbridge.deadline import Deadline
from posbridge.domain.events import ORDER_CANCELED, ORDER_PAYMENT_STATUS_UPDATED, POS_ACCESS_REVOKED
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
from posbridge.flows.pos_oauth import authorization_revoked
from posbridge.flows.pos_sync import sync_pos_order
from posbridge.messaging import IDEMPOTENCY_KEY_JMESPATH
from posbridge.store.orders import MappingConflict
from posbridge.wix import orders as wix_order_events
from posbridge.wix.errors import WixApiError
from posbridge.work_batch import SqsVisibility, process_batch

WIX_RATE_WAIT_MAX_S = 15.0  # and never past the deadline: a longer wait is the queue's (RateLimited, next window)

settings = OrderWorkerSettings.from_env()
wix_settings = WixApiSettings.from_env()
# A full rate window is waited out only while the deadline allows; otherwise the message returns to the queue until
# the next window opens.
wired = wiring.order_worker(settings, wix_settings, WIX_RATE_WAIT_MAX_S)
tenants, mappings, gateways, catalog_lookup = wired.tenants, wired.mappings, wired.gateways, wired.catalog_lookup
lifecycle, dead_letters, pos_sync_ports = wired.lifecycle, wired.dead_letters, wired.pos_sync
syncs, awaiting_pos, oauth_connections = wired.syncs, wired.awaiting_pos, wired.oauth_connections
logger = Logger()
metrics = Metrics()
tracer = Tracer()  # X-Ray: patches botocore and httpx, so each AWS, POS and Wix call is a subsegment
visibility = SqsVisibility(settings.work_queue_url)
# Wix retries a webhook for ~47 h, far past SQS's 5-minute dedup window: remember event ids for 48 h.
idempotency = IdempotencyConfig(event_key_jmespath=IDEMPOTENCY_KEY_JMESPATH, expires_after_seconds=48 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="message", config=idempotency, persistence_store=persistence
)
def export(message: dict[str, Any]) -> dict[str, Any]:
    work = WorkMessage.model_validate(message)
    return asdict(
        export_wix_order(work, tenants, mappings, gateways, catalog_lookup, awaiting_pos, wix_orders=wix_order_events)
    )


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="message", config=idempotency, persistence_store=persistence
)
def sync_pos(message: dict[str, Any]) -> dict[str, Any]:
    return asdict(sync_pos_order(WorkMessage.model_validate(message), pos_sync_ports))


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="message", config=idempotency, persistence_store=persistence
)
def cancel(message: dict[str, Any]) -> dict[str, Any]:
    work = WorkMessage.model_validate(message)
    return asdict(cancel_wix_order(work, tenants, mappings, gateways, wix_orders=wix_order_events))


def wix_cancel_event(message: WorkMessage) -> None:
    """A Wix cancel or payment status change (refunds): ids, outcome and amounts only in the log line."""
    result = CancelResult(**cancel(message=message.model_dump(mode="json")))
    logger.info("wix order cancel processed", extra={**asdict(result), "event_type": message.event_type})
    metrics.add_metric(name=f"WixCancels_{result.outcome}", unit=MetricUnit.Count, value=1)
    if result.outcome in ("partial_refund_recorded", "partial_refund_not_exported"):
        # a partial refund on Wix is not applied on the POS: operators see it (the order mapping, this metric)
        metrics.add_metric(name="WixPartialRefunds", unit=MetricUnit.Count, value=1)
    if result.pos_refund_unsupported:  # the POS cannot refund through its API (Clover): an operator refunds at the till
        metrics.add_metric(name="PosRefundsNotSupported", unit=MetricUnit.Count, value=1)


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


def oauth_revoked_event(message: WorkMessage) -> None:
    """A POS's access-revoked notice (Square's oauth.authorization.revoked): every site connected through that
    merchant is paused with the reason."""
    merchant_id, revoker = str(message.payload.get("merchant_id")), str(message.payload.get("revoker_type"))
    provider = message.source
    paused = authorization_revoked(provider, merchant_id, revoker, oauth_connections, tenants, datetime.now(UTC))
    logger.warning("pos authorization revoked", extra={"provider": provider, "paused": paused, "revoker_type": revoker})
    metrics.add_metric(name="PosAuthorizationRevoked", unit=MetricUnit.Count, value=1)  # the template's alarm


def process(record: SQSRecord) -> None:
    try:
        message = WorkMessage.model_validate_json(record.body)
        logger.append_keys(event_id=message.event_id, instance_id=message.tenant_id, entity_id=message.entity_id)
        if message.source == "wix" and message.event_type in LIFECYCLE_EVENTS:
            lifecycle_event(message)
            return
        if message.source != "wix" and message.event_type == POS_ACCESS_REVOKED:
            oauth_revoked_event(message)
            return
        if message.source != "wix":
            pos_order_event(message)
            return
        if message.event_type in (ORDER_CANCELED, ORDER_PAYMENT_STATUS_UPDATED):
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
    _record_parked_order(record.body, reason)
    dead_letters.park(record.body, group, record.message_id, reason, error)
    logger.error(
        "poison message parked in the DLQ", extra={"reason": reason, "error": error, "message_id": record.message_id}
    )
    metrics.add_metric(name="PoisonParked", unit=MetricUnit.Count, value=1)


def _record_parked_order(body: str, reason: str) -> None:
    """Tell the reconciliation the order's work is parked (its cursor may pass it: the DLQ alarm and the redrive take
    it from here), before parking, so a failure in between parks it twice rather than not at all."""
    try:
        message = WorkMessage.model_validate_json(body)
    except ValidationError:
        return  # not an order the reconciliation could name
    if message.source == "wix" and message.event_type in LIFECYCLE_EVENTS:
        return
    syncs.record_parked(message.tenant_id, "WIX" if message.source == "wix" else "POS", message.entity_id, reason)


@tracer.capture_lambda_handler
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    records = list(SQSEvent(event).records)
    result = process_batch(records, process, Deadline.from_context(context), visibility)
    for cause, count in result.causes.items():
        metrics.add_metric(name=f"WorkReturned_{cause}", unit=MetricUnit.Count, value=count)
    return result.response()
