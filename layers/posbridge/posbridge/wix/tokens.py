"""The process-wide cache of Wix access tokens (wix-api.md section 4).

Tokens come from `POST /oauth2/token` with client_credentials and the instance id; they last 4 h and there is no
refresh token. TokenCache keeps one per (base_url, app_id, instance_id) for the whole process and has a new one minted
5 minutes before the old one runs out; the client (wix/client.py) mints, and invalidates a token Wix answers 401 to.
No token ever appears in a repr.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

TOKEN_REFRESH_MARGIN_S = 300.0  # a token is replaced 5 minutes before Wix would reject it


@dataclass(frozen=True)
class TokenKey:
    base_url: str
    app_id: str
    instance_id: str


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # on the cache's clock

    def __repr__(self) -> str:  # never the token
        return f"_Token(refresh_at={self.refresh_at!r})"


class TokenCache:
    """Process-wide, thread-safe access tokens per (base_url, app_id, instance_id).

    A token is reused until `margin_s` before its `expires_in` runs out. Concurrent callers for one key wait for a
    single mint instead of each minting their own. Share one instance per process (module scope in a handler).
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, margin_s: float = TOKEN_REFRESH_MARGIN_S
    ) -> None:
        self._clock = clock
        self._margin_s = margin_s
        self._tokens: dict[TokenKey, _Token] = {}
        self._lock = threading.Lock()
        self._mint_locks: dict[TokenKey, threading.Lock] = {}

    def __repr__(self) -> str:  # never a token
        with self._lock:
            return f"TokenCache(cached={len(self._tokens)})"

    def token(self, key: TokenKey, mint: Callable[[], tuple[str, float]]) -> str:
        """The cached token for `key`, or a new one from `mint() -> (access_token, expires_in seconds)`."""
        cached = self._fresh(key)
        if cached is not None:
            return cached
        with self._lock:
            mint_lock = self._mint_locks.setdefault(key, threading.Lock())
        with mint_lock:
            cached = self._fresh(key)  # another thread may have minted while this one waited
            if cached is not None:
                return cached
            started = self._clock()
            value, expires_in = mint()
            with self._lock:
                self._tokens[key] = _Token(value, started + max(0.0, expires_in - self._margin_s))
            return value

    def invalidate(self, instance_id: str, *, token: str | None = None) -> None:
        """Forget the instance's tokens (all of them, or only `token`, the one Wix just refused)."""
        with self._lock:
            for key in [k for k, t in self._tokens.items() if k.instance_id == instance_id]:
                if token is None or self._tokens[key].value == token:
                    del self._tokens[key]

    def _fresh(self, key: TokenKey) -> str | None:
        with self._lock:
            cached = self._tokens.get(key)
            return cached.value if cached is not None and self._clock() < cached.refresh_at else None
