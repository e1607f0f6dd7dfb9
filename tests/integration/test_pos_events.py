"""The Flows 2 and 3 samples in events/ are accepted by their handlers: square_webhook/ through the gateway, signed as
Square signs; reconciler/ invoked as EventBridge and the admin route invoke it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.app import Devstack
from devstack.kitchen import Kitchen
from devstack.square_sandbox import sign

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLE_TENANT: str = json.loads((EVENTS / "reconciler" / "one_tenant.json").read_text())["instanceId"]
SIGNATURE_KEY = "sample-square-signature-key"


@pytest.fixture(scope="module")
def sample_tenant(devstack: Devstack) -> str:
    """The samples' merchant and location, connected to the sample tenant (and its Wix site on the sandbox)."""
    sample = json.loads((EVENTS / "square_webhook" / "order_updated.json").read_text())
    location = sample["data"]["object"]["order_updated"]["location_id"]
    with httpx.Client(timeout=30) as http:  # a 2-core CI machine can take more than httpx's default 5 s
        Kitchen(devstack, SAMPLE_TENANT, sample["merchant_id"], location, "sample-token", SIGNATURE_KEY, http).set_up()
    return SAMPLE_TENANT


@pytest.mark.parametrize("path", sorted((EVENTS / "square_webhook").glob("*.json")), ids=lambda p: p.stem)
def test_square_webhook_samples_are_accepted(devstack: Devstack, sample_tenant: str, path: Path) -> None:
    # Given a sample, signed as Square signs it for the devstack's notification URL
    body = path.read_bytes()
    headers = {
        "Content-Type": "application/json",
        "x-square-hmacsha256-signature": sign(SIGNATURE_KEY, devstack.square_webhook_url, body),
    }
    # When it is posted to the Square webhook route
    response = httpx.post(devstack.square_webhook_url, content=body, headers=headers, timeout=30)
    # Then it is verified and answered 200: order events queued, others acknowledged and ignored
    assert response.status_code == 200, response.text
    expected = "ignored" if path.stem.endswith("_ignored") else "queued"
    assert response.json() == {"status": expected, "eventId": json.loads(body)["event_id"]}


def test_the_reconciler_takes_one_tenant(devstack: Devstack, sample_tenant: str) -> None:
    assert devstack.stack is not None
    payload, error = devstack.stack.invoke("ReconcilerFunction", _load("one_tenant.json"))
    assert error is None and payload["ok"], payload
    assert [t["tenant_id"] for t in payload["tenants"]] == [sample_tenant]


def test_the_reconciler_takes_the_scheduled_event(
    devstack: Devstack, sample_tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the directory holds only the sample tenant (the session's other tests keep their tenants to themselves)
    assert devstack.stack is not None
    devstack.stack.invoke("ReconcilerFunction", _load("one_tenant.json"))  # the handler is loaded
    module = sys.modules["devstack_fn_ReconcilerFunction"]  # devstack/runtime.py imports each handler so

    class OnlySample:
        def all_tenants(self) -> list[str]:
            return [sample_tenant]

    monkeypatch.setattr(module, "links", OnlySample())
    # When EventBridge's scheduled event arrives
    payload, error = devstack.stack.invoke("ReconcilerFunction", _load("scheduled.json"))
    # Then every tenant of the directory is reconciled
    assert error is None and payload["ok"], payload
    assert [t["tenant_id"] for t in payload["tenants"]] == [sample_tenant]


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / "reconciler" / name).read_text()))
