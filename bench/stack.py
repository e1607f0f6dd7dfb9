"""The devstack as every bench runs it: logs at ERROR, no EMF metric lines (they would drown the table)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from devstack.app import Devstack, DevstackOptions


@contextmanager
def quiet_devstack(timeout_s: float) -> Iterator[tuple[Devstack, httpx.Client]]:
    """A running devstack and an HTTP client (`timeout_s` per request) to call it with."""
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    with Devstack(DevstackOptions(log_level="ERROR")) as devstack, httpx.Client(timeout=timeout_s) as http:
        yield devstack, http
