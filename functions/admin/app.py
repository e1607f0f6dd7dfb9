"""Admin API: connect a Wix site to its POS and read it back (IAM-authorized in AWS, open on the devstack).

Requests are validated by Powertools against the pydantic models and annotated parameters below, which also make the
OpenAPI document (docs/openapi.json, `make openapi`). Path parameters are named as in template.yaml. A request that does
not match the document (body, path or query) is answered 422 with `message` and `detail` (where and why, never the
rejected value); a body that is not JSON content is 415, one over 64 KB 413. Every other 4xx/5xx carries `message`.
That HTTP plumbing (the gate before routing, the 422s, the answers the routes declare) is posbridge.admin_http;
this module is the routes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from posbridge import wiring
from posbridge.admin_http import NOT_JSON, Refusal, answer, gate, invalid_request, known_query_only, problems
from posbridge.config import AdminSettings
from posbridge.domain.admin import (
    INSTANCE_ID_PATTERN,
    TENANTS_PAGE_DEFAULT,
    TENANTS_PAGE_MAX,
    DeadLetters,
    Redriven,
    RedriveRequest,
    TenantPage,
    TenantSummary,
)
from posbridge.domain.catalog_job import JOB_ID, ImportAlreadyRunning, ImportOptions
from posbridge.domain.tenant import PosRegistration, Tenant, TenantRegistration
from posbridge.errors import PermanentError, TransientError
from posbridge.flows.catalog_publish import start_import
from posbridge.flows.lifecycle import NotAllowed, set_paused
from posbridge.flows.tenants import register_tenant
from posbridge.pos.registry import RegisteredProvider
from posbridge.store.lifecycle import Listed
from posbridge.store.pos_links import PosLocationTaken

settings = AdminSettings.from_env()
wired = wiring.admin(settings)
tenants, orders, syncs, vault = wired.tenants, wired.orders, wired.syncs, wired.vault
catalog_jobs, catalog_runs, lifecycle, dead_letters = (
    wired.catalog_jobs,
    wired.catalog_runs,
    wired.lifecycle,
    wired.dead_letters,
)
logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)
app.use(middlewares=[known_query_only])
app.exception_handler(RequestValidationError)(invalid_request)

# Path and query parameters, named as in template.yaml (the deployed API and the OpenAPI document must agree).
InstanceId = Annotated[
    str,
    Path(pattern=INSTANCE_ID_PATTERN, description="the tenant: its Wix app instance id (1-64 letters, digits, '-')"),
]
WixOrderId = Annotated[str, Path(min_length=1, max_length=200, description="a Wix order id")]
PosOrderId = Annotated[str, Path(min_length=1, max_length=200, description="a POS (Square) order id")]
JobId = Annotated[str, Path(pattern=JOB_ID.pattern, description="a catalog import's id (its execution name)")]
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,120}$")


@app.exception_handler([PosLocationTaken, NotAllowed])  # type: ignore[untyped-decorator]
def conflict(exc: PosLocationTaken | NotAllowed) -> Response[dict[str, Any]]:
    """409: the POS location is another site's, or the tenant cannot take this transition."""
    return _json(409, {"message": str(exc)})


class PosRegistrationRequest(PosRegistration):
    """The `pos` object of PUT /admin/tenants/{instanceId}: a provider posbridge has an adapter for."""

    provider: RegisteredProvider


class TenantRegistrationRequest(TenantRegistration):
    pos: PosRegistrationRequest


TenantRegistrationRequest.model_rebuild()  # the annotations are strings here: resolve them while this module is whole


@app.put(
    "/admin/tenants/<instanceId>",
    responses={
        200: answer("the tenant was updated (credentials: a new secret version)", Tenant),
        201: answer("the tenant was created", Tenant),
        **problems(
            e404="a path this API does not route (an instance id with characters no id has)",
            e409="the POS location is already connected to another Wix site",
            e415=NOT_JSON,
        ),
    },
)
def put_tenant(
    instanceId: InstanceId, registration: Annotated[TenantRegistrationRequest, Body()]
) -> Response[dict[str, Any]]:
    """Connect a Wix site to its POS (or update it); the POS credentials go to Secrets Manager, never to the table."""
    tenant, created = register_tenant(instanceId, registration, tenants, vault)
    logger.info("tenant registered", extra={"instance_id": instanceId, "new_tenant": created})
    return _json(201 if created else 200, tenant.model_dump(mode="json", by_alias=True))


