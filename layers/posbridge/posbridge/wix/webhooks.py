"""Wix webhooks: the raw body is an RS256 JWT whose payload nests the event as JSON strings (wix-api.md section 3).

JWT payload {data: str, iat, exp}
  data -> {eventType, instanceId, data: str, identity: str, accountInfo}
    data -> domain event {id, entityFqdn, slug, entityId, eventTime, entityEventSequence?, createdEvent|actionEvent|...}
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posbridge.errors import WebhookRejected

CLOCK_SKEW_S = 30  # tolerated difference between Wix's clock and ours for iat/exp
# @wix/sdk 1.21.16 build/auth/AppStrategy.js decodeJWT(token, verifyCallerClaims=true): jwtVerify(token, key,
# {issuer: "wix.com", audience: opts.appId}). Its webhook path (event-handlers-modules.js parseJWT) calls
# decodeJWT(jwt) without those checks, and Wix's documented sample token carries neither claim (verify-wix-requests:
# {data, iat, exp}), so a token without them is accepted; one that names another issuer or app is not.
WIX_ISSUER = "wix.com"
# Wix retries a failed webhook "for 48 hours from the time the event occurred" (dev.wix.com/docs/build-apps/
# developer-tools/apis-and-webhooks/webhooks; the resend policy's 12 retries, 1 min ... 12 h, add up to ~47 h).
# Whether a retry is re-signed with a fresh iat is not documented, so the cap assumes the worst (the first token
# resent as is) and leaves a day of margin for Wix's own queueing delays. Wix's documented sample token lives
# 300000 s (~83 h) by its exp, so the cap still shortens the replay window of a captured token.
MAX_TOKEN_AGE_S = 72 * 3600

# Why a webhook was refused: the `reason` dimension of the WebhooksRejected metric (a closed set, so few metrics).
RejectReason = Literal["too_large", "malformed", "bad_signature", "expired", "invalid_token"]
# Not a valid Wix webhook: 401 forged, 400 malformed.
Rejected = WebhookRejected[RejectReason]


class DomainEvent(BaseModel):
    """The inner event. Legacy webhooks (e.g. AppInstalled, AppRemoved) carry plain data without an `id`."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | None = Field(default=None, min_length=1)
    entity_fqdn: str | None = Field(default=None, alias="entityFqdn")
    slug: str | None = None
    entity_id: str | None = Field(default=None, alias="entityId")
    event_time: str | None = Field(default=None, alias="eventTime")
    entity_event_sequence: int | None = Field(default=None, alias="entityEventSequence")


class WixEvent(BaseModel):
    """A verified, decoded Wix webhook."""

    model_config = ConfigDict(frozen=True)

    event_type: str
    instance_id: str
    event: DomainEvent
    raw_data: str  # the inner data exactly as signed, for a stable id when Wix gives none
    issued_at: int  # the JWT's iat: when Wix signed the event (once, when it happened; retries resend that token)

    @property
    def event_id(self) -> str:
        """Wix's event id; for a legacy event without one, a digest of what Wix signed, its time included: a resend
        carries the same, while the same content signed later (remove, reinstall, remove again) is a new event."""
        if self.event.id:
            return self.event.id
        signed = f"{self.event_type}|{self.instance_id}|{self.issued_at}|{self.raw_data}"
        return f"legacy-{hashlib.sha256(signed.encode()).hexdigest()[:48]}"

    @property
    def occurred_at(self) -> datetime:
        """When the event happened: its `eventTime`, or for a legacy event (none) the time Wix signed it."""
        if self.event.event_time:
            try:
                moment = datetime.fromisoformat(self.event.event_time.replace("Z", "+00:00"))
                return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            except ValueError:
                pass
        return datetime.fromtimestamp(self.issued_at, UTC)

    @property
    def entity_id(self) -> str | None:
        return self.event.entity_id

    def body(self) -> dict[str, Any]:
        """The domain event as Wix sent it (entity payloads included)."""
        return self.event.model_dump(by_alias=True, exclude_none=True)


