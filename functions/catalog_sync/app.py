"""Flow 5: the incremental catalog sync (posbridge/flows/catalog_sync.py), from two sources.

- The catalog queue (FIFO, group = tenant + "catalog"): one POS catalog event -> one sync of that tenant, worked to a
  deadline (posbridge/work_batch.py). A transient failure (throttling, 5xx, the tenant's import holding the lock)
  sends the record back with a delay matched to the cause; a permanent one is parked in the catalog DLQ with its
  reason.
- The daily schedule (EventBridge), or an on-demand invoke `{"reconcile": true, "instanceId"?: "..."}`: the
  reconciliation, a full diff of every tenant's POS catalog against its mapping and Wix, repairing drift through the
  same path. One tenant's failure is reported and does not stop the others.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent, SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from posbridge import wiring
from posbridge.config import CatalogSyncSettings
from posbridge.deadline import Deadline
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError, TransientError, crash_fields
from posbridge.flows.catalog_reconcile import DEFERRED, reconcile_catalogs
from posbridge.flows.catalog_sync import SyncDeferred, SyncResult, sync_catalog
from posbridge.work_batch import SqsVisibility, process_batch

settings = CatalogSyncSettings.from_env()
wired = wiring.catalog_sync(settings)
links, dead_letters, ports = wired.links, wired.dead_letters, wired.ports
logger = Logger()
metrics = Metrics()
tracer = Tracer()
visibility = SqsVisibility(settings.catalog_sync_queue_url)


def _log(result: SyncResult, instance_id: str, trigger: str) -> None:
    metrics.add_metric(name=f"CatalogSyncs_{result.outcome}", unit=MetricUnit.Count, value=1)
    if result.outcome in ("synced", "partial"):
        written = max(0, sum(result.changes.values()) - len(result.errors))
        metrics.add_metric(name="CatalogEntitiesWritten", unit=MetricUnit.Count, value=written)
    logger.info(
        "catalog sync",
        extra={
            "instance_id": instance_id,
            "trigger": trigger,
            "outcome": result.outcome,
            "read": result.read,
            "changes": result.changes,
            "wix_calls": result.wix_calls,
            "wix_edits": [asdict(e) for e in result.wix_edits[:20]],
            "errors": result.errors[:20],
            "job_id": result.job_id,
            "reason": result.reason,
        },
    )


def process(record: SQSRecord) -> None:
    try:
        message = WorkMessage.model_validate_json(record.body)
        result = sync_catalog(ports, message.tenant_id)
        _log(result, message.tenant_id, message.event_type)
    except SyncDeferred as exc:
        logger.info("catalog sync deferred", extra={"reason": str(exc)})
        raise
    except TransientError:
        raise
    except (PermanentError, ValidationError) as exc:
        reason = exc.reason if isinstance(exc, PermanentError) else "invalid_message"
        error = str(exc) if isinstance(exc, PermanentError) else "invalid catalog work message"
        group = record.attributes.message_group_id or "poison"
        dead_letters.park(record.body, group, record.message_id, reason, error)
        logger.error("catalog sync parked in the DLQ", extra={"reason": reason, "error": error})
        metrics.add_metric(name="PoisonParked", unit=MetricUnit.Count, value=1)


# Seconds a tenant's full diff may still need when it starts (a large catalog); the function's timeout is 150 s.
RECONCILE_RESERVE_S = 60.0


def reconcile(instance_id: str | None, context: LambdaContext) -> dict[str, Any]:
    """Full diff of one tenant or every tenant (posbridge/flows/catalog_reconcile.py: to a deadline, in an order
    that rotates daily); per-tenant outcomes, failures and deferrals included."""
    outcomes = reconcile_catalogs(
        [instance_id] if instance_id else links.all_tenants(),
        datetime.now(UTC).date(),
        _reconcile_one,
        lambda: context.get_remaining_time_in_millis() / 1000,
        RECONCILE_RESERVE_S,
        _crashed,
    )
    deferred = sum(1 for outcome in outcomes.values() if outcome == DEFERRED)
    if deferred:
        metrics.add_metric(name="CatalogReconciliationDeferred", unit=MetricUnit.Count, value=deferred)
        logger.warning("catalog reconciliation ran out of time", extra={"deferred": deferred})
    return {"tenants": outcomes}


def _reconcile_one(tenant_id: str) -> str:
    try:
        result = sync_catalog(ports, tenant_id, full=True)
    except (TransientError, PermanentError) as exc:
        metrics.add_metric(name="CatalogSyncFailed", unit=MetricUnit.Count, value=1)
        logger.warning("catalog reconciliation failed", extra={"instance_id": tenant_id, "error": str(exc)})
        return f"failed: {type(exc).__name__}"
    _log(result, tenant_id, "reconciliation")
    return result.outcome


def _crashed(tenant_id: str, exc: Exception) -> None:
    metrics.add_metric(name="CatalogSyncFailed", unit=MetricUnit.Count, value=1)
    logger.error("catalog reconciliation crashed", extra={"instance_id": tenant_id, **crash_fields(exc)})


@tracer.capture_lambda_handler
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if "Records" in event:
        result = process_batch(list(SQSEvent(event).records), process, Deadline.from_context(context), visibility)
        for cause, count in result.causes.items():
            metrics.add_metric(name=f"CatalogSyncReturned_{cause}", unit=MetricUnit.Count, value=count)
        return result.response()
    instance_id = event.get("instanceId")
    return reconcile(instance_id if isinstance(instance_id, str) and instance_id else None, context)
