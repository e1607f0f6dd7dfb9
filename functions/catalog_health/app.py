"""Scheduled health check of catalog imports (Flow 4): a job silent past the threshold, or whose workflow ended
without finishing it, is stopped, rolled back and failed, so it never blocks the tenant's later imports."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge.config import CatalogPublishSettings
from posbridge.flows import catalog_publish as flow
from posbridge.metric import emit_metric
from posbridge.wiring import catalog_executions, catalog_publish_deps

settings = CatalogPublishSettings.from_env()
deps = catalog_publish_deps(settings)
executions = catalog_executions(settings)
logger = Logger()
tracer = Tracer()


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    healed = flow.heal_stuck_jobs(deps, executions, settings.catalog_job_stale_after_seconds)
    for job in healed:
        logger.warning("stuck catalog import healed", extra=job)
    if healed:  # each one a failed import (its execution stopped): the catalog-job-failed alarm counts them
        emit_metric("CatalogImportsHealed", len(healed))
    return {"healed": healed}
