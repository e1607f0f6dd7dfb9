"""Outbound webhook delivery shared by the sandboxes, with the faults real providers exhibit:
duplicates, reordering, loss."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Delivery:
    url: str
    event_id: str
    status: int | None  # None: connection failed or dropped on purpose
    note: str = ""


@dataclass
class DeliveryPlan:
    """How the next webhooks are delivered. `duplicate`: copies of each; `drop`: how many to lose;
    `hold`: keep them until `release` (which can deliver in reverse order)."""

    duplicate: int = 1
    drop: int = 0
    hold: bool = False

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> DeliveryPlan:
        plan = cls(
            duplicate=int(body.get("duplicate", 1)), drop=int(body.get("drop", 0)), hold=bool(body.get("hold", False))
        )
        if plan.duplicate < 1 or plan.drop < 0:
            raise ValueError("'duplicate' must be >= 1 and 'drop' >= 0")
        return plan


@dataclass
class _Pending:
    url: str
    event_id: str
    body: bytes
    headers: dict[str, str]


@dataclass
class WebhookDispatcher:
    timeout_s: float = 10.0
    plan: DeliveryPlan = field(default_factory=DeliveryPlan)
    deliveries: list[Delivery] = field(default_factory=list)
    _held: list[_Pending] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # One client for all deliveries: a new client per webhook costs ~40 ms of connection set-up.
    _http: httpx.Client = field(default_factory=httpx.Client)

    def configure(self, plan: DeliveryPlan) -> None:
        with self._lock:
            self.plan = plan

    def send(self, url: str, event_id: str, body: bytes, headers: dict[str, str]) -> list[Delivery]:
        """Deliver one webhook per the current plan; returns what was attempted now."""
        with self._lock:
            pending = _Pending(url, event_id, body, headers)
            if self.plan.drop > 0:
                self.plan.drop -= 1
                dropped = Delivery(url, event_id, None, "dropped")
                self.deliveries.append(dropped)
                return [dropped]
            if self.plan.hold:
                self._held.append(pending)
                return []
            copies = self.plan.duplicate
        return [self._post(pending) for _ in range(copies)]

    def release(self, reverse: bool = True) -> list[Delivery]:
        """Deliver held webhooks, newest first when `reverse` (out-of-order delivery)."""
        with self._lock:
            held, self._held = self._held, []
            self.plan.hold = False
            copies = self.plan.duplicate
        if reverse:
            held.reverse()
        return [self._post(p) for p in held for _ in range(copies)]

    def _post(self, pending: _Pending) -> Delivery:
        try:
            response = self._http.post(
                pending.url, content=pending.body, headers=pending.headers, timeout=self.timeout_s
            )
            delivery = Delivery(pending.url, pending.event_id, response.status_code)
        except httpx.HTTPError as exc:
            delivery = Delivery(pending.url, pending.event_id, None, f"{type(exc).__name__}")
        with self._lock:
            self.deliveries.append(delivery)
        return delivery
