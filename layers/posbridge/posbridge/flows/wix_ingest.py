"""Ingest of Wix webhooks: verify, keep the events a flow handles, enqueue, answer. No outbound HTTP on this path:
Wix wants HTTP 200 within 1250 ms and retries anything else for about 47 hours."""

from __future__ import annotations

from dataclasses import dataclass

from posbridge.domain.events import ORDER_APPROVED, ORDER_CANCELED, ORDER_CREATED, ORDER_PAYMENT_STATUS_UPDATED
from posbridge.domain.work_message import WorkMessage
from posbridge.flows.lifecycle import LIFECYCLE_EVENTS, OCCURRED_AT, iso
from posbridge.ports.wix import WixWebhooks
from posbridge.ports.work import Enqueuer

HANDLED_EVENT_TYPES = (
    frozenset({ORDER_CREATED, ORDER_APPROVED, ORDER_CANCELED, ORDER_PAYMENT_STATUS_UPDATED}) | LIFECYCLE_EVENTS
)
LIFECYCLE_ENTITY = "app"  # one message group per instance for its lifecycle events, so they apply in order


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # "queued" | "ignored"
    event_type: str
    event_id: str
    instance_id: str


def ingest_wix_webhook(raw_body: str, webhooks: WixWebhooks, queue: Enqueuer) -> IngestOutcome:
    """Raises posbridge.errors.WebhookRejected for forged or malformed bodies (nothing is enqueued then)."""
    event = webhooks.parse(raw_body)
    outcome = IngestOutcome("ignored", event.event_type, event.event_id, event.instance_id)
    if event.event_type not in HANDLED_EVENT_TYPES:
        return outcome
    lifecycle = event.event_type in LIFECYCLE_EVENTS
    queue.send(
        WorkMessage(
            source="wix",
            event_type=event.event_type,
            event_id=event.event_id,
            tenant_id=event.instance_id,
            entity_id=LIFECYCLE_ENTITY if lifecycle else (event.entity_id or event.event_id),
            # Lifecycle events carry no time of their own: the worker orders them by when Wix signed them.
            payload={**event.body(), OCCURRED_AT: iso(event.occurred_at)} if lifecycle else event.body(),
        )
    )
    return IngestOutcome("queued", event.event_type, event.event_id, event.instance_id)
