"""Scheduled health check of catalog imports (Flow 4): a job silent past the threshold, or whose workflow ended
without finishing it, is stopped, rolled back and failed, so it never blocks the tenant's later imports."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge.config import CatalogPublishSettings
from posbridge.executions import StepFunctionsExecutions
from posbridge.flows import catalog_publish as flow
from posbridge.metric import emit_metric
from posbridge.pos.catalogs import PosCatalogs
from posbridge.secrets import TenantSecrets
from posbridge.store.blobs import S3Blobs
from posbridge.store.catalog_jobs import CatalogJobs
from posbridge.store.catalog_mappings import CatalogMappings
from posbridge.store.catalog_sync_state import CatalogSyncState
from posbridge.store.tenants import TenantStore
from posbridge.wix.menus_api import MenusApis

settings = CatalogPublishSettings.from_env()
deps = flow.Deps(
    jobs=CatalogJobs(settings.mappings_table),
    blobs=S3Blobs(settings.snapshot_bucket),
    mappings=CatalogMappings(settings.mappings_table),
    tenants=TenantStore(settings.mappings_table),
    catalogs=PosCatalogs(settings.pos_api_base_url, TenantSecrets(settings.tenant_secret_prefix)),
    wix=MenusApis(settings),
    cursors=CatalogSyncState(settings.mappings_table),
)
executions = StepFunctionsExecutions(settings.catalog_state_machine_arn)
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
