"""The admin API as the CLI reaches it: located (see posbridge_cli.main), SigV4-signed unless local, and its answers
checked. Shared by every command (main: catalog imports; operations: tenants, orders, the DLQ, reconciliation)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console

console = Console()
ENDPOINTS = Path(".devstack") / "endpoints.json"
_EXECUTE_API = re.compile(r"^https://[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")

# Every command's options for locating the API.
ApiUrl = typer.Option(None, "--api-url", envvar="POSBRIDGE_API_URL", help="admin API base URL (…/v1)")
Devstack = typer.Option(False, "--devstack", help="use the running devstack (.devstack/endpoints.json)")
Stack = typer.Option("posbridge", "--stack", help="CloudFormation stack to read ApiUrl from")
Region = typer.Option(None, "--region", help="AWS region (default: your AWS configuration)")


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

    def call(
        self, method: str, path: str, ok: int = 200, body: dict[str, Any] | None = None, what: str | None = None
    ) -> dict[str, Any]:
        """The answer of a request that must be answered `ok`; otherwise its failure is printed (`what`, default the
        request and status) and the command exits 1 (2 on a 409)."""
        response = self.request(method, path, body)
        if response.status_code != ok:
            raise typer.Exit(fail(what or f"{method} {path}: HTTP {response.status_code}", response))
        return answer(response)


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


def answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text}
    return body if isinstance(body, dict) else {"message": str(body)}


def fail(what: str, response: httpx.Response) -> int:
    console.print(f"[red]{what}[/red]: {answer(response).get('message', '')}")
    return 2 if response.status_code == 409 else 1
