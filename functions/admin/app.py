"""Admin API: connect a Wix site to its POS and read it back (IAM-authorized in AWS, open on the devstack)."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from posbridge.config import AdminSettings
from posbridge.domain.tenant import TenantRegistration
from posbridge.flows.tenants import register_tenant
from posbridge.secrets import TenantSecrets
from posbridge.store.orders import OrderMappings
from posbridge.store.tenants import TenantStore

settings = AdminSettings.from_env()
tenants = TenantStore(settings.mappings_table)
orders = OrderMappings(settings.mappings_table)
vault = TenantSecrets(settings.tenant_secret_prefix)
logger = Logger()
app = APIGatewayRestResolver()

_INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


class BadRequest(Exception):
    pass


@app.exception_handler(BadRequest)  # type: ignore[untyped-decorator]
def bad_request(exc: BadRequest) -> Response[dict[str, Any]]:
    return _json(400, {"message": str(exc)})


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
        return _json(200, {"status": "exported", **mapping.model_dump(mode="json", by_alias=True)})
    skipped = orders.skip_reason(tenant_id, wix_order_id)
    if skipped is not None:
        return _json(200, {"status": "skipped", "wixOrderId": wix_order_id, "reason": skipped})
    return _json(404, {"message": f"order {wix_order_id} of tenant {instance_id} has no mapping"})


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
    return app.resolve(event, context)
