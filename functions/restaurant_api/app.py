"""The restaurant's own API (issue 15): the JSON its dashboard page in Wix uses to connect Square through OAuth.

Every `/restaurant/...` route is authenticated by the signed Wix app instance the page received from Wix
(`Authorization: Instance <instance>`, posbridge/wix/instance.py) and acts only on the site that instance names: no
route takes a site id from the request, so one site's page can never read or act on another's. A missing, tampered,
expired or anonymous instance is 401 before any route runs.

`GET /oauth/square/callback` is public (Square redirects the owner's browser there): the single-use `state` it
carries is what ties it to a site (posbridge/flows/square_oauth.py).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from posbridge import wiring
from posbridge.admin_http import invalid_request
from posbridge.config import SquareOAuthSettings
from posbridge.errors import PermanentError, TransientError
from posbridge.flows import square_oauth as oauth
from posbridge.store.pos_links import PosLocationTaken
from posbridge.wix.instance import InstanceRejected, instance_from_header, verify_instance

WIX_SECRET_MAX_AGE_S = 300

settings = SquareOAuthSettings.from_env()
wired = wiring.square_oauth(settings)
tenants, states, connections, vault = wired.tenants, wired.states, wired.connections, wired.vault
square_locations = wired.locations
logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)
app.exception_handler(RequestValidationError)(invalid_request)


class LocationChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    location_id: str = Field(alias="locationId", min_length=1, max_length=191, pattern=r"^[A-Za-z0-9_-]+$")


class Unauthenticated(Exception):
    pass


def _ports() -> oauth.OAuthPorts:
    return wired.ports()


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


@app.exception_handler([oauth.NotAllowed, PosLocationTaken])  # type: ignore[untyped-decorator]
def conflict(exc: Exception) -> Response[dict[str, Any]]:
    return _json(409, {"message": str(exc)})


@app.exception_handler(PermanentError)  # type: ignore[untyped-decorator]
def refused(exc: PermanentError) -> Response[dict[str, Any]]:
    status = 501 if exc.reason == "square_oauth_not_configured" else 502  # Square refused (reason code only)
    logger.warning("square refused", extra={"reason": exc.reason})
    return _json(status, {"message": str(exc), "reason": exc.reason})


@app.exception_handler(TransientError)  # type: ignore[untyped-decorator]
def unavailable(exc: TransientError) -> Response[dict[str, Any]]:
    logger.warning("square unavailable", extra={"error": type(exc).__name__})
    return _json(503, {"message": "Square is not answering now; try again in a minute"})


@app.get("/restaurant/connection")
def get_connection() -> Response[dict[str, Any]]:
    """The POS connection of this site: connected / expiring / revoked / not_connected, and the token's age."""
    instance_id = _site()
    return _json(200, oauth.connection_view(instance_id, connections, tenants, datetime.now(UTC)))


@app.post("/restaurant/square/authorize")
def authorize() -> Response[dict[str, Any]]:
    """The Square authorize link (single use, 10 minutes) for this site."""
    instance_id = _site()
    url = oauth.start(instance_id, _ports(), datetime.now(UTC))
    logger.info("square authorization started")
    return _json(200, {"authorizeUrl": url})


@app.get("/restaurant/square/locations")
def list_locations() -> Response[dict[str, Any]]:
    instance_id = _site()
    found = oauth.locations(instance_id, _ports())
    return _json(200, {"locations": [{"id": x.id, "name": x.name, "status": x.status} for x in found]})


@app.put("/restaurant/square/location")
def choose_location(choice: Annotated[LocationChoice, Body()]) -> Response[dict[str, Any]]:
    """Connect this site to one of its Square merchant's active locations: orders flow from then on."""
    instance_id = _site()
    ports = _ports()
    oauth.choose_location(instance_id, choice.location_id, ports, datetime.now(UTC))
    logger.info("square location chosen", extra={"location_id": choice.location_id})
    return _json(200, oauth.connection_view(instance_id, connections, tenants, datetime.now(UTC)))


@app.post("/restaurant/square/disconnect")
def disconnect() -> Response[dict[str, Any]]:
    """Revoke the application's access at Square and pause this site."""
    instance_id = _site()
    ports = _ports()
    oauth.disconnect(instance_id, ports, datetime.now(UTC))
    logger.info("square disconnected by the owner")
    return _json(200, oauth.connection_view(instance_id, connections, tenants, datetime.now(UTC)))


@app.get("/oauth/square/callback")
def callback() -> Response[str]:
    """Square's redirect after the owner approved (or declined). Never echoes the code or the state."""
    query = app.current_event.query_string_parameters or {}
    try:
        instance_id = oauth.complete(
            query.get("state"), query.get("code"), query.get("error"), _ports(), datetime.now(UTC)
        )
    except oauth.AuthorizationRefused as refusal:
        logger.warning("square authorization refused", extra={"reason": refusal.reason})
        return _page(400, "Square was not connected", f"{refusal} ({refusal.reason}).")
    except (PermanentError, TransientError) as exc:  # Square refused the code, or is unreachable: start again
        reason = exc.reason if isinstance(exc, PermanentError) else "square_unavailable"
        logger.warning("square code exchange failed", extra={"reason": reason})
        status = 503 if isinstance(exc, TransientError) else 502
        return _page(
            status,
            "Square was not connected",
            f"Square did not complete the connection ({reason}): start again from your Wix dashboard.",
        )
    logger.info("square authorization completed", extra={"instance_id": instance_id})
    return _page(200, "Square is connected", "Go back to your Wix dashboard to pick the location of your restaurant.")


def _page(status: int, title: str, text: str) -> Response[str]:
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></main></body></html>"
    )
    return Response(status, "text/html; charset=utf-8", body, headers={"Cache-Control": "no-store"})


def _json(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status, content_types.APPLICATION_JSON, body, headers={"Cache-Control": "no-store"})


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