@app.get(
    "/admin/tenants/<instanceId>",
    responses={200: answer("the tenant, without its credentials", Tenant), **problems(e404="not registered")},
)
def get_tenant(instanceId: InstanceId) -> Response[dict[str, Any]]:
    tenant = tenants.get(instanceId)
    if tenant is None:
        return _not_registered(instanceId)
    return _json(200, tenant.model_dump(mode="json", by_alias=True))


@app.get(
    "/admin/tenants/<instanceId>/orders/<wixOrderId>",
    responses={
        200: answer("`exported` (online order) or `imported` (rung up on the POS) with the mapping, or `skipped`"),
        **problems(e404="this tenant has no mapping of that order"),
    },
)
def get_order_mapping(instanceId: InstanceId, wixOrderId: WixOrderId) -> Response[dict[str, Any]]:
    mapping = orders.by_wix_order(instanceId, wixOrderId)
    if mapping is not None:
        status = "exported" if mapping.origin == "wix" else "imported"  # online order, or rung up on the POS
        return _json(200, {"status": status, **mapping.model_dump(mode="json", by_alias=True)})
    skipped = orders.skip_reason(instanceId, wixOrderId)
    if skipped is not None:
        return _json(200, {"status": "skipped", "wixOrderId": wixOrderId, "reason": skipped})
    return _json(404, {"message": f"order {wixOrderId} of tenant {instanceId} has no mapping"})


@app.get(
    "/admin/tenants/<instanceId>/pos-orders/<posOrderId>",
    responses={
        200: answer("`mapped` (Wix order, fulfillment, status applied, stale updates dropped) or `skipped`"),
        **problems(e404="this tenant has no mapping of that POS order"),
    },
)
def get_pos_order(instanceId: InstanceId, posOrderId: PosOrderId) -> Response[dict[str, Any]]:
    """Flows 2 and 3 for one POS order: its Wix order, the Wix status last applied, stale updates dropped."""
    mapping = orders.by_pos_order(instanceId, posOrderId)
    sync = syncs.get(instanceId, posOrderId)
    if mapping is None and sync is None:
        skipped = syncs.skip_reason(instanceId, posOrderId)
        if skipped is not None:
            return _json(200, {"status": "skipped", "posOrderId": posOrderId, "reason": skipped})
        return _json(404, {"message": f"POS order {posOrderId} of tenant {instanceId} has no mapping"})
    body: dict[str, Any] = {"status": "mapped", "posOrderId": posOrderId}
    if mapping is not None:
        body |= {"wixOrderId": mapping.wix_order_id, "origin": mapping.origin, "lines": mapping.lines}
    if sync is not None:
        body |= {
            "wixOrderId": sync.wix_order_id,
            "wixFulfillmentId": sync.wix_fulfillment_id,
            "wixStatus": sync.wix_status,
            "wixCanceled": sync.wix_canceled,
            "appliedVersion": sync.position.version,
            "appliedUpdatedAt": sync.position.updated_at.isoformat(),
            "staleDropped": sync.stale_dropped,
        }
    return _json(200, body)


@app.post(
    "/admin/tenants/<instanceId>/reconcile",
    responses={
        200: answer("the pass: queued events per side, whether the cursors advanced"),
        **problems(e404="not registered", e501="no reconciler is configured", e502="the pass failed"),
    },
)
def reconcile(instanceId: InstanceId) -> Response[dict[str, Any]]:
    """Run the reconciliation for this tenant now (the schedule runs it for every tenant); answers its summary."""
    if tenants.get(instanceId) is None:
        return _not_registered(instanceId)
    if not settings.reconciler_function_name:
        return _json(501, {"message": "no reconciler function is configured"})
    invoked = _lambda().invoke(
        FunctionName=settings.reconciler_function_name, Payload=json.dumps({"instanceId": instanceId}).encode()
    )
    payload = json.loads(invoked["Payload"].read() or b"null")
    if invoked.get("FunctionError") or not isinstance(payload, dict):
        logger.error("reconciler failed", extra={"instance_id": instanceId, "error": invoked.get("FunctionError")})
        return _json(502, {"message": "the reconciliation failed; see the reconciler's logs"})
    [result] = payload.get("tenants") or [{}]
    if not payload.get("ok"):
        return _json(502, {"message": "the reconciliation failed; its summary says where", **result})
    return _json(200, result)


