"""Wix webhook verification: RS256 JWT over the raw body, expiry, and the doubly stringified envelope."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from posbridge.errors import WebhookRejected
from posbridge.wix.webhooks import MAX_TOKEN_AGE_S, load_public_key, parse_webhook

APP_ID = "app-under-test"
PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    PRIVATE.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def _claims(event_type: str = "wix.ecom.v1.order_approved", **overrides: Any) -> dict[str, Any]:
    domain_event = {
        "id": "evt-1",
        "entityFqdn": "wix.ecom.v1.order",
        "slug": "approved",
        "entityId": "order-1",
        "actionEvent": {"body": {"order": {"id": "order-1", "status": "APPROVED"}}},
    }
    envelope = {
        "eventType": event_type,
        "instanceId": "inst-1",
        "data": json.dumps(domain_event),
        "identity": json.dumps({"identityType": "APP"}),
    }
    now = int(time.time())
    return {"data": json.dumps(envelope), "iat": now, "exp": now + 300, **overrides}


def _hs256_with_public_key(claims: dict[str, Any]) -> str:
    """The classic key-confusion forgery; PyJWT refuses to build it, so it is built by hand."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(PUBLIC_PEM.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_a_signed_webhook_decodes_into_its_nested_event() -> None:
    # Given a body signed RS256 with the app's key
    body = jwt.encode(_claims(), PRIVATE, algorithm="RS256")
    # When it is parsed with the public key
    event = parse_webhook(body, load_public_key(PUBLIC_PEM), APP_ID)
    # Then the envelope and the domain event inside it come out
    assert (event.event_type, event.instance_id, event.event_id) == ("wix.ecom.v1.order_approved", "inst-1", "evt-1")
    assert event.body()["actionEvent"]["body"]["order"]["id"] == "order-1"


@pytest.mark.parametrize(
    ("body", "why", "code"),
    [
        (lambda: jwt.encode(_claims(), OTHER, algorithm="RS256"), "signed with another key", "bad_signature"),
        (lambda: _hs256_with_public_key(_claims()), "HS256 with the public key as secret", "bad_signature"),
        # PyJWT requires key None for alg "none", which its annotation omits
        (lambda: jwt.encode(_claims(), None, algorithm="none"), "alg none", "bad_signature"),  # type: ignore[arg-type]
        (lambda: jwt.encode(_claims(exp=int(time.time()) - 60), PRIVATE, algorithm="RS256"), "expired", "expired"),
        (
            lambda: jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, PRIVATE, algorithm="RS256"),
            "no exp",
            "invalid_token",
        ),
    ],
)
def test_forged_or_stale_tokens_are_401(body: Any, why: str, code: str) -> None:
    # Given a token that is not a fresh RS256 signature by the app's key (see `why`)
    # When it is parsed
    with pytest.raises(WebhookRejected) as rejected:
        parse_webhook(body(), load_public_key(PUBLIC_PEM), APP_ID)
    # Then it is rejected as unauthenticated, with the reason the rejection metric counts it under
    assert (rejected.value.status, rejected.value.code) == (401, code), why


@pytest.mark.parametrize(
    ("overrides", "why", "code"),
    [
        ({"iss": "evil.example"}, "another issuer", "invalid_token"),
        ({"iss": "wix.com", "aud": "another-app"}, "a token for another Wix app", "invalid_token"),
        ({"aud": ["another-app", "third-app"]}, "an audience list without this app", "invalid_token"),
        (
            {"iat": int(time.time()) - MAX_TOKEN_AGE_S - 120, "exp": int(time.time()) + 3600},
            "signed longer ago than Wix retries, though not yet expired",
            "expired",
        ),
    ],
)
def test_tokens_from_another_issuer_or_app_or_too_old_are_401(overrides: dict[str, Any], why: str, code: str) -> None:
    # Given a token correctly signed by the app's key but whose claims are not an honest Wix webhook (see `why`)
    body = jwt.encode(_claims(**overrides), PRIVATE, algorithm="RS256")
    # When it is parsed
    with pytest.raises(WebhookRejected) as rejected:
        parse_webhook(body, load_public_key(PUBLIC_PEM), APP_ID)
    # Then it is refused as unauthenticated, under an existing reason code
    assert (rejected.value.status, rejected.value.code) == (401, code), why


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({}, "no iss/aud: Wix's documented sample token and the @wix/sdk webhook path check neither"),
        ({"iss": "wix.com", "aud": APP_ID}, "the claims @wix/sdk checks for calls from Wix"),
        ({"iss": "wix.com", "aud": [APP_ID]}, "an audience list naming this app"),
        (
            {"iat": int(time.time()) - 47 * 3600 - 600, "exp": int(time.time()) + 36 * 3600},
            "the last retry of a token resent as is, about 47 h after the event",
        ),
    ],
)
def test_honest_wix_tokens_are_accepted(overrides: dict[str, Any], why: str) -> None:
    # Given a token as Wix sends it (see `why`)
    body = jwt.encode(_claims(**overrides), PRIVATE, algorithm="RS256")
    # When it is parsed / Then the event comes out
    assert parse_webhook(body, load_public_key(PUBLIC_PEM), APP_ID).event_id == "evt-1", why


