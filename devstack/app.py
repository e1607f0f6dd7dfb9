"""The whole devstack in one object: moto + template.yaml, local gateway, Wix, Square and Clover sandboxes, all on
127.0.0.1."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devstack.clover_sandbox import CloverSandbox
from devstack.gateway import LocalGateway
from devstack.httpserver import BackgroundServer
from devstack.square_sandbox import SquareSandbox
from devstack.stack import LocalStack
from devstack.template import load_sam
from devstack.wix_sandbox import WixSandbox

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
ENDPOINTS_FILE = ROOT / ".devstack" / "endpoints.json"

WIX_WEBHOOK_ROUTE = "/webhooks/wix"
SQUARE_WEBHOOK_ROUTE = "/webhooks/pos/square"
CLOVER_WEBHOOK_ROUTE = "/webhooks/pos/clover"
SQUARE_OAUTH_CALLBACK_ROUTE = "/oauth/square/callback"


class _LateApp:
    """The gateway's WSGI app, bound after the deploy: the server (and so its URL) must exist first, because the
    template takes the Square notification URL, which is the gateway's own URL of the Square webhook route."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"message": "the devstack is starting"}']
        return self.app(environ, start_response)


@dataclass
class DevstackOptions:
    wix_url: str | None = None  # an external Wix API instead of the sandbox
    pos_url: str | None = None  # an external POS API instead of the sandbox
    wix_app_id: str = "devstack-wix-app"
    wix_app_secret: str = "devstack-wix-secret"  # a local stand-in; real secrets come from --wix-app-secret
    wix_public_key_pem: str | None = None  # defaults to the Wix sandbox's own key
    # The Square application restaurants connect through (OAuth); registered in the Square sandbox with the gateway's
    # callback as its Redirect URL and the gateway's Square webhook route as its subscription.
    square_application_id: str = "sandbox-sq0idb-devstack"
    square_application_secret: str = "sandbox-sq0csb-devstack-secret"
    square_webhook_signature_key: str = "devstack-square-app-signature-key"
    gateway_port: int = 0
    wix_port: int = 0
    pos_port: int = 0
    clover_port: int = 0  # the Clover sandbox, beside Square's (Clover restaurants: devstack/demo_clover.py)
    retry_delay_s: int = 1
    # A worker's visibility delays run at a tenth locally (30 s of backoff: 3 s); 1.0 is AWS's timing.
    visibility_scale: float = 0.1
    log_level: str = "INFO"  # the template's LogLevel parameter


