"""Clover webhooks (docs.clover.com/docs/webhooks): one callback URL per app, verified by a handshake, then every
message carries the app's static "Clover Auth Code" in the `X-Clover-Auth` header (no body signature).

Handshake: Clover POSTs `{"verificationCode": "<uuid>"}` to the URL; a person pastes the code into the Developer
Dashboard, which then shows the auth code. Message body: `{"appId": ..., "merchants": {"<mId>": [{"objectId":
"O:<id>", "type": "CREATE" | "UPDATE" | "DELETE", "ts": <Unix ms>}]}}`: no event id and no object data. Clover
does not promise delivery ("Clover does not guarantee when, or if, notifications will be received", older copy of
the page): the shared dispatcher's plan can drop, duplicate and reorder messages.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from devstack.clover_sandbox.state import App, Outgoing
from devstack.webhooks import WebhookDispatcher

AUTH_HEADER = "X-Clover-Auth"


def body(app: App, batch: list[Outgoing]) -> dict[str, Any]:
    merchants: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in batch:
        merchants[event.merchant_id].append({"objectId": event.object_id, "type": event.type, "ts": event.ts})
    return {"appId": app.client_id, "merchants": dict(merchants)}


def deliver(dispatcher: WebhookDispatcher, app: App, batch: list[Outgoing]) -> None:
    """One POST for the batch (one POST can carry several merchants and updates); nothing before verification."""
    if not batch or app.webhook_url is None or app.auth_code is None:
        return
    payload = json.dumps(body(app, batch)).encode()
    headers = {"Content-Type": "application/json", AUTH_HEADER: app.auth_code}
    dispatcher.send(app.webhook_url, batch[0].object_id, payload, headers)


def send_verification(dispatcher: WebhookDispatcher, url: str, code: str) -> None:
    payload = json.dumps({"verificationCode": code}).encode()
    dispatcher.send(url, "verification", payload, {"Content-Type": "application/json"})