class WixWebhookVerifier:
    """The WixWebhooks port (ports/wix.py): this app's webhooks, verified with the key Wix shows in the dashboard."""

    def __init__(self, public_key: RSAPublicKey, app_id: str) -> None:
        self._public_key = public_key
        self._app_id = app_id

    def parse(self, raw_body: str) -> WixEvent:
        return parse_webhook(raw_body, self._public_key, self._app_id)


@lru_cache(maxsize=4)
def load_public_key(text: str) -> RSAPublicKey:
    """Accepts the key as shown in the Wix dashboard: a PEM, a PEM with literal "\\n", or the bare base64 body."""
    pem = text.strip().replace("\\n", "\n")
    if "-----BEGIN" not in pem:
        pem = f"-----BEGIN PUBLIC KEY-----\n{pem}\n-----END PUBLIC KEY-----"
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the Wix webhook public key must be an RSA key")
    return key


def parse_webhook(raw_body: str, public_key: RSAPublicKey, app_id: str) -> WixEvent:
    """Verify the JWT (RS256 only, exp and iat required, iat at most MAX_TOKEN_AGE_S old, iss/aud when present) and
    decode the nested envelope, or raise WebhookRejected."""
    try:
        claims = jwt.decode(
            raw_body.strip(),
            public_key,
            algorithms=["RS256"],
            options={"require": ["exp", "iat", "data"], "verify_aud": False},
            leeway=CLOCK_SKEW_S,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Rejected(401, "expired", f"webhook signature rejected: {exc}") from exc
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError) as exc:
        raise Rejected(401, "bad_signature", f"webhook signature rejected: {exc}") from exc
    except jwt.DecodeError as exc:
        raise Rejected(400, "malformed", f"body is not a JWT: {exc}") from exc
    except jwt.InvalidTokenError as exc:
        raise Rejected(401, "invalid_token", f"webhook token rejected: {exc}") from exc
    _check_caller_claims(claims, app_id)
    age = time.time() - int(claims["iat"])
    if age > MAX_TOKEN_AGE_S + CLOCK_SKEW_S:
        raise Rejected(401, "expired", f"webhook token issued {int(age)} s ago; at most {MAX_TOKEN_AGE_S} s accepted")

    envelope = _json_object(claims["data"], "data")
    event_type, instance_id = envelope.get("eventType"), envelope.get("instanceId")
    if not isinstance(event_type, str) or not event_type or not isinstance(instance_id, str) or not instance_id:
        raise Rejected(400, "malformed", "envelope needs string 'eventType' and 'instanceId'")
    inner = envelope.get("data")
    try:
        event = DomainEvent.model_validate(_json_object(inner, "data.data"))  # raises unless inner is a string
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        raise Rejected(400, "malformed", f"domain event invalid at: {fields}") from exc
    return WixEvent(
        event_type=event_type, instance_id=instance_id, event=event, raw_data=str(inner), issued_at=int(claims["iat"])
    )


def _check_caller_claims(claims: dict[str, Any], app_id: str) -> None:
    """iss/aud as @wix/sdk checks them for calls from Wix (see WIX_ISSUER), when the token carries them."""
    if "iss" in claims and claims["iss"] != WIX_ISSUER:
        raise Rejected(401, "invalid_token", "webhook token rejected: issuer is not wix.com")
    if "aud" in claims:
        audience = claims["aud"]
        audiences = audience if isinstance(audience, list) else [audience]
        if app_id not in audiences:
            raise Rejected(401, "invalid_token", "webhook token rejected: audience is not this app")


def _json_object(value: Any, where: str) -> dict[str, Any]:
    """Wix stringifies each layer, and @wix/sdk refuses any other encoding (event-handlers-modules.js parseJWT)."""
    if not isinstance(value, str):
        raise Rejected(400, "malformed", f"'{where}' must be a JSON string")
    try:
        value = json.loads(value)
    except json.JSONDecodeError as exc:
        raise Rejected(400, "malformed", f"'{where}' is not valid JSON") from exc
    if not isinstance(value, dict):
        raise Rejected(400, "malformed", f"'{where}' must be a JSON object")
    return value
