"""Two tenants' events never deduplicate each other: the SQS FIFO dedup id and the workers' idempotency key are scoped
to the tenant (a reconcile event id is built from an order id; a provider's event id is only unique per provider)."""

from __future__ import annotations

import jmespath

from posbridge.domain.work_message import WorkMessage
from posbridge.messaging import IDEMPOTENCY_KEY_JMESPATH


def _message(tenant: str, event_id: str = "reconcile:ORDER-1:2026-12-06T10:00:00Z") -> WorkMessage:
    return WorkMessage(
        source="wix", event_type="order.approved", event_id=event_id, tenant_id=tenant, entity_id="ORDER-1", payload={}
    )


def _idempotency_key(message: WorkMessage) -> object:
    # What Powertools' idempotency layer hashes: the JMESPath selection of the worker's input
    return jmespath.search(IDEMPOTENCY_KEY_JMESPATH, message.model_dump(mode="json"))


def test_the_same_event_id_for_two_tenants_is_two_events() -> None:
    # Given two tenants whose events carry the same event id
    a, b = _message("inst-a"), _message("inst-b")
    # Then neither FIFO deduplication nor the idempotency record can make B's event a duplicate of A's
    assert a.dedup_id != b.dedup_id
    assert _idempotency_key(a) != _idempotency_key(b)


def test_a_redelivered_event_of_one_tenant_is_still_a_duplicate() -> None:
    # Given the same event delivered twice to one tenant (with a different payload snapshot)
    first, again = _message("inst-a"), _message("inst-a").model_copy(update={"payload": {"retry": 1}})
    # Then both layers see one event
    assert first.dedup_id == again.dedup_id
    assert _idempotency_key(first) == _idempotency_key(again)
