"""The admin API's gate before routing: what no route may see is refused with a status and a message."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from posbridge.admin_http import MAX_BODY_BYTES, Refusal, gate


def _event(method: str = "PUT", body: str | None = None, **headers: str) -> dict[str, Any]:
    return {"httpMethod": method, "path": "/admin/tenants/t-1", "body": body, "headers": headers}


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (_event(body="x" * (MAX_BODY_BYTES + 1)), 413),
        (_event("GET", body="{}"), 422),
        (_event(body="a=1", **{"Content-Type": "application/x-www-form-urlencoded"}), 415),
        (_event(body='[{"pos": null}]'), 422),
        (_event(body="42"), 422),
    ],
)
def test_a_request_no_route_may_see_is_refused_with_a_message(event: dict[str, Any], status: int) -> None:
    # Given a request that is too big, a GET with a body, not JSON content, or JSON that is not an object
    # When it reaches the gate
    refusal = gate(event)
    # Then it is refused with that status and a message, before any route runs
    assert isinstance(refusal, Refusal) and refusal.status == status
    assert refusal.response["statusCode"] == status and json.loads(refusal.response["body"])["message"]


def test_a_base64_json_body_is_decoded_and_routed() -> None:
    # Given a JSON object that API Gateway delivered base64-encoded
    event = {**_event(body=base64.b64encode(b'{"a": 1}').decode()), "isBase64Encoded": True}
    # When it reaches the gate
    routed = gate(event)
    # Then it goes on to the routes as text
    assert not isinstance(routed, Refusal)
    assert routed["body"] == '{"a": 1}' and routed["isBase64Encoded"] is False


def test_a_refusal_never_echoes_the_body() -> None:
    # Given a refused body holding a token
    refusal = gate(_event(body='["sq0atp-secret-token"]'))
    # Then the answer does not repeat it
    assert isinstance(refusal, Refusal) and "sq0atp-secret-token" not in refusal.response["body"]
