"""Settings read once at cold start from the function's environment (set by template.yaml).

Logic never reads os.environ: handlers build these and pass what is needed."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")


class WixWebhookSettings(_Settings):
    """What the Wix webhook ingest needs: the key to verify with and the queue to hand work to."""

    wix_app_id: str = Field(min_length=1)
    wix_webhook_public_key: str = Field(min_length=1)
    work_queue_url: str = Field(min_length=1)


class AdminSettings(_Settings):
    """What the admin API needs: where tenants live and where their POS credentials go."""

    mappings_table: str = Field(min_length=1)
    tenant_secret_prefix: str = Field(min_length=1)


class OrderWorkerSettings(_Settings):
    """What the work-queue consumer needs to run Flow 1."""

    mappings_table: str = Field(min_length=1)
    idempotency_table: str = Field(min_length=1)
    tenant_secret_prefix: str = Field(min_length=1)
    dead_letter_queue_url: str = Field(min_length=1)
    pos_api_base_url: str = Field(min_length=1)
