"""Clover's 16 requests per second per token, shared by every function and process (docs.clover.com/docs/
api-usage-rate-limits: "16 requests per second per token"; over it, 429 `X-RateLimit-tokenLimit`).

The window is the mappings table's fixed-window counter the Wix client uses (store/rate_windows.py RateWindows: one
conditional `ADD count` under `count < limit`, TTL'd), reused with a one-second window: the counter's key names the
merchant and the second, its limit is 16. A fixed window admits up to 2 x 16 across a second boundary; Clover's
429 then says so and the client waits as Clover asks (pause 1 s, then grow the wait).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from posbridge.pos.clover.client import TOKEN_RATE
from posbridge.store.rate_windows import RateWindows


class SharedSecondLimiter:
    """RateLimiter (client.py) over the shared table: at most `rate` requests per merchant per clock second."""

    def __init__(
        self,
        table_name: str,
        rate: int = TOKEN_RATE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        dynamodb: object = None,
    ) -> None:
        self._window = RateWindows(table_name, rate, dynamodb=dynamodb)
        self._sleep = sleep
        self._clock = clock

    def __repr__(self) -> str:
        return f"SharedSecondLimiter({self._window!r})"

    def acquire(self, key: str) -> None:
        while True:
            now = self._clock()
            second = int(now)
            # the counter's "minute" is the epoch minute of this second: its TTL ends two minutes later
            if self._window.take(f"CLOVER#{key}#{second}", second // 60):
                return
            self._sleep(max(second + 1 - now, 0.001))
