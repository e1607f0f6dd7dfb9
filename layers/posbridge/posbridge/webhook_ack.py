"""The HTTP requests and answers of the webhook ack handlers (Wix, Square, Clover): no framework, one route each, so
plain dicts.

Imported on the Wix ack path, which is cold-start sensitive: nothing heavier than what that handler already loads."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Literal

from posbridge.errors import WebhookRejected
from posbridge.metric import emit_metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from posbridge.secrets import TenantSecrets


def raw_body(event: dict[str, Any]) -> bytes:
    """The body exactly as API Gateway passed it (a signature covers these bytes)."""
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()


def header(event: dict[str, Any], name: str) -> str | None:
    """A request header, whatever case the sender gave its name."""
    wanted = name.lower()
    return next((v for k, v in (event.get("headers") or {}).items() if str(k).lower() == wanted), None)


class WebhookKeys:
    """Each tenant's webhook key (Square: the signature key; Clover: the Auth Code), from its secret (cached by
    Powertools for five minutes)."""

    def __init__(self, vault: TenantSecrets) -> None:
        self._vault = vault

    def signature_key(self, instance_id: str) -> str:
        return self._vault.pos_credentials(instance_id).webhook_signature_key.get_secret_value()


def too_large(limit: int) -> WebhookRejected[Literal["too_large"]]:
    """A body over `limit` bytes: refused before verifying or parsing (no partner sends anything near it)."""
    return WebhookRejected(413, "too_large", f"body over {limit} bytes")


def rejected(logger: Logger, source: str, rejection: WebhookRejected[str]) -> dict[str, Any]:
    """Log the refusal and count it by reason (an EMF line, only on this path: accepted webhooks pay nothing)."""
    logger.warning(
        f"{source} webhook rejected",
        extra={"status": rejection.status, "reason": rejection.code, "detail": rejection.reason},
    )
    emit_metric("WebhooksRejected", 1, reason=rejection.code)
    return json_response(rejection.status, {"message": rejection.reason})


def json_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
