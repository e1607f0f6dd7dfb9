"""Wix webhooks as Wix sends them: the raw body is an RS256 JWT whose payload holds double-stringified JSON."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from devstack.wix_sandbox.state import Clock, Instance, new_id

ORDER_FQDN = "wix.ecom.v1.order"
# Wix documents no token lifetime; its sample token (dev.wix.com/docs/build-apps/develop-your-app/access/
# authentication/verify-requests-received-from-wix) has exp - iat = 300000 s (~83 h), which outlives the ~47 h of
# retries a token resent as is must survive (the sandbox's dispatcher resends the signed body unchanged).
JWT_TTL_S = 300_000
# Wix posts the JWT as the raw body; it is not JSON, so it goes as plain text.
CONTENT_TYPE = "text/plain; charset=utf-8"
# Wix gives a webhook 1250 ms to answer 200 (wix-api.md section 3).
DELIVERY_TIMEOUT_S = 1.25


def sign_webhook(
    private_key_pem: bytes | RSAPrivateKey,
    event_type: str,
    instance_id: str,
    domain_event: dict[str, Any],
    iat: int | None = None,
    exp: int | None = None,
    *,
    app_id: str | None = None,
    identity: dict[str, Any] | None = None,
    account_info: dict[str, Any] | None = None,
) -> str:
    """The webhook body: JWT{data: str(envelope{eventType, instanceId, data: str(domain_event), identity: str, ...})}.

    The key may be PEM bytes or a loaded key (loading a PEM costs ~30 ms, so the sandbox loads it once).

    `iat`/`exp` are real Unix time (receivers verify against their own clock), `exp` defaults to iat + JWT_TTL_S.
    With `app_id` the token also carries `iss: "wix.com"` and `aud: <app id>`: the claims @wix/sdk's AppStrategy
    checks on calls from Wix (decodeJWT with verifyCallerClaims). Wix's sample token has neither; posbridge checks
    them when present, so signing them exercises that check end to end.
    """
    default_identity = {"identityType": "APP", "appId": app_id} if app_id else {"identityType": "UNKNOWN"}
    envelope = {
        "eventType": event_type,
        "instanceId": instance_id,
        "data": json.dumps(domain_event),
        "identity": json.dumps(identity or default_identity),
        "accountInfo": account_info or {},
    }
    issued = int(time.time()) if iat is None else iat
    expires = issued + JWT_TTL_S if exp is None else exp
    claims: dict[str, Any] = {"data": json.dumps(envelope), "iat": issued, "exp": expires}
    if app_id:
        claims |= {"iss": "wix.com", "aud": app_id}
    return jwt.encode(claims, private_key_pem, algorithm="RS256")


@dataclass
class OutgoingEvent:
    """A domain event decided under the store lock and delivered after it is released."""

    event_type: str
    instance_id: str
    domain_event: dict[str, Any]
    identity: dict[str, Any]
    account_info: dict[str, str]

    @property
    def event_id(self) -> str:
        return str(self.domain_event["id"])


def new_event(
    inst: Instance,
    clock: Clock,
    *,
    event_type: str,
    entity_id: str,
    body: dict[str, Any],
    identity: dict[str, Any],
    fqdn: str | None = None,
    slug: str | None = None,
) -> OutgoingEvent:
    """Build a domain event (`id`, `entityFqdn`, `slug`, sequence...) and log it on the instance."""
    default_fqdn, _, default_slug = event_type.rpartition(".")[2].partition("_")
    prefix = event_type.rpartition(".")[0]
    domain_event = {
        "id": new_id(),
        "entityFqdn": fqdn or f"{prefix}.{default_fqdn}",
        "slug": slug or default_slug,
        "entityId": entity_id,
        "eventTime": clock.iso(),
        "triggeredByAnonymizeRequest": False,
        "entityEventSequence": str(inst.next_sequence(entity_id)),  # int64 as a JSON string, as Wix sends it
        **copy.deepcopy(body),
    }
    inst.events.append(
        {
            "eventId": domain_event["id"],
            "eventType": event_type,
            "entityId": entity_id,
            "entityEventSequence": domain_event["entityEventSequence"],
            "eventTime": domain_event["eventTime"],
        }
    )
    return OutgoingEvent(event_type, inst.instance_id, domain_event, identity, inst.account_info())


def order_event(
    inst: Instance, clock: Clock, slug: str, order: dict[str, Any], identity: dict[str, Any], **action: Any
) -> OutgoingEvent:
    """Order events: created -> createdEvent.entity, updated -> updatedEvent.currentEntity, else actionEvent.body."""
    if slug == "created":
        body: dict[str, Any] = {"createdEvent": {"entity": order}}
    elif slug == "updated":
        body = {"updatedEvent": {"currentEntity": order}}
    else:
        body = {"actionEvent": {"body": {"order": order, **action}}}
    return new_event(
        inst,
        clock,
        event_type=f"{ORDER_FQDN}_{slug}",
        entity_id=order["id"],
        body=body,
        identity=identity,
        fqdn=ORDER_FQDN,
        slug=slug,
    )
