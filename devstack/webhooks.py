"""Outbound webhook delivery shared by the sandboxes, with the faults real providers exhibit:
duplicates, reordering, loss."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
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
    `hold`: keep them until `release` (which can deliver in reverse order).

    Chaos, seeded: `drop_rate` of the webhooks are lost, `reorder_rate` arrive after the next one, `duplicate_rate`
    arrive again after the next one (as a provider's retry would)."""

    duplicate: int = 1
    drop: int = 0
    hold: bool = False
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> DeliveryPlan:
        plan = cls(
            duplicate=int(body.get("duplicate", 1)),
            drop=int(body.get("drop", 0)),
            hold=bool(body.get("hold", False)),
            duplicate_rate=float(body.get("duplicateRate", 0)),
            reorder_rate=float(body.get("reorderRate", 0)),
            drop_rate=float(body.get("dropRate", 0)),
            seed=int(body.get("seed", 0)),
        )
        if plan.duplicate < 1 or plan.drop < 0:
            raise ValueError("'duplicate' must be >= 1 and 'drop' >= 0")
        rates = (plan.duplicate_rate, plan.reorder_rate, plan.drop_rate)
        if any(not 0 <= r <= 1 for r in rates) or sum(rates) > 1:
            raise ValueError("'duplicateRate', 'reorderRate' and 'dropRate' must be in [0, 1] and add up to <= 1")
        return plan

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def fate(self) -> str | None:
        """Chaos's choice for the next webhook: "drop", "reorder", "duplicate" or None (delivered once, in order)."""
        roll = self._rng.random()
        for name, rate in (
            ("drop", self.drop_rate),
            ("reorder", self.reorder_rate),
            ("duplicate", self.duplicate_rate),
        ):
            if roll < rate:
                return name
            roll -= rate
        return None


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
    _late: list[_Pending] = field(default_factory=list)  # chaos: delivered after the next webhook
    chaos_counts: Counter[str] = field(default_factory=Counter)
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
            fate = self.plan.fate()
            if fate is not None:
                self.chaos_counts[fate] += 1
            if fate == "drop":
                dropped = Delivery(url, event_id, None, "dropped")
                self.deliveries.append(dropped)
                return [dropped]
            if fate == "reorder":
                self._late.append(pending)
                return []
            late, self._late = self._late, []
            if fate == "duplicate":
                self._late.append(pending)
            copies = self.plan.duplicate
        return [self._post(pending) for _ in range(copies)] + [self._post(p) for p in late]

    def flush_late(self) -> list[Delivery]:
        """Deliver what chaos kept back to arrive late (reordered and duplicate copies)."""
        with self._lock:
            late, self._late = self._late, []
        return [self._post(p) for p in late]

    def release(self, reverse: bool = True) -> list[Delivery]:
        """Deliver held webhooks, newest first when `reverse` (out-of-order delivery)."""
        with self._lock:
            held, self._held = self._held, []
            self.plan.hold = False
            copies = self.plan.duplicate
        if reverse:
            held.reverse()
        return [self._post(p) for p in held for _ in range(copies)] + self.flush_late()

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
