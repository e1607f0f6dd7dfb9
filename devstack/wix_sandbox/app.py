"""The Wix sandbox: one WSGI app serving the Wix REST routes and the /_sandbox/ control API."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

from devstack.faults import CONTROL_PREFIX, FaultInjector
from devstack.webhooks import Delivery, WebhookDispatcher
from devstack.wix_sandbox.api import WixApi
from devstack.wix_sandbox.control import ControlApi, instance_summary
from devstack.wix_sandbox.routing import Call, json_response
from devstack.wix_sandbox.state import Clock, Store
from devstack.wix_sandbox.validation import ApiError, error_body
from devstack.wix_sandbox.webhooks import CONTENT_TYPE, DELIVERY_TIMEOUT_S, OutgoingEvent, sign_webhook

log = logging.getLogger(__name__)


class WixSandbox:
    """Strict in-memory Wix. `wsgi_app` (fault-injecting) is what BackgroundServer serves."""

    def __init__(self, app_id: str, app_secret: str, private_key_pem: bytes | None = None) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        if private_key_pem is None:
            private_key_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        self.private_key_pem = private_key_pem
        # Skipping the RSA consistency check saves ~30 ms per sandbox; a broken key still fails at signing.
        key = serialization.load_pem_private_key(private_key_pem, password=None, unsafe_skip_rsa_key_validation=True)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the webhook signing key must be an RSA private key (RS256)")
        self._signing_key = key
        self.public_key_pem: bytes = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.webhook_url: str | None = None
        self.clock = Clock()
        self.store = Store(self.clock)
        self.faults = FaultInjector(error_body)
        self.dispatcher = WebhookDispatcher(timeout_s=DELIVERY_TIMEOUT_S)
        self._api = WixApi(self.store, self.clock, app_id, app_secret).routes()
        self._control = ControlApi(self).routes()
        self.wsgi_app: Callable[..., Iterable[bytes]] = self.faults.wrap(self._wsgi)

    def add_instance(self, instance_id: str) -> dict[str, Any]:
        """Install the app on a new site: one default ACTIVE location and one default operation. Idempotent."""
        return instance_summary(self.store.add_instance(instance_id))

    def deliver(self, events: list[OutgoingEvent]) -> list[Delivery]:
        """Sign and post webhooks to `webhook_url` through the dispatcher (duplicates, drops, holds apply)."""
        deliveries: list[Delivery] = []
        if self.webhook_url is None:
            return deliveries
        for event in events:
            body = sign_webhook(
                self._signing_key,
                event.event_type,
                event.instance_id,
                event.domain_event,
                app_id=self.app_id,
                identity=event.identity,
                account_info=event.account_info,
            )
            headers = {"Content-Type": CONTENT_TYPE}
            deliveries += self.dispatcher.send(self.webhook_url, event.event_id, body.encode(), headers)
        return deliveries

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except ApiError as err:
            response = json_response(err.body(), err.status)
        except Exception:
            log.exception("wix sandbox failed on %s %s", request.method, request.path)
            response = json_response(error_body(500), 500)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        control = request.path.startswith(CONTROL_PREFIX)
        endpoint, handler, params, template = (self._control if control else self._api).match(request)
        call = Call(request, template)
        if endpoint.locked:
            with self.store.lock:
                if not (control or endpoint.public):
                    call.instance = self.store.resolve_token(request.headers.get("Authorization"))
                    self.store.admit(call.instance)  # 429 once the instance is over the rate limit (off by default)
                    call.instance.calls[template] += 1
                result = handler(call, **params)
                # Copy under the lock: the live state keeps changing once it is released.
                result = result if isinstance(result, Response) else copy.deepcopy(result)
        else:
            result = handler(call, **params)
        if isinstance(result, Response):
            return result
        if call.outbox:  # webhooks go out after the lock is released: receivers may call back into the sandbox
            deliveries = self.deliver(call.outbox)
            if control:
                result["deliveries"] = [asdict(d) for d in deliveries]
        return json_response(result)
