"""Every function starts with exactly the environment template.yaml gives it. On the devstack all functions share one
process environment, so a variable missing from one function's template entry is there anyway (another function set
it): here each handler is imported in a fresh interpreter with its own variables only (bench/coldstart.py
`function_envs`, also what `make bench`'s cold-start rows use)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.coldstart import function_envs
from devstack.app import TEMPLATE
from devstack.template import load_sam

FUNCTIONS = function_envs()
RESOURCES = load_sam(TEMPLATE)["Resources"]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_a_function_starts_with_only_the_variables_the_template_gives_it(logical_id: str) -> None:
    # Given the function's code and the variables the template declares for it (Globals and its own)
    code_dir, env = FUNCTIONS[logical_id]
    handler = str(RESOURCES[logical_id]["Properties"]["Handler"]).rsplit(".", 1)[-1]
    # When its handler module is imported as Lambda's cold start does (settings are read at import)
    result = subprocess.run(
        [sys.executable, "-c", f"import app; assert callable(app.{handler})"],
        cwd=code_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it starts
    assert result.returncode == 0, result.stderr[-3000:]
