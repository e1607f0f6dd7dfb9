"""Clover's expiring OAuth tokens, kept fresh (docs.clover.com/docs/refresh-access-tokens).

- `POST {api host}/oauth/v2/refresh` with JSON `{"client_id", "refresh_token"}` (no secret) answers a new pair:
  `{"access_token", "access_token_expiration", "refresh_token", "refresh_token_expiration"}`, expirations in Unix
  seconds. "Refresh token is for single use and becomes invalid immediately after a new access_token and
  refresh_token pair is generated"; Clover also caps active refresh tokens per merchant and app ("If an app exceeds
  the limit, prior tokens become invalid"); lifetimes are not to be hard-coded ("Dynamic expiration dates and
  length").
- So the new pair is saved (TokenStore.replace) before anything uses it: a crash after the refresh must not leave the
  store holding a spent refresh token. A refresh whose reply is lost spent the old token all the same: the next
  attempt answers 401 and the merchant must authorise the app again (the store then holds what it held).
- Two workers may refresh at once with the same token: the loser gets 401, reads the store again, and takes the
  pair the winner saved. `replace` is a compare-and-set on the refresh token so a slow worker never overwrites a
  newer pair with an older one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel, ConfigDict

REFRESH_PATH = "/oauth/v2/refresh"
LEASE_S = 30  # at most this long for one refresh (its retries included) before another worker may try
REFRESH_MARGIN_S = 60  # refresh this long before the access token expires, so no request carries a dying token


class CloverTokens(BaseModel):
    """One merchant's token pair (secrets: never logged; the repr hides them)."""

    model_config = ConfigDict(frozen=True)

    access_token: str
    access_token_expiration: int  # Unix seconds
    refresh_token: str
    refresh_token_expiration: int

    def __repr__(self) -> str:
        return f"CloverTokens(access_token_expiration={self.access_token_expiration})"

    __str__ = __repr__

    def fresh(self, now: float, margin: float = REFRESH_MARGIN_S) -> bool:
        return now < self.access_token_expiration - margin


class TokenStore(Protocol):
    """Where one merchant's pair lives (the lead wires a DynamoDB/Secrets Manager implementation)."""

    def load(self) -> CloverTokens:
        """The current pair. Raises PermanentError when the merchant has none (authorise the app first)."""
        ...

    def replace(self, old_refresh_token: str, new: CloverTokens) -> bool:
        """Store `new` if the stored pair still holds `old_refresh_token`; False when another worker replaced it."""
        ...

    def lease(self, refresh_token: str, owner: str, seconds: float) -> bool:
        """The right to refresh `refresh_token` for `seconds`, across processes (pos/clover/token_store.py); False while
        another worker holds it or once the stored pair has moved on. `replace` releases it."""
        ...


class MemoryTokenStore:
    """A TokenStore in memory (tests, the devstack)."""

    def __init__(self, tokens: CloverTokens) -> None:
        self._tokens = tokens
        self._lock = threading.Lock()
        self._lease_until = 0.0
        self.replaced = 0

    def load(self) -> CloverTokens:
        with self._lock:
            return self._tokens

    def replace(self, old_refresh_token: str, new: CloverTokens) -> bool:
        with self._lock:
            if self._tokens.refresh_token != old_refresh_token:
                return False
            self._tokens = new
            self.replaced += 1
            self._lease_until = 0.0
            return True

    def lease(self, refresh_token: str, owner: str, seconds: float) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._tokens.refresh_token != refresh_token or self._lease_until > now:
                return False
            self._lease_until = now + seconds
            return True


def parse_pair(payload: dict[str, object]) -> CloverTokens:
    """The refresh answer as a pair; ValueError when a field is missing or mistyped."""
    try:
        return CloverTokens.model_validate(
            {
                key: payload[key]
                for key in ("access_token", "access_token_expiration", "refresh_token", "refresh_token_expiration")
            }
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(f"not a Clover token pair: {type(exc).__name__}") from None


Clock = Callable[[], float]
DEFAULT_CLOCK: Clock = time.time
