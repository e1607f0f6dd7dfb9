"""`make soak`, scaled down for CI: 100 Wix orders, 30 POS orders, 20 status changes under the soak's faults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def run_soak_apart(tmp_path: Path, **options: int) -> dict[str, Any]:
    """`python -m bench.soak` in a process of its own: its devstack sets the functions' environment and loads their
    handler modules, which would replace the session's devstack's in this process."""
    results = tmp_path / "soak.json"
    arguments = [f"--{name.replace('_', '-')}={value}" for name, value in options.items()]
    # its exit code says whether it converged clean: the assertions below say how not
    subprocess.run([sys.executable, "-m", "bench.soak", *arguments, f"--json={results}"], timeout=600, check=False)
    return dict(json.loads(results.read_text()))


@pytest.mark.soak
def test_nothing_is_doubled_lost_or_left_behind_under_chaos(tmp_path: Path) -> None:
    # Given the devstack with 20% of partner calls failing (429, 5xx, timeouts, processed-then-500) and 10% of
    # webhooks duplicated, 5% late and 5% lost, the reconciliation running on its (scaled-down) schedule
    # When 100 online orders, 30 POS orders and 20 status changes go through, with 2 true poison events
    result = run_soak_apart(tmp_path, orders=100, seed=13, max_seconds=240)
    summary = {k: result[k] for k in ("placed", "duplicates", "lost", "not_converged", "dlq", "examples")}
    # Then the faults really happened
    chaos = result["chaos"]
    for side in ("wix_api_faults", "square_api_faults"):
        assert chaos[side].get("processed_then_500", 0) > 0 and chaos[side].get("timeout", 0) > 0, chaos
    assert all(chaos["wix_webhooks"].get(fate, 0) > 0 for fate in ("drop", "reorder", "duplicate")), chaos
    # And every order is on the other side exactly once, with its last status
    assert result["placed"] == {"wix_orders": 100, "pos_orders": 30, "status_changes": 20}, summary
    assert result["duplicates"] == {}, summary
    assert result["lost"] == {}, summary
    assert result["not_converged"] == {}, summary
    # And the DLQ holds the poison and nothing else
    assert result["dlq_not_poison"] == {}, summary
    assert result["poison_not_parked"] == {}, summary
