"""The operator CLI against the devstack's admin API: tenants, order mapping, DLQ, reconciliation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

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


def test_tenants_are_listed_a_page_at_a_time_and_the_cli_follows_the_pages(restaurant: Restaurant) -> None:
    # Given more tenants than one page of 2 (three of them registered here, next to the session's others)
    gateway, suffix = restaurant.devstack.gateway_url, uuid.uuid4().hex[:8]
    mine = [f"page-{suffix}-{i}" for i in range(3)]
    for i, instance_id in enumerate(mine):
        pos = {"provider": "square", "merchantId": f"MP{suffix}", "locationId": f"LP{suffix}{i}"}
        body = {"pos": {**pos, "accessToken": "t", "webhookSignatureKey": "k"}}
        assert httpx.put(f"{gateway}/admin/tenants/{instance_id}", json=body).status_code == 201
    # When the API is read 2 at a time, following nextToken
    rows: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 2}
    pages = 0
    while True:
        page = httpx.get(f"{gateway}/admin/tenants", params=params).json()
        rows, pages = rows + page["tenants"], pages + 1
        assert len(page["tenants"]) <= 2
        if not page["nextToken"]:
            break
        params["nextToken"] = page["nextToken"]
    # Then every tenant comes once, in order, over several pages
    ids = [r["instanceId"] for r in rows]
    assert pages >= 2 and ids == sorted(set(ids)) and set(mine) <= set(ids)
    # And the CLI, asking 2 at a time, lists them all
    code, listed = _run(restaurant, "tenants", "list", "--page-size", "2")
    assert code == 0 and all(instance_id in listed for instance_id in mine)
    total = re.search(r"(\d+) tenant\(s\)", listed)
    assert total is not None and int(total.group(1)) >= len(ids)  # (tenants only ever join the session's devstack)


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"nextToken": "%%"}, {"nextToken": "bm90IGFuIGlk"}, {"tenant": "x"}],
)
def test_a_bad_page_request_is_a_422_with_a_message(restaurant: Restaurant, params: dict[str, str | int]) -> None:
    response = httpx.get(f"{restaurant.devstack.gateway_url}/admin/tenants", params=params)
    assert response.status_code == 422 and response.json()["message"].startswith("invalid request: query.")
