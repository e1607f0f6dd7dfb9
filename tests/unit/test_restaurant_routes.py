"""The restaurant API's OAuth routes take the provider from the path (functions/restaurant_api/app.py): a name the
registry does not connect through OAuth is a 404 JSON answer before anything runs, and Square's URLs (registered with
Square: /restaurant/square/..., /oauth/square/callback) reach the flow as before. The handler is resolved directly
(no AWS call: the flow and the instance check are replaced)."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from devstack.app import TEMPLATE
from devstack.template import load_sam

ROOT = Path(__file__).resolve().parents[2]
ROUTES = [  # (method, path with {provider}) of the routes that connect a POS through OAuth
    ("POST", "/restaurant/{provider}/authorize"),
    ("GET", "/restaurant/{provider}/locations"),
    ("PUT", "/restaurant/{provider}/location"),
    ("POST", "/restaurant/{provider}/disconnect"),
    ("GET", "/oauth/{provider}/callback"),
]
SQUARE_URLS = {  # exactly the strings Square's application knows (its redirect URL) and the page calls
    "/restaurant/square/authorize",
    "/restaurant/square/locations",
    "/restaurant/square/location",
    "/restaurant/square/disconnect",
    "/oauth/square/callback",
}


@pytest.fixture(scope="module")
def api() -> Iterator[ModuleType]:
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "posbridge-test",
        "MAPPINGS_TABLE": "mappings",
        "TENANT_SECRET_PREFIX": "posbridge/test/tenants",
        "POS_API_BASE_URL": "https://connect.squareup.com",
        "SQUARE_APP_SECRET_NAME": "posbridge/test/square-app",
        "WIX_APP_SECRET_NAME": "posbridge/test/wix-app",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        spec = importlib.util.spec_from_file_location("restaurant_api_app", ROOT / "functions/restaurant_api/app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        yield module
        sys.modules.pop(spec.name, None)


def _event(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Authorization": "Instance x", "Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": {"state": "s", "code": "c"} if path.startswith("/oauth/") else None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"httpMethod": method, "path": path, "stage": "v1", "requestId": "r", "resourcePath": path},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def _resolve(api: ModuleType, method: str, path: str) -> dict[str, Any]:
    body = {"locationId": "LOC1"} if method == "PUT" else None
    answer: dict[str, Any] = api.app.resolve(_event(method, path, body), None)
    return answer


@pytest.fixture
def flow(api: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """The flow calls the routes made, with the provider they passed; the site check answers site-a."""
    calls: list[tuple[str, str | None]] = []
    view = {"status": "connected", "provider": "square"}
    monkeypatch.setattr(api, "_site", lambda: "site-a")

    def start(i: str, p: str | None, ports: object, now: object) -> str:
        calls.append(("start", p))
        return "https://x/auth"

    def locations(i: str, ports: object, p: str | None = None) -> list[object]:
        calls.append(("locations", p))
        return []

    def complete(p: str | None, *rest: object) -> str:
        calls.append(("complete", p))
        return "site-a"

    monkeypatch.setattr(api.oauth, "start", start)
    monkeypatch.setattr(api.oauth, "locations", locations)
    monkeypatch.setattr(
        api.oauth, "choose_location", lambda i, loc, ports, now, p=None: calls.append(("choose_location", p))
    )
    monkeypatch.setattr(api.oauth, "disconnect", lambda i, ports, now, p=None: calls.append(("disconnect", p)))
    monkeypatch.setattr(api.oauth, "complete", complete)
    monkeypatch.setattr(api.oauth, "connection_view", lambda *args: view)
    return calls


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize(
    ("provider", "reason"),
    [("toast", "unknown_pos_provider"), ("clover", "pos_oauth_not_supported"), ("SQUARE", "unknown_pos_provider")],
)
def test_a_provider_not_connected_through_oauth_is_a_404_before_anything_runs(
    api: ModuleType, flow: list[tuple[str, str | None]], method: str, route: str, provider: str, reason: str
) -> None:
    # Given the registry (Square connects through OAuth; Clover is registered by an operator only)
    # When a route names an unknown provider, or one not connected through OAuth
    answer = _resolve(api, method, route.format(provider=provider))
    # Then it is a clear 404 JSON answer naming the reason, and no flow step ran
    assert answer["statusCode"] == 404
    assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert json.loads(answer["body"])["reason"] == reason
    assert flow == []


def test_an_overlong_provider_is_refused_without_being_echoed_whole(
    api: ModuleType, flow: list[tuple[str, str | None]]
) -> None:
    # When a route names a provider of 500 characters
    answer = _resolve(api, "POST", f"/restaurant/{'x' * 500}/authorize")
    # Then it is a 404 quoting at most the first 40
    assert answer["statusCode"] == 404 and "x" * 41 not in answer["body"]


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_squares_urls_reach_the_flow_with_square(
    api: ModuleType, flow: list[tuple[str, str | None]], method: str, route: str
) -> None:
    # When Square's URL of each route is called (the strings Square and the page have always used)
    path = route.format(provider="square")
    assert path in SQUARE_URLS
    answer = _resolve(api, method, path)
    # Then the route answers and the flow step ran for Square
    assert answer["statusCode"] == 200, answer["body"]
    assert len(flow) == 1 and flow[0][1] == "square"


def test_the_connection_names_the_provider_and_its_words(api: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a site with nothing connected (the view names no provider)
    monkeypatch.setattr(api, "_site", lambda: "site-a")
    monkeypatch.setattr(api.oauth, "connection_view", lambda *args: {"status": "not_connected", "provider": None})
    # When the page reads its connection
    body = json.loads(_resolve(api, "GET", "/restaurant/connection")["body"])
    # Then it is offered the configured OAuth provider, with the name the page shows
    assert (body["provider"], body["providerName"]) == ("square", "Square")


def test_the_template_routes_each_oauth_path_with_a_provider_parameter_to_the_restaurant_api() -> None:
    # Given the template's API events
    events = load_sam(TEMPLATE)["Resources"]["RestaurantApiFunction"]["Properties"]["Events"]
    routed = {(e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in events.values()}
    # Then every OAuth route is there with {provider}, and no route names Square
    assert set(ROUTES) <= routed
    assert not [path for _, path in routed if re.search("square", path, re.I)]


def test_a_request_never_logs_the_provider_or_site_of_the_one_before(
    api: ModuleType,
    flow: list[tuple[str, str | None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logged = io.StringIO()
    monkeypatch.setattr(api.logger.registered_handler, "stream", logged)

    def lines() -> list[dict[str, Any]]:
        text = logged.getvalue()
        logged.seek(0)
        logged.truncate()
        return [json.loads(line) for line in text.splitlines()]

    # Given a warm function that served Square's authorize route for site-a (the instance check logs the site)
    monkeypatch.setattr(api, "_site", lambda: api.logger.append_keys(instance_id="site-a") or "site-a")
    context = SimpleNamespace(
        function_name="restaurant-api", memory_limit_in_mb=256, invoked_function_arn="arn", aws_request_id="r1"
    )
    assert api.handler(_event("POST", "/restaurant/square/authorize"), context)["statusCode"] == 200
    first = lines()
    assert any(line.get("provider") == "square" and line.get("instance_id") == "site-a" for line in first)
    # When the next request names an unknown provider
    assert api.handler(_event("POST", "/restaurant/toast/authorize"), context)["statusCode"] == 404
    # Then its log lines carry neither the provider nor the site of the request before
    second = lines()
    assert second and all("provider" not in line and "instance_id" not in line for line in second)