@dataclass
class Devstack:
    options: DevstackOptions = field(default_factory=DevstackOptions)
    stack: LocalStack | None = None
    wix: WixSandbox | None = None
    square: SquareSandbox | None = None
    clover: CloverSandbox | None = None
    clover_auth_code: str | None = None  # the Clover Auth Code the sandbox showed once the webhook URL was verified
    timings: dict[str, float] = field(default_factory=dict)
    _servers: list[BackgroundServer] = field(default_factory=list)
    _gateway: BackgroundServer | None = None
    _wix_server: BackgroundServer | None = None
    _pos_server: BackgroundServer | None = None
    _clover_server: BackgroundServer | None = None

    def start(self) -> Devstack:
        started = time.perf_counter()
        opts = self.options
        if opts.wix_url is None:
            self.wix = WixSandbox(opts.wix_app_id, opts.wix_app_secret)
            self._wix_server = self._serve(self.wix.wsgi_app, opts.wix_port)
        if opts.pos_url is None:
            self.square = SquareSandbox()
            self._pos_server = self._serve(self.square.wsgi_app, opts.pos_port)
        self.clover = CloverSandbox()
        self._clover_server = self._serve(self.clover.wsgi_app, opts.clover_port)
        public_key = opts.wix_public_key_pem or (self.wix.public_key_pem.decode() if self.wix else None)
        if public_key is None:
            raise ValueError("with an external Wix (--wix-url), give its webhook public key (--wix-public-key)")
        gateway = _LateApp()
        self._gateway = self._serve(gateway, opts.gateway_port)
        self.stack = LocalStack(
            TEMPLATE,
            parameters={
                "WixAppId": opts.wix_app_id,
                "WixAppSecret": opts.wix_app_secret,
                "WixWebhookPublicKey": public_key,
                "WixApiBaseUrl": self.wix_url,
                "PosApiBaseUrl": self.pos_url,
                "LogLevel": opts.log_level,
                "SquareNotificationUrl": self.square_webhook_url,
                "SquareApplicationId": opts.square_application_id,
                "SquareApplicationSecret": opts.square_application_secret,
                "SquareWebhookSignatureKey": opts.square_webhook_signature_key,
                "SquareTokenRefreshSchedule": "rate(1 day)",
                "CloverApiBaseUrl": self.clover_url,
                "CloverAppId": self.clover.state.app.client_id,
                "CloverCurrency": "USD",
            },
            retry_delay_s=opts.retry_delay_s,
            visibility_scale=opts.visibility_scale,
        ).start()
        gateway.app = LocalGateway(self.stack.routes, self.stack.invoke, _stage_name())
        if self.wix is not None:
            self.wix.webhook_url = self.gateway_url + WIX_WEBHOOK_ROUTE
        if self.square is not None:
            self.square.add_application(
                opts.square_application_id,
                opts.square_application_secret,
                self.gateway_url + SQUARE_OAUTH_CALLBACK_ROUTE,
                self.square_webhook_url,
                opts.square_webhook_signature_key,
            )
        self.clover_auth_code = self._verify_clover_webhook()
        self.timings = {"startup_s": time.perf_counter() - started, **self.stack.timings}
        return self

    def _verify_clover_webhook(self) -> str:
        """What the app's developer does once in Clover's Developer Dashboard: save the webhook URL (Clover POSTs a
        verification code to it, which the bridge keeps: pos/clover/webhook_code.py), paste that code back, and read
        the Clover Auth Code every message then carries (each Clover tenant's webhookSignatureKey)."""
        from posbridge.pos.clover.webhook_code import CloverVerificationCodes

        assert self.stack is not None
        control = f"{self.clover_url}/_sandbox/app/webhook"
        httpx.put(control, json={"url": self.clover_webhook_url}, timeout=30).raise_for_status()
        code = CloverVerificationCodes(self.stack.output("MappingsTableName")).latest()
        if code is None:
            raise RuntimeError("the bridge kept no Clover verification code")
        verified = httpx.post(f"{control}/verify", json={"verificationCode": code}, timeout=30)
        verified.raise_for_status()
        return str(verified.json()["authCode"])

    def stop(self) -> None:
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        if self.stack is not None:
            self.stack.stop()

    def __enter__(self) -> Devstack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _serve(self, app: Any, port: int) -> BackgroundServer:
        server = BackgroundServer(app, port=port).start()
        self._servers.append(server)
        return server

    @property
    def gateway_url(self) -> str:
        """Base URL of the API, stage included, as the template's ApiUrl output is in AWS."""
        assert self._gateway is not None
        return f"{self._gateway.url}/{_stage_name()}"

    @property
    def square_webhook_url(self) -> str:
        """The Square notification URL the bridge verifies signatures with: a sandbox merchant's subscription URL."""
        return self.gateway_url + SQUARE_WEBHOOK_ROUTE

    @property
    def clover_webhook_url(self) -> str:
        """The Clover app's one webhook URL (Developer Dashboard), the gateway's Clover route."""
        return self.gateway_url + CLOVER_WEBHOOK_ROUTE

    @property
    def clover_url(self) -> str:
        assert self._clover_server is not None
        return self._clover_server.url

    @property
    def wix_url(self) -> str:
        if self.options.wix_url:
            return self.options.wix_url
        assert self._wix_server is not None
        return self._wix_server.url

    @property
    def pos_url(self) -> str:
        if self.options.pos_url:
            return self.options.pos_url
        assert self._pos_server is not None
        return self._pos_server.url

    def endpoints(self) -> dict[str, Any]:
        assert self.stack is not None
        return {
            "gateway": self.gateway_url,
            "routes": [f"{r.method} {self.gateway_url}{r.path}" for r in self.stack.routes],
            "wixWebhookUrl": self.gateway_url + WIX_WEBHOOK_ROUTE,
            "squareWebhookUrl": self.square_webhook_url,
            "wix": self.wix_url,
            "wixSandbox": self.wix is not None,
            "pos": self.pos_url,
            "posSandbox": self.square is not None,
            "clover": self.clover_url,
            "cloverWebhookUrl": self.clover_webhook_url,
            "moto": self.stack.endpoint_url,
            "region": self.stack.region,
            "stack": self.stack.stack_name,
            "outputs": self.stack.outputs,
            "notEmulated": self.stack.not_emulated,
        }

    def write_endpoints(self, path: Path = ENDPOINTS_FILE) -> dict[str, Any]:
        endpoints = self.endpoints()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(endpoints, indent=2) + "\n")
        return endpoints


def _stage_name() -> str:
    for resource in load_sam(TEMPLATE)["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Api":
            return str(resource["Properties"].get("StageName", "Prod"))
    return "Prod"
