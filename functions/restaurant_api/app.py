"""The restaurant's own API (issue 15): the JSON its dashboard page in Wix uses to connect its POS through OAuth (the
provider-neutral flow posbridge/flows/pos_oauth.py with the provider's connector from the registry). The provider is
the route's `{provider}` (`/restaurant/{provider}/authorize|locations|location|disconnect`,
`/oauth/{provider}/callback`: Square's are `/restaurant/square/...` and `/oauth/square/callback`, the redirect URL
registered with Square); a name the registry does not connect through OAuth is 404 before anything else runs.

Every `/restaurant/...` route is authenticated by the signed Wix app instance the page received from Wix
(`Authorization: Instance <instance>`, posbridge/wix/instance.py) and acts only on the site that instance names: no
route takes a site id from the request, so one site's page can never read or act on another's. A missing, tampered,
expired or anonymous instance is 401 before any route runs.

`GET /oauth/{provider}/callback` is public (the provider redirects the owner's browser there): the single-use `state` it
carries is what ties it to a site (posbridge/flows/pos_oauth.py).

`GET /restaurant/page` (and its page.js, page.css) is the page itself: static files shipped in ./page, public
because they hold no data; the page reads the `instance` Wix adds to its URL and sends it on every API call. The
page's own routes (its orders, parked messages and their retry, menu import, export settings) are
posbridge/flows/restaurant_page.py.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from posbridge import wiring
from posbridge.admin_http import invalid_request
from posbridge.config import RestaurantApiSettings
from posbridge.dlq import DeadLetterQueue
from posbridge.domain.catalog_job import JOB_ID, ImportAlreadyRunning, ImportJob, ImportOptions
from posbridge.errors import PermanentError, TransientError
from posbridge.executions import StepFunctionsExecutions
from posbridge.flows import pos_oauth as oauth
from posbridge.flows import restaurant_page as page
from posbridge.flows.catalog_publish import start_import
from posbridge.pos import registry
from posbridge.store.activity import OrderActivityStore
from posbridge.store.catalog_jobs import CatalogJobs
from posbridge.store.catalog_sync_state import CatalogSyncState
from posbridge.store.pos_links import PosLocationTaken
from posbridge.wix.instance import InstanceRejected, instance_from_header, verify_instance

WIX_SECRET_MAX_AGE_S = 300

PROVIDER_NAME_MAX = 40  # an unknown provider is quoted back this far, no further

settings = RestaurantApiSettings.from_env()
# The provider the page offers to connect while the site has none: the first one whose OAuth application is configured
OFFERED_PROVIDER = next((p for p in settings.oauth_app_secret_names() if p in registry.oauth_providers()), None)
ports = wiring.pos_oauth(settings)
tenants, connections, connectors = ports.tenants, ports.connections, ports.connectors
activity = OrderActivityStore(settings.mappings_table)
catalog_jobs = CatalogJobs(settings.mappings_table)
catalog_state = CatalogSyncState(settings.mappings_table)
catalog_runs = StepFunctionsExecutions(settings.catalog_state_machine_arn)
dead_letters = DeadLetterQueue(settings.dead_letter_queue_url, settings.work_queue_url)
PAGE_DIR = Path(__file__).resolve().parent / "page"
PAGE_FILES = {
    "page": ("index.html", "text/html; charset=utf-8"),
    "page.js": ("page.js", "text/javascript; charset=utf-8"),
    "page.css": ("page.css", "text/css; charset=utf-8"),
}
# The page loads only its own files and calls only its own API; nothing inline.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'"
)
logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)
app.exception_handler(RequestValidationError)(invalid_request)


class LocationChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    location_id: str = Field(alias="locationId", min_length=1, max_length=191, pattern=r"^[A-Za-z0-9_-]+$")


class ExportSettingsChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    export_on: Literal["approved", "created"] = Field(alias="exportOn")
    export_unpaid: bool = Field(alias="exportUnpaid", strict=True)


class RetryChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # none: every parked message of this site
    message_ids: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, alias="messageIds", max_length=100
    )


class Unauthenticated(Exception):
    pass


class NoSuchProvider(Exception):
    """The route names a provider the registry does not connect through OAuth (unknown, or an operator's only)."""

    def __init__(self, provider: str) -> None:
        self.reason = "unknown_pos_provider" if provider not in registry.ADAPTERS else "pos_oauth_not_supported"
        quoted = provider[:PROVIDER_NAME_MAX]
        super().__init__(f"posbridge connects no POS provider {quoted!r} through OAuth")


def _oauth_provider(provider: str) -> str:
    """The route's provider, if restaurants connect it themselves (404 otherwise, before authentication: the route is
    as absent as any other unknown path)."""
    if provider not in registry.oauth_providers():
        raise NoSuchProvider(provider)
    logger.append_keys(provider=provider)
    return provider


def _site() -> str:
    """The site the signed Wix instance names (401 otherwise)."""
    header = app.current_event.get_header_value("authorization")
    secret = str(parameters.get_secret(settings.wix_app_secret_name, max_age=WIX_SECRET_MAX_AGE_S))
    try:
        signed = verify_instance(instance_from_header(header), secret, datetime.now(UTC))
    except InstanceRejected as exc:
        raise Unauthenticated(str(exc)) from None
    logger.append_keys(instance_id=signed.instance_id)
    return signed.instance_id


@app.exception_handler(Unauthenticated)  # type: ignore[untyped-decorator]
def unauthenticated(exc: Unauthenticated) -> Response[dict[str, Any]]:
    logger.warning("restaurant request refused", extra={"reason": str(exc)})
    return _json(401, {"message": str(exc)})


@app.exception_handler(NoSuchProvider)  # type: ignore[untyped-decorator]
def no_such_provider(exc: NoSuchProvider) -> Response[dict[str, Any]]:
    logger.info("restaurant route names no OAuth provider", extra={"reason": exc.reason})
    return _json(404, {"message": str(exc), "reason": exc.reason})


@app.exception_handler([oauth.NotAllowed, PosLocationTaken, page.NotConnected])  # type: ignore[untyped-decorator]
def conflict(exc: Exception) -> Response[dict[str, Any]]:
    return _json(409, {"message": str(exc)})


@app.exception_handler(PermanentError)  # type: ignore[untyped-decorator]
def refused(exc: PermanentError) -> Response[dict[str, Any]]:
    not_configured = exc.reason in ("pos_oauth_not_configured", "pos_provider_not_configured")
    status = 501 if not_configured else 502  # the POS refused (reason code only)
    logger.warning("pos refused", extra={"reason": exc.reason})
    return _json(status, {"message": str(exc), "reason": exc.reason})


@app.exception_handler(TransientError)  # type: ignore[untyped-decorator]
def unavailable(exc: TransientError) -> Response[dict[str, Any]]:
    logger.warning("pos unavailable", extra={"error": type(exc).__name__})
    return _json(503, {"message": "Your POS is not answering now; try again in a minute"})


@app.get("/restaurant/connection")
def get_connection() -> Response[dict[str, Any]]:
    """The POS connection of this site: connected / expiring / revoked / not_connected, and the token's age; its
    provider (or the one offered while none is connected) and that provider's name, in the page's words."""
    instance_id = _site()
    view = oauth.connection_view(instance_id, connections, tenants, connectors, datetime.now(UTC))
    reason = view.get("reason") or view.get("pausedReason")
    provider = str(view["provider"]) if view.get("provider") else OFFERED_PROVIDER
    pos = _pos_name(provider)
    return _json(
        200,
        {
            **view,
            "provider": provider,
            "providerName": pos.display if provider else None,
            "reasonText": page.plain_reason(str(reason), pos) if reason else None,
        },
    )


def _pos_name(provider: str | None) -> page.PosName:
    """The page's words for a provider (the registry's name for it); none known: "your POS"."""
    if provider is None or provider not in registry.ADAPTERS:
        return page.PosName(provider or "", "your POS")
    return page.PosName(provider, registry.display_name(provider))


def _site_pos(instance_id: str) -> page.PosName:
    """The POS the site is connected to (its tenant's), or the one the page offers while it has none."""
    tenant = tenants.get(instance_id)
    return _pos_name(tenant.pos.provider if tenant else OFFERED_PROVIDER)


@app.post("/restaurant/<provider>/authorize")
def authorize(provider: str) -> Response[dict[str, Any]]:
    """The provider's authorize link (single use, 10 minutes) for this site."""
    provider = _oauth_provider(provider)
    instance_id = _site()
    url = oauth.start(instance_id, provider, ports, datetime.now(UTC))
    logger.info("pos authorization started")
    return _json(200, {"authorizeUrl": url})


@app.get("/restaurant/<provider>/locations")
def list_locations(provider: str) -> Response[dict[str, Any]]:
    provider = _oauth_provider(provider)
    instance_id = _site()
    found = oauth.locations(instance_id, ports, provider)
    return _json(200, {"locations": [{"id": x.id, "name": x.name, "status": x.status} for x in found]})


@app.put("/restaurant/<provider>/location")
def choose_location(provider: str, choice: Annotated[LocationChoice, Body()]) -> Response[dict[str, Any]]:
    """Connect this site to one of its merchant's active locations at the provider: orders flow from then on."""
    provider = _oauth_provider(provider)
    instance_id = _site()
    oauth.choose_location(instance_id, choice.location_id, ports, datetime.now(UTC), provider)
    logger.info("pos location chosen", extra={"location_id": choice.location_id})
    return _json(200, oauth.connection_view(instance_id, connections, tenants, connectors, datetime.now(UTC)))


@app.post("/restaurant/<provider>/disconnect")
def disconnect(provider: str) -> Response[dict[str, Any]]:
    """Revoke the application's access at the provider and pause this site."""
    provider = _oauth_provider(provider)
    instance_id = _site()
    oauth.disconnect(instance_id, ports, datetime.now(UTC), provider)
    logger.info("pos disconnected by the owner")
    return _json(200, oauth.connection_view(instance_id, connections, tenants, connectors, datetime.now(UTC)))


@app.get("/restaurant/page")
def page_html() -> Response[str]:
    return _static("page")


@app.get("/restaurant/page.js")
def page_js() -> Response[str]:
    return _static("page.js")


@app.get("/restaurant/page.css")
def page_css() -> Response[str]:
    return _static("page.css")


@cache
def _page_file(name: str) -> str:
    return (PAGE_DIR / PAGE_FILES[name][0]).read_text(encoding="utf-8")


def _static(name: str) -> Response[str]:
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY, "X-Content-Type-Options": "nosniff"}
    return Response(200, PAGE_FILES[name][1], _page_file(name), headers=headers)