@app.post(
    "/admin/tenants/<instanceId>/catalog-imports",
    responses={
        202: answer("started: the job (`jobId` = execution name) and `links.self` to follow it"),
        **problems(
            e404="not registered",
            e409="an import of this tenant is running (`runningJobId`), or the tenant cannot import now",
            e415=NOT_JSON,
            e501="no catalog publish workflow is configured",
            e503="the workflow could not be started; try again",
        ),
    },
)
def start_catalog_import(
    instanceId: InstanceId, options: Annotated[ImportOptions | None, Body()] = None
) -> Response[dict[str, Any]]:
    """Start the catalog publish (Flow 4) for this tenant; the body (optional) chooses per-import options."""
    if not settings.catalog_state_machine_arn:
        return _json(501, {"message": "no catalog publish workflow is configured"})
    try:
        job = start_import(tenants, catalog_jobs, catalog_runs, instanceId, options or ImportOptions())
    except ImportAlreadyRunning as exc:
        return _json(409, {"message": str(exc), "runningJobId": exc.running_job_id})
    except PermanentError as exc:
        return _json(404 if exc.reason == "unknown_tenant" else 409, {"message": str(exc), "reason": exc.reason})
    except TransientError as exc:
        return _json(503, {"message": str(exc)})
    logger.info("catalog import started", extra={"instance_id": instanceId, "job_id": job.job_id})
    self_link = f"/admin/tenants/{instanceId}/catalog-imports/{job.job_id}"
    return _json(202, {**job.view(), "links": {"self": self_link}})


@app.get(
    "/admin/tenants/<instanceId>/catalog-imports/<jobId>",
    responses={
        200: answer("status, step, done/total (and per kind), errors per entity, warnings, reason, heartbeat"),
        **problems(e404="this tenant has no such import"),
    },
)
def get_catalog_import(instanceId: InstanceId, jobId: JobId) -> Response[dict[str, Any]]:
    """A catalog import of this tenant: another tenant's job is answered as if it did not exist."""
    job = catalog_jobs.get(jobId)
    if job is None or job.instance_id != instanceId:
        return _json(404, {"message": f"catalog import {jobId} of tenant {instanceId} does not exist"})
    return _json(200, job.view())


@app.get("/admin/tenants", responses={200: answer("one page of tenants", TenantPage), **problems()})
def list_tenants(
    limit: Annotated[int, Query(ge=1, le=TENANTS_PAGE_MAX, description="tenants per page")] = TENANTS_PAGE_DEFAULT,
    nextToken: Annotated[
        str | None, Query(pattern=_TOKEN.pattern, description="from the previous page: the page after it")
    ] = None,
) -> Response[dict[str, Any]]:
    """Every known restaurant, a page at a time: connected (active / paused), removed, or installed and awaiting its
    POS (pending). One Query and one BatchGetItem per page."""
    page = lifecycle.directory_page(limit, _after(nextToken))
    rows = [row for entry in page.entries if (row := _summary(entry)) is not None]
    token = None if page.last is None else base64.urlsafe_b64encode(page.last.encode()).decode().rstrip("=")
    return _json(200, TenantPage(tenants=rows, next_token=token).model_dump(mode="json", by_alias=True))


def _after(token: str | None) -> str | None:
    """The instance id a nextToken continues after; a token this API did not give out is a 422."""
    if token is None:
        return None
    try:
        after = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        after = ""
    if not re.match(INSTANCE_ID_PATTERN, after):
        error = {"type": "value_error", "loc": ("query", "nextToken"), "msg": "not a token this API gave out"}
        raise RequestValidationError([error])
    return after


