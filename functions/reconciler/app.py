"""The scheduled reconciliation (EventBridge, rate in template.yaml), or one tenant on demand.

Event: the EventBridge scheduled event (every tenant in the directory), or `{"instanceId": "..."}` (that tenant only:
the admin route POST /admin/tenants/{instanceId}/reconcile, and the devstack, which has no schedules). Answers a
summary per tenant; a tenant whose pass failed keeps its cursors and is retried by the next run. Tenants are visited
in random order, and those the time left cannot cover are left to the next run.

The scheduled run also purges the data of tenants removed longer ago than REMOVED_TENANT_RETENTION_DAYS
(posbridge/flows/lifecycle.py); `{"purge": true}` runs only that purge (the devstack's on-demand trigger).
"""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge import wiring
from posbridge.config import ReconcilerSettings, WixApiSettings
from posbridge.errors import PermanentError, TransientError, crash_fields
from posbridge.flows.lifecycle import purge_removed
from posbridge.flows.reconcile import PassResult, reconcile_tenant, reconcile_tenants
from posbridge.wix.orders_api import WixOrders

MIN_TIME_PER_TENANT_MS = 30_000

settings = ReconcilerSettings.from_env()
wired = wiring.reconciler(settings, WixApiSettings.from_env())
tenants, links, syncs, state = wired.tenants, wired.links, wired.syncs, wired.state
queue, gateways, lifecycle, wix_clients = wired.queue, wired.gateways, wired.lifecycle, wired.wix_clients
awaiting_pos = wired.awaiting_pos
logger = Logger()
metrics = Metrics()
tracer = Tracer()


def reconcile(instance_id: str) -> PassResult:
    tenant = tenants.get(instance_id)
    if tenant is None:  # installed, not yet connected to a POS: nothing to reconcile
        return PassResult(instance_id, ok=True, error="not connected to a POS yet")
    try:
        wix = WixOrders(wix_clients.for_instance(instance_id))
    except (PermanentError, TransientError) as exc:  # the app secret cannot be read
        return PassResult(instance_id, error=f"{type(exc).__name__}: {exc}")
    return reconcile_tenant(
        tenant,
        wix,
        gateways,
        syncs,
        state,
        queue,
        datetime.now(UTC),
        lookback=timedelta(minutes=settings.reconcile_lookback_minutes),
        overlap=timedelta(seconds=settings.reconcile_overlap_seconds),
        awaiting=awaiting_pos,
    )


@tracer.capture_lambda_handler
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("purge") is True:
        return {"ok": True, "purged": purge()}
    wanted = event.get("instanceId") if isinstance(event, dict) else None
    instance_ids = [str(wanted)] if wanted else links.all_tenants()
    random.shuffle(instance_ids)
    results = reconcile_tenants(
        instance_ids, reconcile, context.get_remaining_time_in_millis, MIN_TIME_PER_TENANT_MS, _crashed
    )
    for result in results:
        logger.info("reconciliation pass", extra=asdict(result))
        metrics.add_metric(name="ReconcileQueued", unit=MetricUnit.Count, value=result.wix_queued + result.pos_queued)
        if not result.ok:
            metrics.add_metric(name="ReconcileFailed", unit=MetricUnit.Count, value=1)
    answer: dict[str, Any] = {"ok": all(r.ok for r in results), "tenants": [asdict(r) for r in results]}
    if not wanted:  # the schedule
        answer["purged"] = purge()
    return answer


def _crashed(instance_id: str, exc: Exception) -> None:
    logger.error("reconciliation pass crashed", extra={"instance_id": instance_id, **crash_fields(exc)})


def purge() -> list[dict[str, Any]]:
    retention = timedelta(days=settings.removed_tenant_retention_days)
    purged = [asdict(p) for p in purge_removed(lifecycle, datetime.now(UTC), retention)]
    for result in purged:
        logger.info("removed tenant purged", extra=result)
    metrics.add_metric(name="TenantsPurged", unit=MetricUnit.Count, value=len(purged))
    return purged
