"""Operator commands mirroring the admin API (docs/openapi.json): tenants, order mappings, the DLQ, reconciliation.

    posbridge tenants list [--page-size N] | show ID | pause ID | resume ID
    posbridge order ID WIX_ORDER_ID                  the mapping of a Wix order (exported / imported / skipped)
    posbridge dlq list [--tenant ID] [--reason R]    parked messages with their reasons (no payloads)
    posbridge dlq redrive [--tenant ID] [--reason R] [--message-id M ...]
    posbridge reconcile ID                           run the reconciliation of one tenant now

Every command talks to the admin API only (located like import-catalog: --api-url, the devstack, or the stack's
ApiUrl, SigV4-signed), so an operator needs execute-api:Invoke and nothing else: the DLQ is read and redriven by the
admin function, whose role alone may touch the queues.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import typer
from rich.table import Table

from posbridge_cli.api import ApiUrl, Devstack, Region, Stack, console, locate_api

tenants_app = typer.Typer(help="Restaurants (Wix app instances): list, show, pause, resume.", no_args_is_help=True)
MessageIds = typer.Option(None, "--message-id", help="only these messages (repeatable)")
dlq_app = typer.Typer(help="The dead-letter queue: what was parked and why; redrive it.", no_args_is_help=True)


def _call(method: str, path: str, api_url: str | None, devstack: bool, stack: str, region: str | None,
          body: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The answer (200) of one admin API request; anything else is printed and exits (AdminApi.call)."""
    answer: dict[str, Any] = locate_api(api_url, devstack, stack, region).call(method, path, body=body)
    return answer


def _id(value: str) -> str:
    return quote(value, safe="")


@tenants_app.command("list")
def tenants_list(
    page_size: int = typer.Option(100, "--page-size", min=1, max=100, help="tenants per request (the API pages)"),
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """Every restaurant with its status (active, paused, pending = awaiting its POS, removed): all pages."""
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = urlencode({"limit": page_size} | ({"nextToken": token} if token else {}))
        page = _call("GET", f"/admin/tenants?{query}", api_url, devstack, stack, region)
        rows += page["tenants"]
        token = page.get("nextToken")
        if not token:
            break
    table = Table("instance id", "status", "POS location", "since", "removed")
    for row in rows:
        pos = row.get("pos") or {}
        table.add_row(
            row["instanceId"], row["status"], pos.get("locationId", "-"), row.get("createdAt") or "-",
            row.get("removedAt") or "",
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} tenant(s)")


@tenants_app.command("show")
def tenants_show(
    instance_id: str,
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """One tenant: POS connection (never its credentials), settings, status."""
    console.print_json(data=_call("GET", f"/admin/tenants/{_id(instance_id)}", api_url, devstack, stack, region))


@tenants_app.command("pause")
def tenants_pause(
    instance_id: str,
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """Pause a tenant: its events are parked in the DLQ with reason tenant_paused until you resume and redrive."""
    tenant = _call("POST", f"/admin/tenants/{_id(instance_id)}/pause", api_url, devstack, stack, region)
    console.print(f"{instance_id}: {tenant['status']}")


@tenants_app.command("resume")
def tenants_resume(
    instance_id: str,
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """Resume a paused tenant; then `posbridge dlq redrive --tenant ID --reason tenant_paused`."""
    tenant = _call("POST", f"/admin/tenants/{_id(instance_id)}/resume", api_url, devstack, stack, region)
    console.print(f"{instance_id}: {tenant['status']}")


def order(
    instance_id: str,
    wix_order_id: str,
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """The mapping of one Wix order: exported / imported (with the POS order id and lines) or skipped (why)."""
    path = f"/admin/tenants/{_id(instance_id)}/orders/{_id(wix_order_id)}"
    console.print_json(data=_call("GET", path, api_url, devstack, stack, region))


@dlq_app.command("list")
def dlq_list(
    tenant: str | None = typer.Option(None, "--tenant", help="only this tenant's messages"),
    reason: str | None = typer.Option(None, "--reason", help="only messages parked for this reason"),
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """Messages parked in the DLQ with their reason and error (ids only: payloads may hold personal data)."""
    query = urlencode({k: v for k, v in (("instanceId", tenant), ("reason", reason)) if v})
    answer = _call("GET", "/admin/dead-letters" + (f"?{query}" if query else ""), api_url, devstack, stack, region)
    for m in answer["messages"]:  # one line each (grep-able): id, tenant, event, entity, reason, error
        fields = (m["messageId"], m.get("tenantId"), m.get("eventType"), m.get("entityId"), m["reason"], m.get("error"))
        console.print("  ".join(str(f or "-") for f in fields), soft_wrap=True, markup=False, highlight=False)
    console.print(f"{answer['count']} parked message(s)")


@dlq_app.command("redrive")
def dlq_redrive(
    tenant: str | None = typer.Option(None, "--tenant", help="only this tenant's messages"),
    reason: str | None = typer.Option(None, "--reason", help="only messages parked for this reason"),
    message_id: list[str] | None = MessageIds,
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """Send parked messages back to the work queue (safe to repeat: the worker is idempotent)."""
    body: dict[str, Any] = {}
    if tenant:
        body["instanceId"] = tenant
    if reason:
        body["reason"] = reason
    if message_id:
        body["messageIds"] = list(message_id)
    answer = _call("POST", "/admin/dead-letters/redrive", api_url, devstack, stack, region, body)
    console.print(f"redriven {answer['count']} message(s)")


def reconcile(
    instance_id: str,
    api_url: str | None = ApiUrl,
    devstack: bool = Devstack,
    stack: str = Stack,
    region: str | None = Region,
) -> None:
    """Run the reconciliation of one tenant now (the schedule runs every tenant); prints its summary."""
    console.print_json(
        data=_call("POST", f"/admin/tenants/{_id(instance_id)}/reconcile", api_url, devstack, stack, region)
    )


def register(app: typer.Typer) -> None:
    app.add_typer(tenants_app, name="tenants")
    app.add_typer(dlq_app, name="dlq")
    app.command("order")(order)
    app.command("reconcile")(reconcile)
