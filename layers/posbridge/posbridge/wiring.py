"""Every handler's dependencies, built from its settings in one place (functions/*/app.py call these at cold start).

A handler names what it uses and nothing builds an adapter anywhere else, so adding a dependency, swapping an adapter
or reading what a function talks to is one file. Built once per warm container: the clients inside keep their
connection pools and caches across invocations.

Each builder imports its adapters itself, so a handler loads only what it uses: the webhook ack paths stay as lean
at cold start as when they built their own (Wix wants its answer within 1250 ms, cold start included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from posbridge.config import (
    AdminSettings,
    CatalogPublishSettings,
    CatalogSyncSettings,
    OrderWorkerSettings,
    PosOAuthSettings,
    PosWebhookSettings,
    ReconcilerSettings,
    WixApiSettings,
    WixWebhookSettings,
)

if TYPE_CHECKING:
    from posbridge.dlq import DeadLetterQueue
    from posbridge.executions import StepFunctionsExecutions
    from posbridge.flows import catalog_publish
    from posbridge.flows.catalog_sync import SyncPorts
    from posbridge.flows.lifecycle import LifecyclePorts
    from posbridge.flows.pos_oauth import OAuthPorts
    from posbridge.flows.pos_sync import PosSyncPorts
    from posbridge.messaging import DeadLetters, WorkQueue
    from posbridge.ports.pos import PosWebhooks
    from posbridge.pos.registry import PosGateways
    from posbridge.secrets import TenantSecrets
    from posbridge.store.awaiting_pos import AwaitingPosOrders
    from posbridge.store.catalog_jobs import CatalogJobs
    from posbridge.store.catalog_lookup import CatalogLookup
    from posbridge.store.lifecycle import LifecycleStore
    from posbridge.store.order_sync import OrderSyncStore
    from posbridge.store.orders import OrderMappings
    from posbridge.store.pos_links import PosLinks
    from posbridge.store.pos_oauth import OAuthConnections
    from posbridge.store.reconcile_state import ReconcileState
    from posbridge.store.tenants import TenantStore
    from posbridge.wix.client import WixClients
    from posbridge.wix.webhooks import WixWebhookVerifier

# --- the catalog publish (Flow 4): its workflow steps and the health check ------------------------------------------


def catalog_publish_deps(settings: CatalogPublishSettings) -> catalog_publish.Deps:
    """The catalog import's ports (Flow 4): the workflow's steps and the health check that heals stuck jobs."""
    from posbridge.flows import catalog_publish
    from posbridge.pos.registry import PosCatalogs
    from posbridge.secrets import TenantSecrets
    from posbridge.store.blobs import S3Blobs
    from posbridge.store.catalog_jobs import CatalogJobs
    from posbridge.store.catalog_mappings import CatalogMappings
    from posbridge.store.catalog_sync_state import CatalogSyncState
    from posbridge.store.tenants import TenantStore
    from posbridge.wix.menus_api import MenusApis

    return catalog_publish.Deps(
        jobs=CatalogJobs(settings.mappings_table),
        blobs=S3Blobs(settings.snapshot_bucket),
        mappings=CatalogMappings(settings.mappings_table),
        tenants=TenantStore(settings.mappings_table),
        catalogs=PosCatalogs(
            settings.pos_base_urls(),
            TenantSecrets(settings.tenant_secret_prefix),
            settings.pos_provider_options,
            settings.mappings_table,
        ),
        wix=MenusApis(settings),
        cursors=CatalogSyncState(settings.mappings_table),
        budget_s=settings.catalog_step_budget_seconds,
    )


def catalog_executions(settings: CatalogPublishSettings) -> StepFunctionsExecutions:
    """The catalog publish workflow's executions (the health check stops stuck ones)."""
    from posbridge.executions import StepFunctionsExecutions

    return StepFunctionsExecutions(settings.catalog_state_machine_arn)


# --- the catalog sync (Flow 5) and its scheduled reconciliation -----------------------------------------------------


@dataclass
class CatalogSyncWiring:
    links: PosLinks
    dead_letters: DeadLetters
    ports: SyncPorts


def catalog_sync(settings: CatalogSyncSettings) -> CatalogSyncWiring:
    from posbridge.domain.catalog_job import ImportOptions
    from posbridge.executions import StepFunctionsExecutions
    from posbridge.flows.catalog_publish import start_import
    from posbridge.flows.catalog_sync import SyncPorts
    from posbridge.messaging import DeadLetters
    from posbridge.pos.registry import PosCatalogs
    from posbridge.secrets import TenantSecrets
    from posbridge.store.catalog_jobs import CatalogJobs
    from posbridge.store.catalog_mappings import CatalogMappings
    from posbridge.store.catalog_sync_state import CatalogSyncState
    from posbridge.store.pos_links import PosLinks
    from posbridge.store.tenants import TenantStore
    from posbridge.wix.menus_api import MenusApis

    tenants = TenantStore(settings.mappings_table)
    jobs = CatalogJobs(settings.mappings_table)
    executions = StepFunctionsExecutions(settings.catalog_state_machine_arn)

    def start_publish(instance_id: str) -> str:  # many changes: the draft publish instead (Flow 4)
        return start_import(tenants, jobs, executions, instance_id, ImportOptions()).job_id

    ports = SyncPorts(
        tenants=tenants,
        catalogs=PosCatalogs(
            settings.pos_base_urls(),
            TenantSecrets(settings.tenant_secret_prefix),
            settings.pos_provider_options,
            settings.mappings_table,
        ),
        mappings=CatalogMappings(settings.mappings_table),
        locks=jobs,
        state=CatalogSyncState(settings.mappings_table),
        wix=MenusApis(settings),
        start_publish=start_publish,
        max_changes=settings.catalog_sync_max_changes,
    )
    return CatalogSyncWiring(PosLinks(settings.mappings_table), DeadLetters(settings.dead_letter_queue_url), ports)


