"""`posbridge import-catalog --tenant <instanceId> --follow`: start a catalog import (Flow 4) and follow it.

Where the admin API is, first match wins:
  --api-url (or POSBRIDGE_API_URL)     that base URL (".../v1"); requests are SigV4-signed unless it is local
  --devstack, or .devstack/endpoints.json exists (written by `make up`)   the devstack's gateway, unsigned
  otherwise                              the `ApiUrl` output of CloudFormation stack --stack (default posbridge),
                                         SigV4-signed with your AWS credentials (the admin routes are AWS_IAM)
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="posbridge operator CLI: catalog imports through the admin API.", no_args_is_help=True)
console = Console()
ENDPOINTS = Path(".devstack") / "endpoints.json"
_EXECUTE_API = re.compile(r"^https://[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")
FINISHED = ("succeeded", "failed")


@dataclass
class AdminApi:
    """The admin API at `base_url`; `region` set = SigV4-sign every request (service execute-api)."""

    base_url: str
    region: str | None = None
    http: httpx.Client | None = None

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        url = self.base_url.rstrip("/") + path
        content = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        if self.region:
            headers = _signed(method, url, content, headers, self.region)
        client = self.http or httpx.Client(timeout=30)
        return client.request(method, url, content=content, headers=headers)


def _signed(method: str, url: str, content: bytes | None, headers: dict[str, str], region: str) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise typer.BadParameter("no AWS credentials found to sign admin API requests")
    request = AWSRequest(method=method, url=url, data=content, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def locate_api(
    api_url: str | None, devstack: bool, stack: str, region: str | None, root: Path | None = None
) -> AdminApi:
    """The admin API to talk to (see the module docstring for the order)."""
    root = root or Path.cwd()
    if api_url:
        local = httpx.URL(api_url).host in ("127.0.0.1", "localhost")
        match = _EXECUTE_API.match(api_url)
        return AdminApi(api_url, None if local else (region or (match.group(1) if match else None) or _region()))
    endpoints = root / ENDPOINTS
    if devstack or endpoints.exists():
        if not endpoints.exists():
            raise typer.BadParameter(f"{endpoints} not found: start the devstack with `make up` first")
        return AdminApi(str(json.loads(endpoints.read_text())["gateway"]))
    import boto3

    region = region or _region()
    outputs = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]
    api = next((o["OutputValue"] for o in outputs.get("Outputs", []) if o["OutputKey"] == "ApiUrl"), None)
    if api is None:
        raise typer.BadParameter(f"stack {stack} has no ApiUrl output")
    return AdminApi(str(api), region)


def _region() -> str:
    import boto3

    region = boto3.Session().region_name or os.environ.get("AWS_REGION")
    if not region:
        raise typer.BadParameter("no AWS region: pass --region or set AWS_REGION")
    return str(region)


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text}
    return body if isinstance(body, dict) else {"message": str(body)}


def job_path(tenant: str, job_id: str) -> str:
    return f"/admin/tenants/{quote(tenant, safe='')}/catalog-imports/{quote(job_id, safe='')}"


def follow_job(
    api: AdminApi, tenant: str, job_id: str, interval_s: float = 1.0, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Poll the tenant's GET .../catalog-imports/{jobId} with a progress bar until the job finishes; returns the last
    view."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("starting", total=None)
        while True:
            response = api.request("GET", job_path(tenant, job_id))
            if response.status_code != 200:
                raise typer.Exit(_fail(f"GET {job_path(tenant, job_id)}: HTTP {response.status_code}", response))
            job = _answer(response)
            total = int(job.get("total") or 0) or None
            progress.update(
                task, description=f"{job['status']}: {job['step']}", completed=job.get("done", 0), total=total
            )
            if job["status"] in FINISHED:
                return job
            sleep(interval_s)


def _fail(what: str, response: httpx.Response) -> int:
    console.print(f"[red]{what}[/red]: {_answer(response).get('message', '')}")
    return 2 if response.status_code == 409 else 1


def _summary(job: dict[str, Any]) -> None:
    color = "green" if job["status"] == "succeeded" else "red"
    console.print(
        f"[{color}]{job['jobId']}: {job['status']}[/{color}]" + (f" ({job['reason']})" if job.get("reason") else "")
    )
    for kind, p in (job.get("progress") or {}).items():
        console.print(
            f"  {kind:<14} {p['done']}/{p['total']}" + (f", {p['rejected']} rejected" if p["rejected"] else "")
        )
    for error in (job.get("errors") or [])[:10]:
        console.print(f"  [yellow]{error['kind']} {error['name'] or error['key']}: {error['code']} {error['message']}")
    if job.get("errorCount", 0) > 10:
        console.print(f"  ... {job['errorCount'] - 10} more")
    for warning in job.get("warnings") or []:
        console.print(f"  [yellow]warning:[/yellow] {warning}")
    if job.get("issuesCount"):
        console.print(f"  {job['issuesCount']} POS catalog issue(s) (skipped, split or shortened): issues.json in S3")


ApiUrl = typer.Option(None, "--api-url", envvar="POSBRIDGE_API_URL", help="admin API base URL (…/v1)")
Devstack = typer.Option(False, "--devstack", help="use the running devstack (.devstack/endpoints.json)")
Stack = typer.Option("posbridge", "--stack", help="CloudFormation stack to read ApiUrl from")
Region = typer.Option(None, "--region", help="AWS region (default: your AWS configuration)")


@app.command("import-catalog")
def import_catalog(
    tenant: str = typer.Option(..., "--tenant", help="the Wix app instance id of the restaurant"),
    follow: bool = typer.Option(False, "--follow", help="show progress until the import finishes"),
    menu_name: str | None = typer.Option(None, "--menu-name", help="the menu of a catalog without menu categories"),
    location_id: str | None = typer.Option(None, "--location-id", help="Wix business location (default: default)"),
    max_rejected: int | None = typer.Option(None, "--max-rejected", help="entities Wix may reject before failing"),
    keep_other_menus: bool = typer.Option(False, "--keep-other-menus", help="leave menus posbridge did not create"),
    interval: float = typer.Option(1.0, "--interval", help="seconds between progress polls"),
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """Start a catalog import (POS catalog -> Wix menus, published at once when complete)."""
    api = locate_api(api_url, devstack, stack, region)
    options: dict[str, Any] = {"hideOtherMenus": not keep_other_menus}
    for key, value in (("menuName", menu_name), ("locationId", location_id), ("maxRejected", max_rejected)):
        if value is not None:
            options[key] = value
    response = api.request("POST", f"/admin/tenants/{quote(tenant, safe='')}/catalog-imports", options)
    if response.status_code != 202:
        raise typer.Exit(_fail("the import was not started", response))
    job = _answer(response)
    console.print(f"started catalog import [bold]{job['jobId']}[/bold] for {tenant}")
    if not follow:
        console.print(f"follow it with: posbridge import-status {job['jobId']} --tenant {tenant} --follow")
        return
    final = follow_job(api, tenant, str(job["jobId"]), interval)
    _summary(final)
    raise typer.Exit(0 if final["status"] == "succeeded" else 1)


@app.command("import-status")
def import_status(
    job_id: str = typer.Argument(..., help="the job id (= execution name)"),
    tenant: str = typer.Option(..., "--tenant", help="the Wix app instance id of the restaurant the import is for"),
    follow: bool = typer.Option(False, "--follow", help="show progress until the import finishes"),
    interval: float = typer.Option(1.0, "--interval"),
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """Show a catalog import's progress (and follow it)."""
    api = locate_api(api_url, devstack, stack, region)
    if follow:
        job = follow_job(api, tenant, job_id, interval)
    else:
        response = api.request("GET", job_path(tenant, job_id))
        if response.status_code != 200:
            raise typer.Exit(_fail(f"catalog import {job_id}", response))
        job = _answer(response)
    _summary(job)
    raise typer.Exit(0 if job["status"] != "failed" else 1)


from posbridge_cli import operations  # noqa: E402 (the operator commands: tenants, order, dlq, reconcile)

operations.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
