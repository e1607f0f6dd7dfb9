"""Ports built from settings, for the handlers that share them (one place to add a dependency)."""

from __future__ import annotations

from posbridge.config import CatalogPublishSettings
from posbridge.flows import catalog_publish
from posbridge.pos.registry import PosCatalogs
from posbridge.secrets import TenantSecrets
from posbridge.store.blobs import S3Blobs
from posbridge.store.catalog_jobs import CatalogJobs
from posbridge.store.catalog_mappings import CatalogMappings
from posbridge.store.catalog_sync_state import CatalogSyncState
from posbridge.store.tenants import TenantStore
from posbridge.wix.menus_api import MenusApis


def catalog_publish_deps(settings: CatalogPublishSettings) -> catalog_publish.Deps:
    """The catalog import's ports (Flow 4): the workflow's steps and the health check that heals stuck jobs."""
    return catalog_publish.Deps(
        jobs=CatalogJobs(settings.mappings_table),
        blobs=S3Blobs(settings.snapshot_bucket),
        mappings=CatalogMappings(settings.mappings_table),
        tenants=TenantStore(settings.mappings_table),
        catalogs=PosCatalogs(settings.pos_base_urls(), TenantSecrets(settings.tenant_secret_prefix)),
        wix=MenusApis(settings),
        cursors=CatalogSyncState(settings.mappings_table),
        budget_s=settings.catalog_step_budget_seconds,
    )
