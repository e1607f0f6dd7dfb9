"""Whatever reaches an admin route, the answer is never a 5xx, every 4xx carries a message (and never the rejected
value), and a refused request stores nothing. Hypothesis for bodies and path segments; schemathesis for every
operation of docs/openapi.json, with its request-body, parameter and response schemas: the answers must be the
documented ones, and a request the document rejects must be rejected."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.app import Devstack
from devstack.openapi import DOCUMENT
from posbridge.domain.admin import INSTANCE_ID_PATTERN

FUZZ = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FUZZ_TENANT = "fuzz-admin-tenant"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
registrations = st.fixed_dictionaries(
    {"pos": st.dictionaries(st.sampled_from(["provider", "merchantId", "locationId", "accessToken"]), json_values)},
    optional={"settings": json_values, "extra": json_values},
)


def _encoded(value: Any) -> bytes:
    return json.dumps(value).encode()  # not httpx's json=: it sends no body at all for None


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.method, response.request.url, response.text)
    if response.status_code >= 400:
        assert response.json()["message"], response.text


def _nothing_stored(devstack: Devstack) -> None:
    assert httpx.get(f"{devstack.gateway_url}/admin/tenants/{FUZZ_TENANT}").status_code == 404
    assert devstack.stack is not None
    names = [s["Name"] for s in devstack.stack.client("secretsmanager").list_secrets()["SecretList"]]
    assert not any(f"/{FUZZ_TENANT}/" in name for name in names)


@FUZZ
@given(body=st.binary(max_size=500) | json_values.map(_encoded) | registrations.map(_encoded))
def test_a_refused_tenant_registration_stores_nothing(devstack: Devstack, body: bytes) -> None:
    response = httpx.put(f"{devstack.gateway_url}/admin/tenants/{FUZZ_TENANT}", content=body)
    _check(response)
    assert response.status_code in (413, 422), response.text
    _nothing_stored(devstack)


SECRET = "tok-7f3a9c-never-echoed"


@FUZZ
@given(
    registration=st.fixed_dictionaries(
        {"provider": st.sampled_from(["square", "toast", 1]), "merchantId": json_values, "locationId": json_values},
        optional={"webhookSignatureKey": json_values, "extra": json_values},
    ),
    where=st.sampled_from(["accessToken", "merchantId", "provider", "unknown"]),
)
def test_a_refused_registration_never_echoes_what_it_was_sent(
    devstack: Devstack, registration: dict[str, Any], where: str
) -> None:
    # Given a registration that is wrong somewhere (no webhook key, or a bad provider), carrying a token
    registration = {**registration, where: SECRET}
    registration.pop("webhookSignatureKey", None) if registration.get("provider") == "square" else None
    # When it is sent
    response = httpx.put(f"{devstack.gateway_url}/admin/tenants/{FUZZ_TENANT}", json={"pos": registration})
    # Then it is refused naming where, never the token, and nothing is stored
    _check(response)
    assert response.status_code == 422 and response.json()["detail"], response.text
    assert SECRET not in response.text
    _nothing_stored(devstack)


ROUTES = [
    ("GET", "/admin/tenants/{}"),
    ("GET", "/admin/tenants/{}/orders/{}"),
    ("GET", "/admin/tenants/{}/pos-orders/{}"),
    ("POST", "/admin/tenants/{}/pause"),
    ("POST", "/admin/tenants/{}/resume"),
    ("POST", "/admin/tenants/{}/reconcile"),
    ("POST", "/admin/tenants/{}/catalog-imports"),
    ("GET", "/admin/tenants/{}/catalog-imports/{}"),
]
segments = st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=80)


@FUZZ
@given(route=st.sampled_from(ROUTES), first=segments, second=segments, body=st.binary(max_size=200))
def test_arbitrary_path_segments_and_bodies_never_5xx(
    devstack: Devstack, route: tuple[str, str], first: str, second: str, body: bytes
) -> None:
    method, template = route
    path = template.format(quote(first, safe=""), quote(second, safe=""))
    _check(httpx.request(method, devstack.gateway_url + path, content=body if method != "GET" else b""))


@FUZZ
@given(body=json_values)
def test_arbitrary_redrive_requests_never_5xx_and_touch_no_other_tenant(devstack: Devstack, body: Any) -> None:
    # A valid request is always scoped to a tenant without parked messages, so the fuzz moves nothing of others
    if isinstance(body, dict):
        body = {**body, "instanceId": FUZZ_TENANT}
    # (an empty body would be an unscoped redrive: _encoded(None) is "null", refused)
    response = httpx.post(f"{devstack.gateway_url}/admin/dead-letters/redrive", content=_encoded(body))
    _check(response)
    if response.status_code == 200:
        assert response.json()["count"] == 0


@pytest.mark.parametrize("route", ["/admin/tenants/x", "/admin/tenants/x/pause", "/admin/dead-letters/redrive"])
def test_an_oversized_admin_body_is_413(devstack: Devstack, route: str) -> None:
    response = httpx.request(
        "PUT" if route == "/admin/tenants/x" else "POST", devstack.gateway_url + route, content=b"{" * 70_000
    )
    assert response.status_code == 413 and "bytes" in response.json()["message"]
    assert httpx.get(f"{devstack.gateway_url}/admin/tenants/x").status_code == 404


schema = schemathesis.openapi.from_path(DOCUMENT)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,  # every answer is documented for its operation
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,  # ... with the documented shape
    schemathesis.checks.negative_data_rejection,  # what the document rejects is refused
]


@schema.exclude(path="/admin/dead-letters/redrive").parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_documented_operation_answers_as_documented(case: Any, devstack: Devstack) -> None:
    # (the redrive is fuzzed above, scoped to a tenant: an unscoped redrive would move other tests' parked messages)
    tenant_url = _tenant_url(devstack, case)
    before = httpx.get(tenant_url).text if tenant_url and case.method == "PUT" else None
    response = case.call(base_url=devstack.gateway_url)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        assert response.json()["message"], response.text
    if before is not None and tenant_url and response.status_code >= 400:  # a refused registration changed nothing
        assert httpx.get(tenant_url).text == before


def _tenant_url(devstack: Devstack, case: Any) -> str | None:
    instance_id = (case.path_parameters or {}).get("instanceId")
    if not isinstance(instance_id, str) or not re.match(INSTANCE_ID_PATTERN, instance_id):
        return None
    return f"{devstack.gateway_url}/admin/tenants/{instance_id}"


def test_an_oversized_square_webhook_is_413_before_any_verification(devstack: Devstack) -> None:
    response = httpx.post(devstack.gateway_url + "/webhooks/pos/square", content=b"{" * 1_100_000)
    assert response.status_code == 413 and "bytes" in response.json()["message"]
