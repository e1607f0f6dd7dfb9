"""The Wix sandbox opens the app's dashboard page with the instance Wix signs (its own implementation of Wix's
documented scheme), which posbridge's verifier accepts, and a tampered one, which it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from devstack.wix_sandbox import WixSandbox
from posbridge.wix.instance import InstanceRejected, verify_instance

SECRET = "dashboard-test-secret"


def test_the_sandboxs_signed_instance_verifies_and_its_tampered_one_does_not() -> None:
    # Given a site on the Wix sandbox
    sandbox = WixSandbox("app-id", SECRET)
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox.wsgi_app), base_url="http://wix.test") as http:
        http.post("/_sandbox/instances", json={"instanceId": "site-1"}).raise_for_status()
        # When its owner opens the app's dashboard page
        opened = http.post("/_sandbox/instances/site-1/dashboard", json={}).json()
        anonymous = http.post("/_sandbox/instances/site-1/dashboard", json={"aid": "visitor-1"}).json()
    # Then the instance names the site for the bridge, and the tampered and anonymous ones are refused
    assert verify_instance(opened["instance"], SECRET, datetime.now(UTC)).instance_id == "site-1"
    with pytest.raises(InstanceRejected, match="not signed"):
        verify_instance(opened["tampered"], SECRET, datetime.now(UTC))
    with pytest.raises(InstanceRejected, match="anonymous"):
        verify_instance(anonymous["instance"], SECRET, datetime.now(UTC))
