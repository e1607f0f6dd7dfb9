"""Settings read once at cold start from the function's environment (set by template.yaml).

Logic never reads os.environ: handlers build these and pass what is needed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Json

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _https_or_loopback(url: str) -> str:
    """Tokens and app secrets travel to a partner's base URL: only over TLS, or to this machine (the devstack)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return url
    raise ValueError(f"a partner base URL must be https:// (or http:// to a loopback address), not {url!r}")


# A partner's API base URL (WixApiBaseUrl, PosApiBaseUrl in template.yaml).
PartnerBaseUrl = Annotated[str, Field(min_length=1), AfterValidator(_https_or_loopback)]


class _Settings(BaseModel):
    """Each field is read from the upper-cased environment variable of the same name.

    Plain pydantic rather than pydantic-settings: it keeps ~30 ms off the webhook ack path's cold start."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        source = os.environ if env is None else env
        return cls.model_validate({name: source[name.upper()] for name in cls.model_fields if name.upper() in source})


class PosApiSettings(_Settings):
    """Where each POS provider's API is: Square's at POS_API_BASE_URL (PosApiBaseUrl in template.yaml), any other
    provider's by its registry name in POS_API_BASE_URLS, a JSON object ({"<provider>": "https://..."}); and each
    provider's own settings in POS_PROVIDER_OPTIONS ({"<provider>": {"<name>": "<value>"}}, e.g. Clover's app id:
    the names are the adapter's, pos/<provider>/provider.py)."""

    pos_api_base_url: PartnerBaseUrl
    pos_api_base_urls: Json[dict[str, PartnerBaseUrl]] = Field(default_factory=dict)
    pos_provider_options: Json[dict[str, dict[str, str]]] = Field(default_factory=dict)

    def pos_base_urls(self) -> dict[str, str]:
        """Provider name -> API base URL, for pos/registry.py."""
        return {"square": self.pos_api_base_url, **self.pos_api_base_urls}


class WixWebhookSettings(_Settings):
    """What the Wix webhook ingest needs: the key to verify with and the queue to hand work to."""

    wix_app_id: str = Field(min_length=1)
    wix_webhook_public_key: str = Field(min_length=1)
    work_queue_url: str = Field(min_length=1)


class AdminSettings(_Settings):
    """What the admin API needs: where tenants live and where their POS credentials go."""

    mappings_table: str = Field(min_length=1)
    tenant_secret_prefix: str = Field(min_length=1)
    reconciler_function_name: str = ""  # POST /admin/tenants/{id}/reconcile runs it; empty: the route answers 501
    catalog_state_machine_arn: str = ""  # POST /admin/tenants/{id}/catalog-imports starts it; empty: 501
    work_queue_url: str = ""  # POST /admin/dead-letters/redrive sends parked messages back here; empty: 501
    dead_letter_queue_url: str = ""  # GET /admin/dead-letters lists it; empty: 501


class OrderWorkerSettings(PosApiSettings):
    """What the work-queue consumer needs to run Flow 1."""

    mappings_table: str = Field(min_length=1)
    idempotency_table: str = Field(min_length=1)
    tenant_secret_prefix: str = Field(min_length=1)
    dead_letter_queue_url: str = Field(min_length=1)
    work_queue_url: str = Field(min_length=1)  # its own queue: messages that cannot finish go back with a delay


class WixApiSettings(_Settings):
    """What a function calling the Wix REST APIs needs (posbridge.wix.client.WixClients.from_settings).

    The app secret itself is read from Secrets Manager by name, never from the environment; the mappings table also
    holds the per-instance rate-limit windows shared by every function."""

    wix_api_base_url: PartnerBaseUrl
    wix_app_id: str = Field(min_length=1)
    wix_app_secret_name: str = Field(min_length=1)
    mappings_table: str = Field(min_length=1)


