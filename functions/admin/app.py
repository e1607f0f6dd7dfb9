"""Admin API: connect a Wix site to its POS and read it back (IAM-authorized in AWS, open on the devstack)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posbridge.config import AdminSettings
from posbridge.dlq import DeadLetterQueue
from posbridge.domain.catalog_job import JOB_ID, ImportOptions
from posbridge.domain.tenant import TenantRegistration
from posbridge.errors import PermanentError, TransientError
from posbridge.executions import StepFunctionsExecutions
from posbridge.flows.catalog_publish import start_import
from posbridge.flows.lifecycle import NotAllowed, set_paused
from posbridge.flows.tenants import register_tenant
from posbridge.secrets import TenantSecrets
from posbridge.store.catalog_jobs import CatalogJobs, ImportAlreadyRunning
from posbridge.store.lifecycle import LifecycleStore
from posbridge.store.order_sync import OrderSyncStore
from posbridge.store.orders import OrderMappings
from posbridge.store.pos_links import PosLocationTaken
from posbridge.store.tenants import TenantStore

settings = AdminSettings.from_env()
tenants = TenantStore(settings.mappings_table)
orders = OrderMappings(settings.mappings_table)
syncs = OrderSyncStore(settings.mappings_table)
vault = TenantSecrets(settings.tenant_secret_prefix)
catalog_jobs = CatalogJobs(settings.mappings_table)
catalog_runs = StepFunctionsExecutions(settings.catalog_state_machine_arn)
lifecycle = LifecycleStore(settings.mappings_table)
dead_letters = DeadLetterQueue(settings.dead_letter_queue_url, settings.work_queue_url)
logger = Logger()
# enable_validation: Powertools derives the OpenAPI document (docs/openapi.json) from these routes.
app = APIGatewayRestResolver(enable_validation=True)
# No admin request is anywhere near this (a tenant registration is ~1 KB); bigger bodies are refused before parsing.
MAX_BODY_BYTES = 64 * 1024

_INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


class BadRequest(Exception):
    pass


@app.exception_handler(BadRequest)  # type: ignore[untyped-decorator]
def bad_request(exc: BadRequest) -> Response[dict[str, Any]]:
    return _json(400, {"message": str(exc)})


@app.exception_handler(PosLocationTaken)  # type: ignore[untyped-decorator]
def location_taken(exc: PosLocationTaken) -> Response[dict[str, Any]]:
    return _json(409, {"message": str(exc)})


@app.exception_handler(NotAllowed)  # type: ignore[untyped-decorator]
def not_allowed(exc: NotAllowed) -> Response[dict[str, Any]]:
    return _json(409, {"message": str(exc)})


@app.exception_handler(ValidationError)  # type: ignore[untyped-decorator]
def invalid_body(exc: ValidationError) -> Response[dict[str, Any]]:
    # include_input=False: the rejected body may hold an access token.
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return _json(400, {"message": "invalid request body", "errors": errors})


@app.put("/admin/tenants/<instance_id>")
def put_tenant(instance_id: str) -> Response[dict[str, Any]]:
    registration = TenantRegistration.model_validate(_json_body())
    tenant, created = register_tenant(_checked(instance_id), registration, tenants, vault)
    logger.info("tenant registered", extra={"instance_id": instance_id, "new_tenant": created})
    return _json(201 if created else 200, tenant.model_dump(mode="json", by_alias=True))


@app.get("/admin/tenants/<instance_id>")
def get_tenant(instance_id: str) -> Response[dict[str, Any]]:
    tenant = tenants.get(_checked(instance_id))
    if tenant is None:
        return _json(404, {"message": f"tenant {instance_id} is not registered"})
    return _json(200, tenant.model_dump(mode="json", by_alias=True))


@app.get("/admin/tenants/<instance_id>/orders/<wix_order_id>")
def get_order_mapping(instance_id: str, wix_order_id: str) -> Response[dict[str, Any]]:
    tenant_id = _checked(instance_id)
    mapping = orders.by_wix_order(tenant_id, wix_order_id)
    if mapping is not None:
        status = "exported" if mapping.origin == "wix" else "imported"  # online order, or rung up on the POS
        return _json(200, {"status": status, **mapping.model_dump(mode="json", by_alias=True)})
    skipped = orders.skip_reason(tenant_id, wix_order_id)
    if skipped is not None:
        return _json(200, {"status": "skipped", "wixOrderId": wix_order_id, "reason": skipped})
    return _json(404, {"message": f"order {wix_order_id} of tenant {instance_id} has no mapping"})


@app.get("/admin/tenants/<instance_id>/pos-orders/<pos_order_id>")
def get_pos_order(instance_id: str, pos_order_id: str) -> Response[dict[str, Any]]:
    """Flows 2 and 3 for one POS order: its Wix order, the Wix status last applied, stale updates dropped."""
    tenant_id = _checked(instance_id)
    mapping = orders.by_pos_order(tenant_id, pos_order_id)
    sync = syncs.get(tenant_id, pos_order_id)
    if mapping is None and sync is None:
        skipped = syncs.skip_reason(tenant_id, pos_order_id)
        if skipped is not None:
            return _json(200, {"status": "skipped", "posOrderId": pos_order_id, "reason": skipped})
        return _json(404, {"message": f"POS order {pos_order_id} of tenant {instance_id} has no mapping"})
    body: dict[str, Any] = {"status": "mapped", "posOrderId": pos_order_id}
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


@app.post("/admin/tenants/<instance_id>/reconcile")
def reconcile(instance_id: str) -> Response[dict[str, Any]]:
    """Run the reconciliation for this tenant now (the schedule runs it for every tenant); answers its summary."""
    tenant_id = _checked(instance_id)
    if tenants.get(tenant_id) is None:
        return _json(404, {"message": f"tenant {instance_id} is not registered"})
    if not settings.reconciler_function_name:
        return _json(501, {"message": "no reconciler function is configured"})
    answer = _lambda().invoke(
        FunctionName=settings.reconciler_function_name, Payload=json.dumps({"instanceId": tenant_id}).encode()
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or not isinstance(payload, dict):
        logger.error("reconciler failed", extra={"instance_id": tenant_id, "error": answer.get("FunctionError")})
        return _json(502, {"message": "the reconciliation failed; see the reconciler's logs"})
    [result] = payload.get("tenants") or [{}]
    return _json(200 if payload.get("ok") else 502, result)


@app.post("/admin/tenants/<instance_id>/catalog-imports")
def start_catalog_import(instance_id: str) -> Response[dict[str, Any]]:
    """Start the catalog publish (Flow 4) for this tenant; 202 with the job, 409 while another import runs."""
    tenant_id = _checked(instance_id)
    if not settings.catalog_state_machine_arn:
        return _json(501, {"message": "no catalog publish workflow is configured"})
    options = ImportOptions.model_validate(_json_body() if (app.current_event.body or "").strip() else {})
    try:
        job = start_import(tenants, catalog_jobs, catalog_runs, tenant_id, options)
    except ImportAlreadyRunning as exc:
        return _json(409, {"message": str(exc), "runningJobId": exc.running_job_id})
    except PermanentError as exc:
        return _json(404 if exc.reason == "unknown_tenant" else 409, {"message": str(exc), "reason": exc.reason})
    except TransientError as exc:
        return _json(503, {"message": str(exc)})
    logger.info("catalog import started", extra={"instance_id": tenant_id, "job_id": job.job_id})
    return _json(202, {**job.view(), "links": {"self": f"/admin/catalog-imports/{job.job_id}"}})


@app.get("/admin/catalog-imports/<job_id>")
def get_catalog_import(job_id: str) -> Response[dict[str, Any]]:
    """A catalog import's progress: status, step, done/total (per kind too), errors per entity, heartbeat."""
    if not JOB_ID.match(job_id):
        raise BadRequest("the job id must be 1-80 letters, digits, '-' or '_'")
    job = catalog_jobs.get(job_id)
    if job is None:
        return _json(404, {"message": f"catalog import {job_id} does not exist"})
    return _json(200, job.view())


