"""Run the template's Lambda handlers in this process whenever moto invokes a function.

moto cannot run Lambda code without Docker, so `LambdaFunction._invoke_lambda` is replaced: it imports the function's
handler from its folder (a cold start, once per function), applies the function's resolved environment, calls the
handler and answers like Lambda does (an error payload with `errorType` = exception class name, which is what
Step Functions Retry/Catch match on). Direct invokes, Step Functions tasks and the SQS poller all come through here.
No global lock is held around a handler: nested chains run on other threads and would deadlock.
"""

from __future__ import annotations

import contextvars
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from moto.awslambda.models import LambdaFunction

from devstack.template import FunctionSource

Handler = Callable[[Any, Any], Any]

_caller = threading.local()


def current_caller() -> str | None:
    """The function (or other devstack actor) whose code runs on this thread now, for the AWS usage meter."""
    return getattr(_caller, "name", None)


@contextmanager
def attributed(name: str) -> Iterator[None]:
    """AWS calls made on this thread inside the block are counted as `name`'s (devstack/meter.py)."""
    outer = current_caller()
    _caller.name = name
    try:
        yield
    finally:
        _caller.name = outer


# The template's logical id of the function whose handler runs in this context (None outside handlers): lets a test
# attribute each AWS call a handler makes to its function (tests/e2e/test_table_access.py).
CURRENT_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar("devstack_function", default=None)


@dataclass
class LambdaContext:
    """The attributes Powertools and handlers read from the real Lambda context."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    timeout_s: float = 30.0  # the function's Timeout from the template
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        """As Lambda counts it: the function's timeout less the time this invocation has run (never enforced here)."""
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


@dataclass
class Invocation:
    function_name: str
    error_type: str | None
    duration_ms: float = 0.0  # wall time of the handler call, as Lambda bills it (rounded up to 1 ms)
    memory_mb: int = 0


class InProcessRuntime:
    """Maps moto's function names to handler folders and runs them."""

    def __init__(self) -> None:
        self._sources: dict[str, FunctionSource] = {}
        self._handlers: dict[str, Handler] = {}
        self._import_lock = threading.Lock()
        self._env_lock = threading.Lock()
        self.invocations: list[Invocation] = []

    def register(self, function_name: str, source: FunctionSource) -> None:
        self._sources[function_name] = source

    def install(self) -> None:
        runtime = self

        def invoke(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(fn, event)

        LambdaFunction._invoke_lambda = invoke  # type: ignore[method-assign,assignment]

    def invoke(self, fn: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        source = self._sources.get(fn.function_name)
        if source is None:
            error = {"errorType": "ResourceNotFound", "errorMessage": f"no local code for {fn.function_name}"}
            return json.dumps(error), True, ""
        env = {str(k): str(v) for k, v in (fn.environment_vars or {}).items()}
        env.update(AWS_LAMBDA_FUNCTION_NAME=fn.function_name, AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(fn.memory_size))
        context = LambdaContext(fn.function_name, int(fn.memory_size), fn.function_arn, timeout_s=float(fn.timeout))
        handler = None
        started = 0.0
        try:
            handler = self._handler(fn.function_name, source, env)
            with self._env_lock:
                os.environ.update(env)
            started = time.perf_counter()
            running = CURRENT_FUNCTION.set(source.logical_id)
            try:
                with attributed(fn.function_name):
                    result = handler(event if event is not None else {}, context)
            finally:
                CURRENT_FUNCTION.reset(running)
        except Exception as exc:
            elapsed = (time.perf_counter() - started) * 1000 if handler is not None else 0.0
            self.invocations.append(Invocation(fn.function_name, type(exc).__name__, elapsed, int(fn.memory_size)))
            payload = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            return json.dumps(payload), True, ""
        elapsed = (time.perf_counter() - started) * 1000
        self.invocations.append(Invocation(fn.function_name, None, elapsed, int(fn.memory_size)))
        return json.dumps(result), False, ""

    def _handler(self, function_name: str, source: FunctionSource, env: dict[str, str]) -> Handler:
        handler = self._handlers.get(function_name)
        if handler is not None:
            return handler
        with self._import_lock:  # one cold start per function, with its environment in place
            if function_name not in self._handlers:
                with self._env_lock:
                    os.environ.update(env)
                module_name, attribute = source.handler.rsplit(".", 1)
                module = _import_file(f"devstack_fn_{source.logical_id}", source.code_dir / f"{module_name}.py")
                self._handlers[function_name] = getattr(module, attribute)
        return self._handlers[function_name]


def _import_file(name: str, path: Any) -> ModuleType:
    # Every handler is called app.py: import each under its own name so functions never share a module.
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import handler file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


RUNTIME = InProcessRuntime()
"""Process-wide, like moto's backends: every stack deployed in this process registers its functions here."""