class PosWebhookSettings(_Settings):
    """What a POS webhook ingest needs (functions/pos_webhook, one function per provider in template.yaml): which
    provider's webhooks it serves (the registry's name), where tenants' keys live, the queues, where the adapter keeps
    what its webhooks bring (the mappings table: Clover's handshake code)."""

    pos_provider: str = Field(min_length=1)
    mappings_table: str = Field(min_length=1)
    tenant_secret_prefix: str = Field(min_length=1)
    work_queue_url: str = Field(min_length=1)
    # The URL the provider delivers to, where it signs it (Square: SquareNotificationUrl); empty: not configured yet,
    # such a provider's webhooks are answered 503 (Square retries)
    webhook_delivery_url: str = ""
    catalog_sync_queue_url: str = ""  # POS catalog events go here (Flow 5); empty: they are answered 200 and ignored


class ReconcilerSettings(PosApiSettings):
    """What the scheduled reconciliation needs (besides WixApiSettings)."""

    mappings_table: str = Field(min_length=1)
    tenant_secret_prefix: str = Field(min_length=1)
    work_queue_url: str = Field(min_length=1)
    reconcile_lookback_minutes: int = Field(default=24 * 60, ge=1)  # how far back a tenant's first pass looks
    reconcile_overlap_seconds: int = Field(default=120, ge=0)  # each search starts this long before its cursor
    removed_tenant_retention_days: int = Field(default=30, ge=0)  # then a removed tenant's mappings are purged


class CatalogPublishSettings(WixApiSettings, PosApiSettings):
    """What the catalog publish steps and its health check need (Flow 4), besides WixApiSettings."""

    snapshot_bucket: str = Field(min_length=1)
    tenant_secret_prefix: str = Field(min_length=1)
    catalog_step_budget_seconds: float = Field(default=90.0, gt=0)  # work per invocation, then the step loops
    catalog_job_stale_after_seconds: float = Field(default=900.0, gt=0)  # the health check fails a job this silent
    catalog_state_machine_arn: str = ""  # the health check stops executions of this state machine


class CatalogSyncSettings(WixApiSettings, PosApiSettings):
    """The incremental catalog sync (Flow 5) and its scheduled reconciliation."""

    tenant_secret_prefix: str = Field(min_length=1)
    catalog_state_machine_arn: str = Field(min_length=1)  # many changes start the draft publish instead
    dead_letter_queue_url: str = Field(min_length=1)
    catalog_sync_queue_url: str = Field(min_length=1)  # its own queue: syncs that cannot finish go back with a delay
    catalog_sync_max_changes: int = Field(default=500, ge=0)  # entity writes above this: the draft publish


class PosOAuthSettings(PosApiSettings):
    """The restaurant's API (Wix-instance authenticated) and the scheduled token refresh: restaurants connecting their
    POS account through OAuth (issue 15; flows/pos_oauth.py).

    Square's application (the only provider connected through OAuth so far) is one Secrets Manager secret (JSON
    {applicationId, applicationSecret, webhookSignatureKey}), read by name, never from the environment; the Wix app
    secret verifies the signed instance the restaurant's page sends."""

    mappings_table: str = Field(min_length=1)
    tenant_secret_prefix: str = Field(min_length=1)
    square_app_secret_name: str = Field(min_length=1)
    wix_app_secret_name: str = ""  # the restaurant's API only (the refresh schedule has no page to authenticate)

    def oauth_app_secret_names(self) -> dict[str, str]:
        """Provider name -> its OAuth application's secret, for pos/registry.py PosOAuth."""
        return {"square": self.square_app_secret_name}


class RestaurantApiSettings(PosOAuthSettings):
    """The restaurant's page and its API (issue 15): besides the OAuth connection, its menu import (the catalog
    publish workflow) and its parked messages (listed and redriven for its own site only)."""

    catalog_state_machine_arn: str = ""  # empty: "Import my menu" answers 501
    work_queue_url: str = ""  # parked messages are redriven here; empty: the retry answers 501
    dead_letter_queue_url: str = ""  # empty: no parked messages are listed, the retry answers 501
