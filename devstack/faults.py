"""Fault injection shared by the sandboxes: throttling, server errors and slow answers on chosen routes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
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


class FaultInjector:
    """Thread-safe list of pending faults, applied as WSGI middleware in front of a sandbox's API routes."""

    def __init__(self, error_body: Callable[[int], dict[str, Any]]) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._error_body = error_body
        self.injected = 0

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
            return app(environ, start_response)

        return middleware
