"""`posbridge import-catalog --tenant ... --follow` against the devstack's admin API."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from devstack.app import Devstack
from posbridge_cli.main import AdminApi, locate_api
from tests.catalog_support import Restaurant


def test_the_cli_starts_an_import_and_follows_it_to_the_end(devstack: Devstack) -> None:
    # Given a restaurant with the sample catalog on the POS
    restaurant = Restaurant.connect(devstack)
    # When an operator runs the CLI against the devstack's admin API (in its own process, as from a shell: the
    # functions of this process must not start logging into a test runner's stdout)
    cli = [sys.executable, "-m", "posbridge_cli.main"]
    result = subprocess.run(
        [*cli, "import-catalog", "--tenant", restaurant.instance_id, "--follow", "--interval", "0.2",
         "--api-url", devstack.gateway_url],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    # Then it reports the started job, the progress, and the outcome, and exits 0
    assert result.returncode == 0, result.stdout + result.stderr
    assert "started catalog import" in result.stdout and "succeeded" in result.stdout
    assert "item           11/11" in result.stdout
    # And the job is shown under its tenant, while an unknown job, or this job asked for under another tenant, fails
    # with exit code 1
    job_id = re.search(r"started catalog import (\S+) for", result.stdout)
    assert job_id is not None

    def status(job: str, tenant: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, "import-status", job, "--tenant", tenant, "--api-url", devstack.gateway_url],
            capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "300"},
        )  # fmt: skip

    own = status(job_id.group(1), restaurant.instance_id)
    assert own.returncode == 0 and f"{job_id.group(1)}: succeeded" in own.stdout
    for job, tenant in ((job_id.group(1), "another-tenant"), ("nope", restaurant.instance_id)):
        refused = status(job, tenant)
        assert refused.returncode == 1 and "does not exist" in refused.stdout


def test_the_cli_finds_the_devstack_from_its_endpoints_file(tmp_path: Path) -> None:
    (tmp_path / ".devstack").mkdir()
    (tmp_path / ".devstack" / "endpoints.json").write_text(json.dumps({"gateway": "http://127.0.0.1:9/v1"}))
    assert locate_api(None, False, "posbridge", None, root=tmp_path) == AdminApi("http://127.0.0.1:9/v1")
    # An explicit AWS URL is signed for its region; a local one is not
    aws = locate_api("https://abc123.execute-api.eu-west-1.amazonaws.com/v1", False, "posbridge", None, tmp_path)
    assert aws.region == "eu-west-1"
    assert locate_api("http://localhost:8080/v1", False, "posbridge", None, tmp_path).region is None
