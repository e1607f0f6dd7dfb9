"""The core knows no vendor (issue 14): flows import only domain/ and the ports, the ports only domain/, and domain/
nothing of the app (pyproject.toml [tool.importlinter], run by `make lint`)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import posbridge.flows

ROOT = Path(__file__).resolve().parents[2]
VENDOR_MODULES = ("boto3", "botocore", "httpx", "jwt", "aws_lambda_powertools", "posbridge.store", "posbridge.wix",
                  "posbridge.pos")  # fmt: skip


def test_the_import_contracts_hold() -> None:
    # Given the contracts in pyproject.toml
    # When import-linter checks the layer's import graph (indirect imports included)
    linter = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    # Then every contract is kept
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_importing_every_flow_loads_no_aws_sdk_http_client_or_adapter() -> None:
    # Given a fresh interpreter
    flows = [m.name for m in pkgutil.iter_modules(posbridge.flows.__path__, "posbridge.flows.")]
    script = (
        "import sys\n"
        f"for name in {flows!r}: __import__(name)\n"
        f"print(sorted(m for m in sys.modules if m.startswith({VENDOR_MODULES!r})))"
    )
    # When it imports every flow module
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    # Then none of them brought in boto3, httpx, a Wix or POS adapter or a store (a flow is testable without them)
    assert run.returncode == 0, run.stderr
    assert len(flows) >= 12
    assert run.stdout.strip() == "[]"
