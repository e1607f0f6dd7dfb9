"""Route tables on Werkzeug's URL map, and the per-request context handlers receive."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.wix_sandbox.state import Instance
from devstack.wix_sandbox.validation import ApiError, json_object
from devstack.wix_sandbox.webhooks import OutgoingEvent

_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass
class Call:
    """One request: its route template ("POST /ecom/v1/orders/{id}/cancel"), instance, and webhooks to send after."""

    request: Request
    route: str
    instance: Instance | None = None
    outbox: list[OutgoingEvent] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        raw = self.request.get_data(cache=True)
        if not raw.strip():
            return {}
        try:
            return json_object(json.loads(raw))
        except ValueError as exc:
            raise ApiError(400, f"request body is not valid JSON: {exc}") from exc

    @property
    def inst(self) -> Instance:
        assert self.instance is not None, "route needs an authenticated instance"
        return self.instance


Result = dict[str, Any] | Response
Handler = Callable[..., Result]


@dataclass(frozen=True)
class Endpoint:
    name: str  # key of the handler in the sandbox's handler table
    locked: bool = True  # runs under the store lock; False for handlers that make HTTP calls themselves
    public: bool = False  # an API route that needs no access token (control routes never need one)


def route(path: str, method: str, name: str, *, locked: bool = True, public: bool = False) -> Rule:
    return Rule(path, methods=[method], endpoint=Endpoint(name, locked, public))


def url_map(rules: list[Rule]) -> Map:
    """Compiling a Map is slow (~0.5 ms a rule), so callers build each one once per process."""
    return Map(rules, strict_slashes=False)


class Routes:
    """A shared URL map plus one sandbox's handlers, by endpoint name."""

    def __init__(self, urls: Map, handlers: dict[str, Handler]) -> None:
        missing = {rule.endpoint.name for rule in urls.iter_rules()} - handlers.keys()
        assert not missing, f"routes without handlers: {missing}"
        self._map = urls
        self._handlers = handlers

    def match(self, request: Request) -> tuple[Endpoint, Handler, dict[str, Any], str]:
        """(endpoint, handler, path params, "METHOD template"); unknown paths are 404, wrong methods 405, as JSON."""
        try:
            rule, params = self._map.bind_to_environ(request.environ).match(return_rule=True)
        except MethodNotAllowed as exc:
            raise ApiError(405, f"{request.method} is not allowed on {request.path}") from exc
        except HTTPException as exc:
            raise ApiError(404, f"no route {request.method} {request.path}") from exc
        endpoint = rule.endpoint
        assert isinstance(endpoint, Endpoint)
        template = _PARAM.sub(r"{\1}", rule.rule)
        return endpoint, self._handlers[endpoint.name], dict(params), f"{request.method} {template}"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
