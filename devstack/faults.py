"""Fault injection shared by the sandboxes: throttling, server errors and slow answers on chosen routes, and chaos:
a seeded share of all API requests answered 429, 5xx, never answered, or processed and then answered 500."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

CONTROL_PREFIX = "/_sandbox/"


@dataclass
class Fault:
    """Answer the next `times` requests matching method + path prefix with `status` (after `delay_ms`)."""

    path: str
    method: str | None = None
    status: int | None = 503
    delay_ms: int = 0
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path) and (self.method is None or self.method.upper() == method.upper())

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Fault:
        if not isinstance(body.get("path"), str) or not body["path"].startswith("/"):
            raise ValueError("fault needs 'path', a path prefix starting with '/'")
        status = body.get("status")
        if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
            raise ValueError("'status' must be an HTTP error status (400-599) or null for delay only")
        return cls(
            path=body["path"],
            method=body.get("method"),
            status=status,
            delay_ms=int(body.get("delayMs", 0)),
            times=int(body.get("times", 1)),
        )


# What chaos does to a request it picks. "timeout": the connection closes without an answer after `timeout_ms`, the
# request processed or not (a coin toss), which is what a client's read timeout leaves it knowing. "processed_then_500":
# the sandbox really applies the request, then answers 500 (a lost response: the dangerous case for a non-idempotent
# write).
CHAOS_KINDS = ("throttled", "server_error", "timeout", "processed_then_500")


@dataclass
class Chaos:
    """Pick `rate` of the API requests under `path` (seeded) and apply one of `kinds` to each, uniformly."""

    rate: float
    seed: int = 0
    path: str = "/"
    kinds: tuple[str, ...] = CHAOS_KINDS
    timeout_ms: int = 200
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def pick(self, path: str) -> tuple[str, bool] | None:
        """The kind of fault for this request (and, for a timeout, whether it is processed first), or None."""
        if not path.startswith(self.path) or self._rng.random() >= self.rate:
            return None
        return self._rng.choice(self.kinds), self._rng.random() < 0.5

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Chaos:
        rate = body.get("rate")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError("'rate' must be a number between 0 and 1")
        kinds = tuple(body.get("kinds") or CHAOS_KINDS)
        unknown = set(kinds) - set(CHAOS_KINDS)
        if unknown:
            raise ValueError(f"unknown chaos kinds {sorted(unknown)}; known: {list(CHAOS_KINDS)}")
        path = body.get("path", "/")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError("'path' must be a path prefix starting with '/'")
        return cls(float(rate), int(body.get("seed", 0)), path, kinds, int(body.get("timeoutMs", 200)))


class FaultInjector:
    """Thread-safe list of pending faults, applied as WSGI middleware in front of a sandbox's API routes."""

    def __init__(self, error_body: Callable[[int], dict[str, Any]]) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._error_body = error_body
        self.injected = 0
        self._chaos: Chaos | None = None
        self.chaos_counts: Counter[str] = Counter()  # faults chaos applied, by kind (a processed timeout: +"processed")

    def set_chaos(self, chaos: Chaos | None) -> None:
        with self._lock:
            self._chaos = chaos

    def chaos_view(self) -> dict[str, Any]:
        with self._lock:
            chaos = self._chaos
            settings = (
                None
                if chaos is None
                else {
                    "rate": chaos.rate,
                    "seed": chaos.seed,
                    "path": chaos.path,
                    "kinds": list(chaos.kinds),
                    "timeoutMs": chaos.timeout_ms,
                }
            )
            return {"chaos": settings, "applied": dict(self.chaos_counts)}

    def _roll(self, path: str) -> tuple[str, bool] | None:
        with self._lock:
            picked = None if self._chaos is None else self._chaos.pick(path)
            if picked is not None:
                kind, processed = picked
                self.chaos_counts[kind] += 1
                if kind == "timeout" and processed:
                    self.chaos_counts["timeout_processed"] += 1
            return picked

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    self.injected += 1
                    return fault
        return None

    def wrap(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            request = Request(environ)
            if not request.path.startswith(CONTROL_PREFIX):
                fault = self.take(request.method, request.path)
                if fault is not None:
                    if fault.delay_ms:
                        time.sleep(fault.delay_ms / 1000)
                    if fault.status is not None:
                        response = Response(
                            json.dumps(self._error_body(fault.status)), status=fault.status, mimetype="application/json"
                        )
                        return response(environ, start_response)
                else:
                    picked = self._roll(request.path)
                    if picked is not None:
                        return self._chaos_answer(picked, app, environ, start_response)
            return app(environ, start_response)

        return middleware

    def _chaos_answer(
        self,
        picked: tuple[str, bool],
        app: Callable[..., Iterable[bytes]],
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        kind, processed_timeout = picked
        if kind == "processed_then_500" or (kind == "timeout" and processed_timeout):
            # Really apply the request (state changes, webhooks fire), then lose its answer.
            b"".join(app(environ, lambda *_args, **_kw: None))
        if kind == "timeout":
            time.sleep((self._chaos.timeout_ms if self._chaos else 0) / 1000)
            _drop_connection(environ)
            start_response("504 Gateway Timeout", [("Content-Length", "0")])
            return [b""]
        status = 429 if kind == "throttled" else (500 if kind == "processed_then_500" else 503)
        response = Response(json.dumps(self._error_body(status)), status=status, mimetype="application/json")
        return response(environ, start_response)


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's connection without an answer (werkzeug's dev server exposes the socket); the answer the
    server then tries to write goes nowhere. The client sees a transport error, as after a read timeout."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
