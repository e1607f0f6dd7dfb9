"""The workers carry Powertools Tracer (X-Ray in AWS, `Tracing: Active`); on this machine it is inert: the devstack
runs the handlers in-process, where there is no X-Ray daemon, so nothing may try to send segments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aws_xray_sdk import global_sdk_config

from devstack.app import TEMPLATE, Devstack
from devstack.template import load_sam

FUNCTIONS = Path(TEMPLATE).parent / "functions"
TRACED = ["order_worker", "reconciler", "catalog_sync", "catalog_publish", "catalog_health", "admin"]
ACK_PATH = ["wix_webhook", "pos_webhook"]  # cold-start bound (Wix: 1250 ms): no X-Ray SDK, see README


@pytest.mark.parametrize("folder", TRACED)
def test_every_worker_handler_is_traced(folder: str) -> None:
    source = (FUNCTIONS / folder / "app.py").read_text()
    assert "tracer = Tracer()" in source and "@tracer.capture_lambda_handler" in source


@pytest.mark.parametrize("folder", ACK_PATH)
def test_the_ack_functions_do_not_load_the_xray_sdk(folder: str) -> None:
    # Importing the X-Ray recorder builds a botocore X-Ray client: ~130-200 ms of cold start (README, Operations)
    assert "Tracer" not in (FUNCTIONS / folder / "app.py").read_text()


def test_all_functions_run_with_active_tracing_in_aws() -> None:
    assert load_sam(TEMPLATE)["Globals"]["Function"]["Tracing"] == "Active"


def test_in_the_devstack_the_tracer_is_disabled_and_sends_nothing(devstack: Devstack) -> None:
    assert devstack.stack is not None
    # Given the reconciler deployed into the devstack and invoked in-process (a cold start with Tracer())
    payload, error = devstack.stack.invoke("ReconcilerFunction", {})
    assert error is None, payload
    # Then its tracer is disabled, and so is the X-Ray SDK itself (no segment is emitted to a daemon)
    module = sys.modules["devstack_fn_ReconcilerFunction"]
    assert module.tracer.disabled is True
    assert global_sdk_config.sdk_enabled() is False
