"""The admin API's own request and answer shapes (tenant registration and import options are domain models of their
own). Powertools validates requests against them and generates docs/openapi.json from them; camelCase on the wire."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from posbridge.domain.tenant import PosConnection

INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"  # a Wix app instance id (a UUID) or a test tenant's name
TENANTS_PAGE_MAX = 100
TENANTS_PAGE_DEFAULT = 50


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="forbid")


class RedriveRequest(_Wire):
    """POST /admin/dead-letters/redrive: which parked messages go back to the work queue; `{}` = all of them."""

    instance_id: str | None = Field(default=None, pattern=INSTANCE_ID_PATTERN, description="only this tenant's")
    reason: str | None = Field(default=None, min_length=1, max_length=100, description="only those parked for it")
    message_ids: list[str] | None = Field(
        default=None, min_length=1, max_length=100, description="only these DLQ message ids"
    )


class Problem(_Wire):
    """Every 4xx and 5xx answer carries a message for the operator; some add a machine-readable reason (a failed
    reconciliation, 502, adds its summary)."""

    model_config = ConfigDict(extra="allow")

    message: str
    reason: str | None = None
    running_job_id: str | None = Field(default=None, description="409 on a catalog import: the import running")


class FieldError(BaseModel):
    """Where the request is wrong and why; never the rejected value (a body may hold an access token)."""

    loc: list[str | int] = Field(description='e.g. ["body", "pos", "accessToken"] or ["path", "instanceId"]')
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """422: the request does not match this document (body, path or query parameter); nothing was stored."""

    message: str
    detail: list[FieldError]


class TenantSummary(_Wire):
    instance_id: str
    status: Literal["active", "paused", "removed", "pending"] = Field(
        description="pending: the Wix app is installed, the POS not yet connected (PUT /admin/tenants/{instanceId})"
    )
    pos: PosConnection | None
    created_at: str | None
    removed_at: str | None


class TenantPage(_Wire):
    tenants: list[TenantSummary] = Field(description="in instance id order; a page may hold fewer than `limit`")
    next_token: str | None = Field(description="pass it as `nextToken` for the next page; null on the last page")


class ParkedMessage(_Wire):
    """A message parked in the DLQ: ids and the reason only, never the payload (it may hold personal data)."""

    message_id: str
    tenant_id: str | None
    source: str | None
    event_type: str | None
    event_id: str | None
    entity_id: str | None
    reason: str
    error: str
    parked_at: str | None
    receive_count: int

    def view(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class DeadLetters(_Wire):
    messages: list[ParkedMessage]
    count: int


class Redriven(_Wire):
    redriven: list[ParkedMessage]
    count: int