@app.get("/restaurant/activity")
def get_activity() -> Response[dict[str, Any]]:
    """The sync's health for this site: recent orders both ways, parked messages, the catalog sync's problems."""
    instance_id = _site()
    pos = _site_pos(instance_id)
    parked = page.parked_view(instance_id, dead_letters, pos) if settings.dead_letter_queue_url else []
    return _json(
        200,
        {
            "orders": page.orders_view(activity.recent(instance_id), pos),
            "parked": parked,
            "catalog": page.catalog_view(catalog_state.get(instance_id), catalog_jobs.lock_holder(instance_id), pos),
        },
    )


@app.post("/restaurant/parked/retry")
def retry_parked(choice: Annotated[RetryChoice, Body()]) -> Response[dict[str, Any]]:
    """Send this site's parked messages (all, or those named) back to the work queue; never another site's."""
    instance_id = _site()
    if not (settings.dead_letter_queue_url and settings.work_queue_url):
        return _json(501, {"message": "no dead-letter queue is configured"})
    wanted = set(choice.message_ids) if choice.message_ids is not None else None
    moved = page.retry_parked(instance_id, wanted, dead_letters)
    logger.info("parked messages retried by the owner", extra={"count": len(moved)})
    return _json(200, {"retried": moved, "count": len(moved)})


