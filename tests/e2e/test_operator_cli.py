"""The operator CLI against the devstack's admin API: tenants, order mapping, DLQ, reconciliation."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.e2e.conftest import Restaurant, wait_for

SOUP = {"kind": "restaurant", "name": "Minestrone", "price": "7.25", "quantity": 1}


def _run(restaurant: Restaurant, *args: str) -> tuple[int, str]:
    """The CLI in its own process, as from a shell: run in this process, it would share stdout with the devstack's
    functions (their log and metric lines would land in its output, and their loggers on the runner's stream)."""
    result = subprocess.run(
        [sys.executable, "-m", "posbridge_cli.main", *args, "--api-url", restaurant.devstack.gateway_url],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    return result.returncode, result.stdout


def test_an_operator_pauses_lists_redrives_and_resumes_a_restaurant(restaurant: Restaurant) -> None:
    tenant = restaurant.instance_id
    # Given a connected restaurant, listed as active and shown without its credentials
    code, listed = _run(restaurant, "tenants", "list")
    assert code == 0 and tenant in listed
    code, shown = _run(restaurant, "tenants", "show", tenant)
    assert code == 0 and '"status": "active"' in shown and "accessToken" not in shown
    # When the operator pauses it and an order arrives
    assert _run(restaurant, "tenants", "pause", tenant) == (0, f"{tenant}: paused\n")
    placed = restaurant.checkout([SOUP])
    wait_for(lambda: len(restaurant.parked()) == 2)
    # Then the DLQ listing shows its messages with the reason
    code, dlq = _run(restaurant, "dlq", "list", "--tenant", tenant)
    assert code == 0 and "tenant_paused" in dlq and "2 parked message(s)" in dlq
    # When it is resumed and redriven, the order is exported and the mapping is looked up
    assert _run(restaurant, "tenants", "resume", tenant)[0] == 0
    assert _run(restaurant, "dlq", "redrive", "--tenant", tenant, "--reason", "tenant_paused") == (
        0,
        "redriven 2 message(s)\n",
    )
    restaurant.wait_mapping(placed["order"]["id"])
    code, mapping = _run(restaurant, "order", tenant, placed["order"]["id"])
    assert code == 0 and '"status": "exported"' in mapping
    # And a reconciliation runs now with its summary
    code, summary = _run(restaurant, "reconcile", tenant)
    assert code == 0 and '"ok": true' in summary


def test_the_cli_reports_an_unknown_tenant_with_the_apis_message(restaurant: Restaurant) -> None:
    code, output = _run(restaurant, "tenants", "pause", "no-such-tenant")
    assert code == 1 and "HTTP 404" in output and "no-such-tenant is not" in output