def _summary(entry: Listed) -> TenantSummary | None:
    if entry.tenant is not None:
        t = entry.tenant
        return TenantSummary(
            instance_id=t.instance_id, status=t.status, pos=t.pos, created_at=t.created_at, removed_at=t.removed_at
        )
    if entry.installation is not None:
        i = entry.installation
        status: Literal["pending", "removed"] = "pending" if i.status == "installed" else "removed"
        return TenantSummary(
            instance_id=entry.instance_id, status=status, pos=None, created_at=i.installed_at, removed_at=i.removed_at
        )
    return None  # a directory entry whose records are gone (purged meanwhile)


@app.post(
    "/admin/tenants/<instanceId>/pause",
    responses={200: answer("the tenant, paused", Tenant), **problems(e404="not registered", e409="removed")},
)
def pause_tenant(instanceId: InstanceId) -> Response[dict[str, Any]]:
    """Pause a tenant: its events are parked in the DLQ with reason tenant_paused (redrive them after resuming)."""
    return _pause(instanceId, True)


@app.post(
    "/admin/tenants/<instanceId>/resume",
    responses={200: answer("the tenant, active", Tenant), **problems(e404="not registered", e409="removed")},
)
def resume_tenant(instanceId: InstanceId) -> Response[dict[str, Any]]:
    """Resume a paused tenant (then redrive its tenant_paused messages)."""
    return _pause(instanceId, False)


def _pause(instance_id: str, paused: bool) -> Response[dict[str, Any]]:
    tenant = set_paused(instance_id, paused, tenants, datetime.now(UTC))
    if tenant is None:
        return _not_registered(instance_id)
    logger.info("tenant paused" if paused else "tenant resumed", extra={"instance_id": instance_id})
    return _json(200, tenant.model_dump(mode="json", by_alias=True))


@app.get(
    "/admin/dead-letters",
    responses={
        200: answer("the parked messages (ids and reasons, never payloads)", DeadLetters),
        **problems(e501="no dead-letter queue is configured"),
    },
)
def list_dead_letters(
    instanceId: Annotated[str | None, Query(pattern=INSTANCE_ID_PATTERN, description="only this tenant's")] = None,
    reason: Annotated[str | None, Query(min_length=1, max_length=100, description="only those parked for it")] = None,
) -> Response[dict[str, Any]]:
    """Messages parked in the DLQ with their reason and error (ids only, no payloads)."""
    if not settings.dead_letter_queue_url:
        return _json(501, {"message": "no dead-letter queue is configured"})
    parked = dead_letters.find(instanceId, reason)
    return _json(200, {"messages": [p.view() for p in parked], "count": len(parked)})


@app.post(
    "/admin/dead-letters/redrive",
    responses={
        200: answer("the messages sent back to the work queue", Redriven),
        **problems(e415=NOT_JSON, e501="no dead-letter queue is configured"),
    },
)
def redrive_dead_letters(wanted: Annotated[RedriveRequest, Body()]) -> Response[dict[str, Any]]:
    """Send parked messages back to the work queue: those of a tenant / reason / ids, or `{}` for all; idempotent."""
    if not (settings.dead_letter_queue_url and settings.work_queue_url):
        return _json(501, {"message": "no dead-letter queue is configured"})
    ids = set(wanted.message_ids) if wanted.message_ids is not None else None
    moved = dead_letters.redrive(wanted.instance_id, wanted.reason, ids)
    logger.info("dead letters redriven", extra={"count": len(moved), "instance_id": wanted.instance_id})
    return _json(200, {"redriven": [p.view() for p in moved], "count": len(moved)})


@cache
def _lambda() -> Any:
    return boto3.client("lambda")


def _json(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status, content_types.APPLICATION_JSON, body)


def _not_registered(instance_id: str) -> Response[dict[str, Any]]:
    return _json(404, {"message": f"tenant {instance_id} is not registered"})


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    gated = gate(event)
    if isinstance(gated, Refusal):
        logger.warning("admin request rejected", extra={"status": gated.status, "reason": gated.reason})
        return gated.response
    return app.resolve(gated, context)