# --- the order worker (Flows 1-3, cancels, the app's lifecycle) -----------------------------------------------------


@dataclass
class OrderWorkerWiring:
    tenants: TenantStore
    mappings: OrderMappings
    gateways: PosGateways
    catalog_lookup: CatalogLookup  # the catalog mapping, read by Flows 1 and 2
    lifecycle: LifecyclePorts
    dead_letters: DeadLetters
    pos_sync: PosSyncPorts
    syncs: OrderSyncStore
    awaiting_pos: AwaitingPosOrders  # orders of sites with no POS connected yet
    oauth_connections: OAuthConnections


def order_worker(
    settings: OrderWorkerSettings, wix_settings: WixApiSettings, wix_rate_wait_s: float
) -> OrderWorkerWiring:
    from posbridge.flows.lifecycle import LifecyclePorts
    from posbridge.flows.pos_sync import PosSyncPorts
    from posbridge.messaging import DeadLetters
    from posbridge.pos.registry import PosGateways
    from posbridge.secrets import TenantSecrets
    from posbridge.store.awaiting_pos import AwaitingPosOrders
    from posbridge.store.catalog_lookup import CatalogLookup
    from posbridge.store.lifecycle import LifecycleStore
    from posbridge.store.order_sync import OrderSyncStore
    from posbridge.store.orders import OrderMappings
    from posbridge.store.pos_oauth import OAuthConnections
    from posbridge.store.reconcile_state import ReconcileState
    from posbridge.store.tenants import TenantStore
    from posbridge.wix import order_import
    from posbridge.wix.client import WixClients
    from posbridge.wix.orders_api import WixOrders
    from posbridge.wix.rate_limit import DynamoRateLimiter
    from posbridge.wix.site import SiteIdsCache

    tenants = TenantStore(settings.mappings_table)
    mappings = OrderMappings(settings.mappings_table)
    vault = TenantSecrets(settings.tenant_secret_prefix)
    gateways = PosGateways(settings.pos_base_urls(), vault, settings.pos_provider_options, settings.mappings_table)
    catalog_lookup = CatalogLookup(settings.mappings_table)
    syncs = OrderSyncStore(settings.mappings_table)
    wix_clients = WixClients(
        wix_settings.wix_api_base_url,
        wix_settings.wix_app_id,
        wix_settings.wix_app_secret_name,
        DynamoRateLimiter(wix_settings.mappings_table, max_wait_s=wix_rate_wait_s),
    )
    pos_sync = PosSyncPorts(
        tenants=tenants,
        pos=gateways,
        wix=lambda instance_id: WixOrders(wix_clients.for_instance(instance_id)),
        mappings=mappings,
        syncs=syncs,
        catalog=catalog_lookup,
        site=SiteIdsCache(ReconcileState(settings.mappings_table)),
        bridge_app_id=wix_settings.wix_app_id,
        wix_format=order_import,
    )
    return OrderWorkerWiring(
        tenants=tenants,
        mappings=mappings,
        gateways=gateways,
        catalog_lookup=catalog_lookup,
        lifecycle=LifecyclePorts(tenants, LifecycleStore(settings.mappings_table), vault),
        dead_letters=DeadLetters(settings.dead_letter_queue_url),
        pos_sync=pos_sync,
        syncs=syncs,
        awaiting_pos=AwaitingPosOrders(settings.mappings_table),
        oauth_connections=OAuthConnections(settings.mappings_table),
    )


# --- the scheduled reconciliation (Flows 1-3) and the purge of removed tenants --------------------------------------


@dataclass
class ReconcilerWiring:
    tenants: TenantStore
    links: PosLinks
    syncs: OrderSyncStore
    state: ReconcileState
    queue: WorkQueue
    gateways: PosGateways
    lifecycle: LifecyclePorts
    wix_clients: WixClients
    awaiting_pos: AwaitingPosOrders


