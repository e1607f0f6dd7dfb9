"""Deterministic idempotency keys for outbound writes: same (tenant, operation, entity, body) -> same key, so a retry
after a 429, a 5xx, a timeout or a crash replays the write instead of duplicating it."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


def idempotency_key(tenant_id: str, operation: str, entity_id: str, body: Any) -> str:
    """64 hex chars: fits every provider's limit (Square orders 192, customers 45 after the adapter's own hashing)."""
    material = f"{tenant_id}|{operation}|{entity_id}|{body_hash(body)}"
    return hashlib.sha256(material.encode()).hexdigest()
