"""Whatever arrives at POST /webhooks/wix, the answer is a 2xx or a 4xx with a message; nothing unverified is queued."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.app import Devstack
from devstack.wix_sandbox import sign_webhook

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _queued(devstack: Devstack) -> int:
    assert devstack.stack is not None
    attributes = devstack.stack.client("sqs").get_queue_attributes(
        QueueUrl=devstack.stack.output("WorkQueueUrl"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@FUZZ
@given(body=st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
def test_arbitrary_bodies_are_refused_cleanly(devstack: Devstack, body: bytes) -> None:
    response = httpx.post(devstack.gateway_url + "/webhooks/wix", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code in (400, 401), response.text
    assert response.json()["message"]


@FUZZ
@given(
    envelope=json_values,
    domain_event=json_values,
    event_type=st.sampled_from(
        ["wix.ecom.v1.order_created", "wix.ecom.v1.order_approved", "wix.ecom.v1.order_updated", ""]
    ),
)
def test_signed_but_arbitrary_envelopes_never_crash(
    devstack: Devstack, envelope: Any, domain_event: Any, event_type: str
) -> None:
    # Given a genuinely signed token whose payload layers hold arbitrary JSON
    assert devstack.wix is not None
    now = int(time.time())
    claims = {
        "data": json.dumps(
            {"eventType": event_type, "instanceId": "fuzz", "data": json.dumps(domain_event), "extra": envelope}
        ),
        "iat": now,
        "exp": now + 60,
    }
    body = jwt.encode(claims, devstack.wix.private_key_pem, algorithm="RS256")
    # When it is posted / Then the answer is 200 (handled or ignored) or a 400 with a message, never a 5xx
    response = httpx.post(devstack.gateway_url + "/webhooks/wix", content=body)
    assert response.status_code in (200, 400), response.text
    assert response.json()


def test_an_oversized_body_is_413_and_not_parsed(devstack: Devstack) -> None:
    assert devstack.wix is not None
    big = sign_webhook(
        devstack.wix.private_key_pem,
        "wix.ecom.v1.order_created",
        "fuzz",
        {"id": "evt-big", "entityId": "o", "createdEvent": {"entity": {"pad": "x" * 1_100_000}}},
    )
    before = _queued(devstack)
    response = httpx.post(devstack.gateway_url + "/webhooks/wix", content=big)
    assert response.status_code == 413 and "bytes" in response.json()["message"]
    assert _queued(devstack) == before