@app.post("/restaurant/catalog-imports")
def import_menu() -> Response[dict[str, Any]]:
    """The "Import my menu" button: the catalog publish (Flow 4) for this site, with the default options."""
    instance_id = _site()
    if not settings.catalog_state_machine_arn:
        return _json(501, {"message": "no catalog publish workflow is configured"})
    try:
        job = start_import(tenants, catalog_jobs, catalog_runs, instance_id, ImportOptions())
    except ImportAlreadyRunning as exc:
        return _json(409, {"message": "an import of your menu is already running", "runningJobId": exc.running_job_id})
    except PermanentError as exc:
        return _json(409, {"message": "connect your POS first" if exc.reason == "unknown_tenant" else str(exc),
                           "reason": exc.reason})  # fmt: skip
    logger.info("catalog import started by the owner", extra={"job_id": job.job_id})
    return _json(202, _job_view(job))


@app.get("/restaurant/catalog-imports/<jobId>")
def get_import(jobId: str) -> Response[dict[str, Any]]:
    """Progress of one of this site's imports; another site's job is answered as if it did not exist."""
    instance_id = _site()
    job = catalog_jobs.get(jobId) if JOB_ID.match(jobId) else None
    if job is None or job.instance_id != instance_id:
        return _json(404, {"message": "no such import of your menu"})
    return _json(200, _job_view(job))


