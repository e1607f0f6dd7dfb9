"""Devstack start-up and template deploy time, each in a fresh interpreter (what `make demo` pays)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

RUNS = 3

_PROBE = """
import json, time
started = time.perf_counter()
from devstack.app import Devstack
stack = Devstack().start()
timings = dict(stack.timings, startup_s=time.perf_counter() - started)
stack.stop()
print(json.dumps(timings))
"""


def rows() -> list[dict[str, object]]:
    samples = []
    for _ in range(RUNS):
        result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
        samples.append(json.loads(result.stdout.strip().splitlines()[-1]))
    startup = statistics.median(s["startup_s"] for s in samples)
    deploy = statistics.median(s["deploy_s"] for s in samples)
    return [
        {"metric": "devstack start-up (imports included)", "value": round(startup, 2), "unit": "s", "ratio": None},
        {"metric": "template translate + deploy into moto", "value": round(deploy, 2), "unit": "s", "ratio": None},
    ]
