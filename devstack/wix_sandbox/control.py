"""Control API under /_sandbox/: act as a customer or the restaurant, inspect state, shape webhooks, inject faults.

No token needed. Bad input is a 400 with a message. Routes that fire webhooks answer with the `deliveries` made.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Map
from werkzeug.wrappers import Response

from devstack.faults import Chaos, Fault
from devstack.webhooks import DeliveryPlan
from devstack.wix_sandbox import orders
from devstack.wix_sandbox.menus import KINDS
from devstack.wix_sandbox.routing import Call, Routes, route, url_map
from devstack.wix_sandbox.state import RATE_WINDOWS, Instance, RateLimit
from devstack.wix_sandbox.validation import Checker, bad_request
from devstack.wix_sandbox.webhooks import new_event

if TYPE_CHECKING:
    from devstack.wix_sandbox.app import WixSandbox

P = "/_sandbox"


def dashboard_instance(data: dict[str, Any], app_secret: str) -> str:
    """Wix's signed app instance: base64url(HMAC-SHA256(app secret, data part)) + "." + base64url(JSON), both
    without padding (dev.wix.com/docs/build-apps/develop-your-app/access/app-instances/
    parse-the-app-instance-query-parameter; devforum.wix.com/en/article/app-instance-client-side)."""
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    digest = hmac.new(app_secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=") + "." + payload


def instance_summary(inst: Instance) -> dict[str, Any]:
    return {
        "instanceId": inst.instance_id,
        "siteId": inst.site_id,
        "accountId": inst.account_id,
        "locationId": inst.default_location["id"],
        "operationId": inst.default_operation["id"],
    }


@functools.cache
def control_map() -> Map:
    return url_map(
        [
            route(f"{P}/instances", "POST", "add_instance"),
            route(f"{P}/instances/<instance_id>/state", "GET", "state"),
            route(f"{P}/instances/<instance_id>/checkout", "POST", "checkout"),
            route(f"{P}/instances/<instance_id>/dashboard", "POST", "open_dashboard"),
            route(f"{P}/instances/<instance_id>/orders/<order_id>/approve", "POST", "approve"),
            route(f"{P}/instances/<instance_id>/orders/<order_id>/refund", "POST", "refund"),
            route(f"{P}/webhooks/send", "POST", "send_webhook"),
            route(f"{P}/webhooks/delivery", "POST", "delivery_plan"),
            route(f"{P}/webhooks/release", "POST", "release", locked=False),
            route(f"{P}/webhooks/deliveries", "GET", "deliveries"),
            route(f"{P}/faults", "POST", "add_fault"),
            route(f"{P}/faults", "GET", "list_faults"),
            route(f"{P}/faults", "DELETE", "clear_faults"),
            route(f"{P}/chaos", "POST", "set_chaos"),
            route(f"{P}/chaos", "GET", "chaos"),
            route(f"{P}/chaos", "DELETE", "stop_chaos"),
            route(f"{P}/clock", "POST", "advance_clock"),
            route(f"{P}/rate-limit", "POST", "rate_limit"),
            route(f"{P}/public-key", "GET", "public_key"),
        ]
    )


class ControlApi:
    def __init__(self, sandbox: WixSandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self.clock = sandbox.clock

    def routes(self) -> Routes:
        names = {rule.endpoint.name for rule in control_map().iter_rules()}
        return Routes(control_map(), {name: getattr(self, name) for name in names})

    def add_instance(self, call: Call) -> dict[str, Any]:
        c = Checker()
        instance_id = c.text(call.json(), "instanceId", "instanceId", required=True, min_len=1, max_len=100)
        c.done()
        return instance_summary(self.store.add_instance(str(instance_id)))

    def state(self, call: Call, instance_id: str) -> dict[str, Any]:
        inst = self.store.instance(instance_id)
        return {
            **instance_summary(inst),
            "now": self.clock.iso(),
            "orders": list(inst.orders.values()),
            "fulfillments": inst.fulfillments,
            **{kind.plural: list(inst.menus[kind.name].values()) for kind in KINDS},
            "locations": list(inst.locations.values()),
            "operations": list(inst.operations.values()),
            "visibilityChecks": inst.visibility_checks,
            "visibilityViolations": inst.visibility_violations,
            "calls": dict(inst.calls),
            "rateLimited": inst.rate_limited,
            "notifications": inst.notifications,
            "events": inst.events,
        }

    def open_dashboard(self, call: Call, instance_id: str) -> dict[str, Any]:
        """The site's owner opens the app's dashboard page: the signed `instance` query parameter Wix adds to the
        page's URL (and, for tests, the same instance with its data changed to another site: a tampered one).
        `{"uid"?, "aid"?}` choose the user (an `aid` is an anonymous visitor)."""
        inst = self.store.instance(instance_id)
        body = call.json()
        data: dict[str, Any] = {
            "instanceId": inst.instance_id,
            "appDefId": self.sandbox.app_id,
            "signDate": self.clock.iso(),
            "uid": body.get("uid", "owner-" + inst.instance_id),
            "permissions": "OWNER",
            "siteOwnerId": "owner-" + inst.instance_id,
        }
        if body.get("aid"):
            data = {k: v for k, v in data.items() if k != "uid"} | {"aid": body["aid"], "permissions": ""}
        signed = dashboard_instance(data, self.sandbox.app_secret)
        signature = signed.split(".")[0]
        forged = dashboard_instance({**data, "instanceId": "another-site"}, self.sandbox.app_secret).split(".")[1]
        return {"instance": signed, "tampered": f"{signature}.{forged}"}

    def checkout(self, call: Call, instance_id: str) -> dict[str, Any]:
        order, events = orders.checkout(self.store.instance(instance_id), self.clock, call.json())
        call.outbox.extend(events)
        return {"order": order}

    def approve(self, call: Call, instance_id: str, order_id: str) -> dict[str, Any]:
        """The restaurant approves a PENDING order in its dashboard."""
        inst = self.store.instance(instance_id)
        identity = {"identityType": "WIX_USER", "wixUserId": inst.owner_user_id}
        order, events = orders.approve_order(inst, self.clock, order_id, identity)
        call.outbox.extend(events)
        return {"order": order}

    def refund(self, call: Call, instance_id: str, order_id: str) -> dict[str, Any]:
        """The restaurant refunds a paid order in its dashboard: `{"amount": "5.25"}`, or `{}` for all of it."""
        inst = self.store.instance(instance_id)
        identity = {"identityType": "WIX_USER", "wixUserId": inst.owner_user_id}
        order, events = orders.refund_order(inst, self.clock, order_id, call.json(), identity)
        call.outbox.extend(events)
        return {"order": order}

    def send_webhook(self, call: Call) -> dict[str, Any]:
        """`{instanceId, eventType, entityId, event, identity?}`: fields of `event` override the generated ones
        (id, entityFqdn, slug, eventTime, entityEventSequence), so tests can replay or reorder exact events."""
        body = call.json()
        c = Checker()
        instance_id = c.text(body, "instanceId", "instanceId", required=True, min_len=1)
        event_type = c.text(body, "eventType", "eventType", required=True, min_len=3)
        entity_id = c.text(body, "entityId", "entityId", required=True, min_len=1)
        event = c.obj(body, "event", "event") or {}
        identity = c.obj(body, "identity", "identity") or orders.app_identity(self.sandbox.app_id)
        c.done()
        if event_type is None or "." not in event_type:
            raise bad_request("eventType must look like wix.ecom.v1.order_created")
        inst = self.store.instance(str(instance_id))
        outgoing = new_event(
            inst, self.clock, event_type=event_type, entity_id=str(entity_id), body=event, identity=identity
        )
        call.outbox.append(outgoing)
        return {"eventId": outgoing.event_id}

    def delivery_plan(self, call: Call) -> dict[str, Any]:
        try:
            plan = DeliveryPlan.from_json(call.json())
        except (TypeError, ValueError) as exc:
            raise bad_request(f"bad delivery plan: {exc}") from exc
        self.sandbox.dispatcher.configure(plan)
        return {"plan": plan.to_json()}

    def release(self, call: Call) -> dict[str, Any]:
        reverse = call.json().get("reverse", True)
        if not isinstance(reverse, bool):
            raise bad_request("reverse must be a boolean")
        return {"deliveries": [asdict(d) for d in self.sandbox.dispatcher.release(reverse=reverse)]}

    def deliveries(self, call: Call) -> dict[str, Any]:
        return {"deliveries": [asdict(d) for d in list(self.sandbox.dispatcher.deliveries)]}

    def add_fault(self, call: Call) -> dict[str, Any]:
        try:
            fault = Fault.from_json(call.json())
        except (TypeError, ValueError) as exc:
            raise bad_request(f"bad fault: {exc}") from exc
        self.sandbox.faults.add(fault)
        return self.list_faults(call)

    def list_faults(self, call: Call) -> dict[str, Any]:
        return {"faults": self.sandbox.faults.pending(), "injected": self.sandbox.faults.injected}

    def clear_faults(self, call: Call) -> dict[str, Any]:
        self.sandbox.faults.clear()
        return self.list_faults(call)

    def set_chaos(self, call: Call) -> dict[str, Any]:
        """`{rate, seed?, path?, kinds?, timeoutMs?}`: a seeded share of API requests fails (faults.Chaos)."""
        try:
            chaos = Chaos.from_json(call.json())
        except (TypeError, ValueError) as exc:
            raise bad_request(f"bad chaos: {exc}") from exc
        self.sandbox.faults.set_chaos(chaos)
        return self.chaos(call)

    def chaos(self, call: Call) -> dict[str, Any]:
        return self.sandbox.faults.chaos_view()

    def stop_chaos(self, call: Call) -> dict[str, Any]:
        self.sandbox.faults.set_chaos(None)
        return self.chaos(call)

    def advance_clock(self, call: Call) -> dict[str, Any]:
        seconds = call.json().get("advanceSeconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise bad_request("advanceSeconds must be a number >= 0")
        self.clock.advance(seconds)
        return {"now": self.clock.iso()}

    def rate_limit(self, call: Call) -> dict[str, Any]:
        """`{perMinute: int | null, window?: "fixed" | "rolling"}`: answer 429 once an instance exceeds perMinute API
        requests in a minute of the sandbox clock (see state.RateLimit); null turns the limit off (the default)."""
        c = Checker()
        per_minute = c.integer(call.json(), "perMinute", "perMinute", lo=1, hi=1_000_000)
        window = c.enum(call.json(), "window", "window", RATE_WINDOWS) or "fixed"
        c.done("Invalid rate limit")
        self.store.set_rate_limit(RateLimit(per_minute, window))
        return {"perMinute": per_minute, "window": window}

    def public_key(self, call: Call) -> Response:
        return Response(self.sandbox.public_key_pem, mimetype="application/x-pem-file")