@app.get("/admin/tenants")
def list_tenants() -> Response[dict[str, Any]]:
    """Every known restaurant: connected (active / paused), removed, or installed and awaiting its POS (pending)."""
    rows: list[dict[str, Any]] = []
    for instance_id in sorted(lifecycle.directory()):
        tenant, installation = tenants.get(instance_id), lifecycle.installation(instance_id)
        if tenant is not None:
            rows.append(
                {
                    "instanceId": instance_id,
                    "status": tenant.status,
                    "pos": tenant.pos.model_dump(mode="json", by_alias=True),
                    "createdAt": tenant.created_at,
                    "removedAt": tenant.removed_at,
                }
            )
        elif installation is not None:
            status = "pending" if installation.status == "installed" else "removed"
            rows.append(
                {"instanceId": instance_id, "status": status, "pos": None, "createdAt": installation.installed_at}
                | {"removedAt": installation.removed_at}
            )
    return _json(200, {"tenants": rows})


@app.post("/admin/tenants/<instance_id>/pause")
def pause_tenant(instance_id: str) -> Response[dict[str, Any]]:
    """Pause a tenant: its events are parked in the DLQ with reason tenant_paused (redrive them after resuming)."""
    return _pause(instance_id, True)


@app.post("/admin/tenants/<instance_id>/resume")
def resume_tenant(instance_id: str) -> Response[dict[str, Any]]:
    """Resume a paused tenant (then redrive its tenant_paused messages)."""
    return _pause(instance_id, False)


