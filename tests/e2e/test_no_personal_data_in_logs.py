"""A full demo run logs no buyer's personal data and no secret."""

from __future__ import annotations

from devstack import demo
from devstack.app import Devstack
from tests.e2e.conftest import DemoRun

PERSONAL_DATA = ["ada@example.com", "+15555550100", "Ada", "Demo", "Ring the bell"]


def test_the_demo_logs_no_personal_data_and_no_secret(devstack: Devstack, demo_run: DemoRun) -> None:
    # Given the demo's customers (names, e-mail, phone, note) and credentials (POS token and key, Wix app secret)
    secrets = [demo.POS_TOKEN, demo.POS_SIGNATURE_KEY, devstack.options.wix_app_secret]
    # When the whole demo runs against the session's devstack, every log line and all printed output being captured
    output = demo_run.output
    # Then it did its work, logged about it, and none of those values appear anywhere
    assert demo_run.ok
    assert "wix order processed" in output
    leaks = [value for value in PERSONAL_DATA + secrets if value in output]
    assert leaks == []
