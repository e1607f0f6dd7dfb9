"""The work the flows hand on: the FIFO work queues (messaging.py) and the catalog publish workflow (executions.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from posbridge.domain.work_message import WorkMessage


class Enqueuer(Protocol):
    def send(self, message: WorkMessage) -> str: ...


class BatchEnqueuer(Protocol):
    def send_many(self, messages: Sequence[WorkMessage]) -> None: ...


class Executions(Protocol):
    """The catalog publish workflow's executions (Step Functions)."""

    def start(self, name: str, execution_input: dict[str, Any]) -> str: ...
    def status(self, execution_arn: str) -> str: ...
    def stop(self, execution_arn: str, cause: str) -> None: ...
