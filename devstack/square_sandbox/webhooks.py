"""Square webhook notifications: the event envelope, its signature, and delivery through the shared dispatcher."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

from devstack.webhooks import WebhookDispatcher

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def sign(signature_key: str, notification_url: str, body: bytes) -> str:
    """Square's signature: base64(HMAC-SHA256(key = signature key, message = notification URL + raw body))."""
    digest = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def envelope(merchant_id: str, event_type: str, created_at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "merchant_id": merchant_id,
        "type": event_type,
        "event_id": str(uuid.uuid4()),
        "created_at": created_at,
        "data": data,
    }


@dataclass
class Outgoing:
    """An event captured with the merchant's subscription as it was when the event happened."""

    url: str
    signature_key: str
    event: dict[str, Any]


def deliver(dispatcher: WebhookDispatcher, outgoing: Outgoing) -> None:
    body = json.dumps(outgoing.event).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(outgoing.signature_key, outgoing.url, body),
    }
    dispatcher.send(outgoing.url, outgoing.event["event_id"], body, headers)
