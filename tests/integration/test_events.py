"""Every sample in events/ is accepted by the handler it is meant for (events/<function folder>/*.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.app import Devstack
from devstack.wix_sandbox import sign_webhook

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


@pytest.mark.parametrize("name", ["put_tenant.json", "get_tenant.json"])  # put first: get reads what put stored
def test_admin_samples_are_accepted(devstack: Devstack, name: str) -> None:
    assert devstack.stack is not None
    payload, error = devstack.stack.invoke("AdminFunction", _load(EVENTS / "admin" / name))
    assert error is None and payload["statusCode"] in (200, 201), payload


def test_every_admin_sample_is_covered() -> None:
    assert sorted(p.name for p in (EVENTS / "admin").glob("*.json")) == ["get_tenant.json", "put_tenant.json"]


@pytest.mark.parametrize("path", sorted((EVENTS / "wix_webhook").glob("*.json")), ids=lambda p: p.stem)
def test_wix_webhook_samples_are_accepted(devstack: Devstack, path: Path) -> None:
    # Given a decoded sample, signed as Wix signs webhooks with the key the devstack configured the function with
    assert devstack.wix is not None
    sample = _load(path)
    body = sign_webhook(
        devstack.wix.private_key_pem,
        sample["eventType"],
        sample["instanceId"],
        sample["event"],
        identity=sample["identity"],
    )
    # When it is posted to the webhook route
    response = httpx.post(devstack.gateway_url + "/webhooks/wix", content=body, headers={"Content-Type": "text/plain"})
    # Then the handler verifies it and answers 200: order events are queued, others acknowledged and ignored
    assert response.status_code == 200, response.text
    expected = "ignored" if path.stem.endswith("_ignored") else "queued"
    assert response.json() == {"status": expected, "eventId": sample["event"]["id"]}
