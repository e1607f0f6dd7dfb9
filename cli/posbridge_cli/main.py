"""`posbridge import-catalog --tenant <instanceId> --follow`: start a catalog import (Flow 4) and follow it.

Where the admin API is, first match wins:
  --api-url (or POSBRIDGE_API_URL)     that base URL (".../v1"); requests are SigV4-signed unless it is local
  --devstack, or .devstack/endpoints.json exists (written by `make up`)   the devstack's gateway, unsigned
  otherwise                              the `ApiUrl` output of CloudFormation stack --stack (default posbridge),
                                         SigV4-signed with your AWS credentials (the admin routes are AWS_IAM)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from posbridge_cli import operations
from posbridge_cli.api import AdminApi, ApiUrl, Devstack, Region, Stack, console, locate_api
from posbridge_cli.sandbox import sandbox_app

app = typer.Typer(help="posbridge operator CLI: catalog imports through the admin API.", no_args_is_help=True)
FINISHED = ("succeeded", "failed")


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
            job: dict[str, Any] = api.call("GET", job_path(tenant, job_id))
            total = int(job.get("total") or 0) or None
            progress.update(
                task, description=f"{job['status']}: {job['step']}", completed=job.get("done", 0), total=total
            )
            if job["status"] in FINISHED:
                return job
            sleep(interval_s)


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
    path = f"/admin/tenants/{quote(tenant, safe='')}/catalog-imports"
    job = api.call("POST", path, 202, options, what="the import was not started")
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
        job = api.call("GET", job_path(tenant, job_id), what=f"catalog import {job_id}")
    _summary(job)
    raise typer.Exit(0 if job["status"] != "failed" else 1)


operations.register(app)  # the operator commands (tenants, order, dlq, reconcile), listed after the imports
app.add_typer(sandbox_app, name="sandbox")  # play the customer, cashier, kitchen and seller on the devstack


def main() -> None:
    app()


if __name__ == "__main__":
    main()