def test_a_tampered_payload_is_401() -> None:
    # Given a valid token whose payload segment was swapped after signing
    header, _, signature = jwt.encode(_claims(), PRIVATE, algorithm="RS256").split(".")
    forged_payload = jwt.encode(_claims("wix.ecom.v1.order_created"), OTHER, algorithm="RS256").split(".")[1]
    # When it is parsed / Then it is rejected
    with pytest.raises(WebhookRejected) as rejected:
        parse_webhook(f"{header}.{forged_payload}.{signature}", load_public_key(PUBLIC_PEM), APP_ID)
    assert rejected.value.status == 401


@pytest.mark.parametrize(
    "claims",
    [
        {"data": "not json"},
        {"data": json.dumps({"eventType": "x"})},
        {"data": json.dumps({"eventType": "x", "instanceId": "i", "data": json.dumps({"id": 5})})},
        {
            "data": json.dumps(
                {"eventType": "x", "instanceId": "i", "data": json.dumps({"id": "e", "entityEventSequence": "x"})}
            )
        },
        {"data": json.dumps(["a list"])},
    ],
)
def test_a_signed_but_malformed_envelope_is_400(claims: dict[str, Any]) -> None:
    # Given a properly signed token whose envelope is not what Wix sends
    now = int(time.time())
    body = jwt.encode({**claims, "iat": now, "exp": now + 60}, PRIVATE, algorithm="RS256")
    # When it is parsed / Then it is a client error, not a crash
    with pytest.raises(WebhookRejected) as rejected:
        parse_webhook(body, load_public_key(PUBLIC_PEM), APP_ID)
    assert (rejected.value.status, rejected.value.code) == (400, "malformed")


@pytest.mark.parametrize("layer", ["data", "data.data"])
def test_a_layer_sent_as_an_object_instead_of_a_json_string_is_400(layer: str) -> None:
    # Given a signed token whose envelope (or domain event) is a JSON object, not the JSON string Wix sends; @wix/sdk
    # refuses it too (event-handlers-modules.js parseJWT: "Unexpected type of JWT data: expected string")
    claims = _claims()
    envelope = json.loads(claims["data"])
    if layer == "data":
        claims["data"] = envelope
    else:
        claims["data"] = json.dumps(envelope | {"data": json.loads(envelope["data"])})
    body = jwt.encode(claims, PRIVATE, algorithm="RS256")
    # When it is parsed / Then it is refused as malformed: one encoding, the one Wix uses
    with pytest.raises(WebhookRejected) as rejected:
        parse_webhook(body, load_public_key(PUBLIC_PEM), APP_ID)
    assert (rejected.value.status, rejected.value.code) == (400, "malformed")


def test_a_body_that_is_not_a_jwt_is_400() -> None:
    with pytest.raises(WebhookRejected) as rejected:
        parse_webhook('{"hello": "world"}', load_public_key(PUBLIC_PEM), APP_ID)
    assert (rejected.value.status, rejected.value.code) == (400, "malformed")


@pytest.mark.parametrize(
    "form",
    [
        PUBLIC_PEM,
        PUBLIC_PEM.replace("\n", "\\n"),
        "".join(PUBLIC_PEM.strip().splitlines()[1:-1]),
    ],
)
def test_the_public_key_is_accepted_in_each_form_the_dashboard_gives(form: str) -> None:
    body = jwt.encode(_claims(), PRIVATE, algorithm="RS256")
    assert parse_webhook(body, load_public_key(form), APP_ID).event_id == "evt-1"


def test_a_legacy_event_without_an_id_gets_a_stable_one_that_tells_repeats_from_resends() -> None:
    # Given Wix's legacy AppRemoved webhook (data without an event id or time) delivered twice, and the same removal
    # content signed an hour later (the site reinstalled and removed the app again)
    now = int(time.time())
    envelope = {"eventType": "AppRemoved", "instanceId": "inst-9", "data": json.dumps({"appId": "app-1"})}
    token = jwt.encode({"data": json.dumps(envelope), "iat": now - 3600, "exp": now + 60}, PRIVATE, algorithm="RS256")
    later = jwt.encode({"data": json.dumps(envelope), "iat": now, "exp": now + 60}, PRIVATE, algorithm="RS256")
    # When they are parsed
    first, resend, again = (parse_webhook(body, load_public_key(PUBLIC_PEM), APP_ID) for body in (token, token, later))
    # Then the resend shares the derived id (deduplicated) but the later removal does not (it is a new event)
    assert first.event_id == resend.event_id and first.event_id.startswith("legacy-")
    assert again.event_id != first.event_id
    # And each is timed by when Wix signed it, the body being Wix's data
    assert first.occurred_at == datetime.fromtimestamp(now - 3600, UTC) and again.occurred_at > first.occurred_at
    assert first.body() == {"appId": "app-1"}


def test_a_domain_event_is_timed_by_its_event_time() -> None:
    now = int(time.time())
    envelope = {
        "eventType": "x",
        "instanceId": "i",
        "data": json.dumps({"id": "e", "eventTime": "2026-05-01T12:00:00.250Z"}),
    }
    body = jwt.encode({"data": json.dumps(envelope), "iat": now, "exp": now + 60}, PRIVATE, algorithm="RS256")
    assert parse_webhook(body, load_public_key(PUBLIC_PEM), APP_ID).occurred_at == datetime(
        2026, 5, 1, 12, 0, 0, 250000, UTC
    )
