"""One unit of work on the FIFO work queue between the ingest handlers and the workers (messaging.py sends it).

Group = tenant + entity, so one order's events apply in order while tenants and orders proceed in parallel;
dedup id = the provider's event id, so a webhook delivered twice within SQS's 5-minute window is enqueued once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_SQS_ID_MAX = 128


class WorkMessage(BaseModel):
    """One unit of work for a worker; `source` + `event_type` tell the worker which flow handles it."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="provider that sent the event, e.g. 'wix' or 'square'")
    event_type: str
    event_id: str
    tenant_id: str
    entity_id: str
    payload: dict[str, Any]

    @property
    def group_id(self) -> str:
        return sqs_id(f"{self.tenant_id}:{self.entity_id}")

    @property
    def dedup_id(self) -> str:
        """FIFO deduplication within the tenant, for the same reason as IDEMPOTENCY_KEY_JMESPATH."""
        return sqs_id(f"{self.tenant_id}:{self.source}:{self.event_id}")


def sqs_id(value: str) -> str:
    """SQS ids allow 128 chars; longer values are hashed so the id stays deterministic."""
    return value if len(value) <= _SQS_ID_MAX else hashlib.sha256(value.encode()).hexdigest()
