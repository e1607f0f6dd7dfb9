"""A clock and a sleep for it, for code that takes both as arguments: sleeping moves the clock and records the wait."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeTime:
    now: float
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