def _job_view(job: ImportJob) -> dict[str, Any]:
    """The import as the owner follows it: the admin view less the workflow's address."""
    return {k: v for k, v in job.view().items() if k != "executionArn"}


@app.get("/restaurant/settings")
def get_settings() -> Response[dict[str, Any]]:
    return _json(200, page.export_settings(_site(), tenants))


@app.put("/restaurant/settings")
def put_settings(choice: Annotated[ExportSettingsChoice, Body()]) -> Response[dict[str, Any]]:
    """When an online order goes to the kitchen (approved or created), and whether unpaid ones do."""
    instance_id = _site()
    wanted = page.ExportSettings(export_on=choice.export_on, export_unpaid=choice.export_unpaid)
    changed = page.change_export_settings(instance_id, wanted, tenants, datetime.now(UTC))
    logger.info("export settings changed by the owner", extra=changed)
    return _json(200, changed)


@app.get("/oauth/<provider>/callback")
def callback(provider: str) -> Response[str]:
    """The provider's redirect after the owner approved (or declined). Never echoes the code or the state."""
    provider = _oauth_provider(provider)
    name = registry.display_name(provider)
    query = app.current_event.query_string_parameters or {}
    try:
        instance_id = oauth.complete(
            provider, query.get("state"), query.get("code"), query.get("error"), ports, datetime.now(UTC)
        )
    except oauth.AuthorizationRefused as refusal:
        logger.warning("pos authorization refused", extra={"reason": refusal.reason})
        return _page(400, f"{name} was not connected", f"{refusal} ({refusal.reason}).")
    except (PermanentError, TransientError) as exc:  # the provider refused the code, or is unreachable: start again
        reason = exc.reason if isinstance(exc, PermanentError) else f"{provider}_unavailable"
        logger.warning("pos code exchange failed", extra={"reason": reason})
        status = 503 if isinstance(exc, TransientError) else 502
        return _page(
            status,
            f"{name} was not connected",
            f"{name} did not complete the connection ({reason}): start again from your Wix dashboard.",
        )
    logger.info("pos authorization completed", extra={"instance_id": instance_id})
    return _page(200, f"{name} is connected", "Go back to your Wix dashboard to pick the location of your restaurant.")


def _page(status: int, title: str, text: str) -> Response[str]:
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></main></body></html>"
    )
    return Response(status, "text/html; charset=utf-8", body, headers={"Cache-Control": "no-store"})


def _json(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status, content_types.APPLICATION_JSON, body, headers={"Cache-Control": "no-store"})


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)  # a warm function's next request never logs this one's site/provider
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