def _pause(instance_id: str, paused: bool) -> Response[dict[str, Any]]:
    tenant = set_paused(_checked(instance_id), paused, tenants, datetime.now(UTC))
    if tenant is None:
        return _json(404, {"message": f"tenant {instance_id} is not registered"})
    logger.info("tenant paused" if paused else "tenant resumed", extra={"instance_id": instance_id})
    return _json(200, tenant.model_dump(mode="json", by_alias=True))


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    instance_id: str | None = Field(default=None, alias="instanceId", pattern=_INSTANCE_ID.pattern)
    reason: str | None = Field(default=None, min_length=1, max_length=100)
    message_ids: list[str] | None = Field(default=None, alias="messageIds", min_length=1, max_length=100)


@app.get("/admin/dead-letters")
def list_dead_letters() -> Response[dict[str, Any]]:
    """Messages parked in the DLQ with their reason and error (ids only, no payloads); ?instanceId= &reason= filter."""
    if not settings.dead_letter_queue_url:
        return _json(501, {"message": "no dead-letter queue is configured"})
    query = app.current_event.query_string_parameters or {}
    instance_id = _checked(query["instanceId"]) if "instanceId" in query else None
    parked = dead_letters.find(instance_id, query.get("reason") or None)
    return _json(200, {"messages": [p.view() for p in parked], "count": len(parked)})


@app.post("/admin/dead-letters/redrive")
def redrive_dead_letters() -> Response[dict[str, Any]]:
    """Send parked messages back to the work queue (all, or those of a tenant / reason / ids); idempotent."""
    if not (settings.dead_letter_queue_url and settings.work_queue_url):
        return _json(501, {"message": "no dead-letter queue is configured"})
    body = _json_body() if (app.current_event.body or "").strip() else {}
    wanted = RedriveRequest.model_validate(body)
    ids = set(wanted.message_ids) if wanted.message_ids is not None else None
    moved = dead_letters.redrive(wanted.instance_id, wanted.reason, ids)
    logger.info("dead letters redriven", extra={"count": len(moved), "instance_id": wanted.instance_id})
    return _json(200, {"redriven": [p.view() for p in moved], "count": len(moved)})


@cache
def _lambda() -> Any:
    return boto3.client("lambda")


def _checked(instance_id: str) -> str:
    if not _INSTANCE_ID.match(instance_id):
        raise BadRequest("instanceId must be 1-64 letters, digits or '-'")
    return instance_id


def _json_body() -> Any:
    try:
        return json.loads(app.current_event.body or "")
    except json.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc.msg}") from exc


def _json(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status, content_types.APPLICATION_JSON, body)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    body = event.get("body") or ""
    size = len(base64.b64decode(body, validate=False)) if event.get("isBase64Encoded") else len(body.encode())
    if size > MAX_BODY_BYTES:
        logger.warning("admin request rejected", extra={"status": 413, "reason": "body too large"})
        return {
            "statusCode": 413,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"message": f"body over {MAX_BODY_BYTES} bytes"}),
        }
    if event.get("httpMethod") == "GET" and body.strip():
        return {
            "statusCode": 400,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"message": "a GET request takes no body"}),
        }
    return app.resolve(event, context)
