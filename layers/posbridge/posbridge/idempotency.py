"""Idempotency keys for outbound writes, derived from identity only: (tenant, step, entity), never the body.

The same step of the same entity always carries the same key, whatever the entity looks like by then: a retry after a
429, a 5xx, a timeout or a crash, a redelivery, a reconciliation re-queueing an order edited since, or a deploy that
changes the domain model all replay the one write instead of making a second one. A changed body under the same key
is then the partner's to refuse (Square: IDEMPOTENCY_KEY_REUSED), which parks the message rather than duplicating.
"""

from __future__ import annotations

import hashlib


def idempotency_key(tenant_id: str, step: str, entity_id: str) -> str:
    """64 hex chars: fits every provider's limit (Square orders 192, customers 45 after the adapter's own hashing)."""
    return hashlib.sha256(f"{tenant_id}|{step}|{entity_id}".encode()).hexdigest()