def reconciler(settings: ReconcilerSettings, wix_settings: WixApiSettings) -> ReconcilerWiring:
    from posbridge.flows.lifecycle import LifecyclePorts
    from posbridge.messaging import WorkQueue
    from posbridge.pos.registry import PosGateways
    from posbridge.secrets import TenantSecrets
    from posbridge.store.awaiting_pos import AwaitingPosOrders
    from posbridge.store.lifecycle import LifecycleStore
    from posbridge.store.order_sync import OrderSyncStore
    from posbridge.store.pos_links import PosLinks
    from posbridge.store.reconcile_state import ReconcileState
    from posbridge.store.tenants import TenantStore
    from posbridge.wix.client import WixClients

    tenants = TenantStore(settings.mappings_table)
    vault = TenantSecrets(settings.tenant_secret_prefix)
    return ReconcilerWiring(
        tenants=tenants,
        links=PosLinks(settings.mappings_table),
        syncs=OrderSyncStore(settings.mappings_table),
        state=ReconcileState(settings.mappings_table),
        queue=WorkQueue(settings.work_queue_url),
        gateways=PosGateways(settings.pos_base_urls(), vault, settings.pos_provider_options, settings.mappings_table),
        lifecycle=LifecyclePorts(tenants, LifecycleStore(settings.mappings_table), vault),
        wix_clients=WixClients.from_settings(wix_settings),
        awaiting_pos=AwaitingPosOrders(settings.mappings_table),
    )


# --- the webhook ack paths ------------------------------------------------------------------------------------------


@dataclass
class PosWebhookWiring:
    webhooks: PosWebhooks
    links: PosLinks
    vault: TenantSecrets
    queue: WorkQueue
    catalog_queue: WorkQueue | None  # None: catalog events are answered 200 and ignored


def pos_webhook(settings: PosWebhookSettings) -> PosWebhookWiring:
    """One POS provider's webhook ingest (functions/pos_webhook): its reader from the registry, by name."""
    from posbridge.messaging import WorkQueue
    from posbridge.pos import registry
    from posbridge.secrets import TenantSecrets
    from posbridge.store.pos_links import PosLinks

    catalog_url = settings.catalog_sync_queue_url
    return PosWebhookWiring(
        webhooks=registry.webhooks(settings.pos_provider, settings.webhook_delivery_url, settings.mappings_table),
        links=PosLinks(settings.mappings_table),
        vault=TenantSecrets(settings.tenant_secret_prefix),
        queue=WorkQueue(settings.work_queue_url),
        catalog_queue=WorkQueue(catalog_url) if catalog_url else None,
    )


@dataclass
class WixWebhookWiring:
    webhooks: WixWebhookVerifier
    queue: WorkQueue


def wix_webhook(settings: WixWebhookSettings) -> WixWebhookWiring:
    from posbridge.messaging import WorkQueue
    from posbridge.wix.webhooks import WixWebhookVerifier, load_public_key

    public_key = load_public_key(settings.wix_webhook_public_key)
    return WixWebhookWiring(WixWebhookVerifier(public_key, settings.wix_app_id), WorkQueue(settings.work_queue_url))


# --- the admin API --------------------------------------------------------------------------------------------------


@dataclass
class AdminWiring:
    tenants: TenantStore
    orders: OrderMappings
    syncs: OrderSyncStore
    vault: TenantSecrets
    catalog_jobs: CatalogJobs
    catalog_runs: StepFunctionsExecutions
    lifecycle: LifecycleStore
    dead_letters: DeadLetterQueue


def admin(settings: AdminSettings) -> AdminWiring:
    from posbridge.dlq import DeadLetterQueue
    from posbridge.executions import StepFunctionsExecutions
    from posbridge.secrets import TenantSecrets
    from posbridge.store.catalog_jobs import CatalogJobs
    from posbridge.store.lifecycle import LifecycleStore
    from posbridge.store.order_sync import OrderSyncStore
    from posbridge.store.orders import OrderMappings
    from posbridge.store.tenants import TenantStore

    return AdminWiring(
        tenants=TenantStore(settings.mappings_table),
        orders=OrderMappings(settings.mappings_table),
        syncs=OrderSyncStore(settings.mappings_table),
        vault=TenantSecrets(settings.tenant_secret_prefix),
        catalog_jobs=CatalogJobs(settings.mappings_table),
        catalog_runs=StepFunctionsExecutions(settings.catalog_state_machine_arn),
        lifecycle=LifecycleStore(settings.mappings_table),
        dead_letters=DeadLetterQueue(settings.dead_letter_queue_url, settings.work_queue_url),
    )


# --- POS OAuth: the restaurant API and the token refresh schedule ----------------------------------------------------


def pos_oauth(settings: PosOAuthSettings) -> OAuthPorts:
    """The OAuth flow's ports (flows/pos_oauth.py): each provider's connector from the registry, built with its
    application's secret as it is now (Secrets Manager, cached by Powertools)."""
    from posbridge.flows.pos_oauth import OAuthPorts
    from posbridge.pos.registry import PosOAuth
    from posbridge.secrets import TenantSecrets
    from posbridge.store.pos_oauth import OAuthConnections, OAuthStates
    from posbridge.store.tenants import TenantStore

    return OAuthPorts(
        states=OAuthStates(settings.mappings_table),
        connections=OAuthConnections(settings.mappings_table),
        connectors=PosOAuth(settings.pos_base_urls(), settings.oauth_app_secret_names()),
        vault=TenantSecrets(settings.tenant_secret_prefix),
        tenants=TenantStore(settings.mappings_table),
    )
