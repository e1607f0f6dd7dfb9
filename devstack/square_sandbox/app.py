"""The Square sandbox as a WSGI app: Square's `/v2` API (Bearer auth, per merchant) and a `/_sandbox` control API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from devstack.faults import Chaos, Fault, FaultInjector
from devstack.square_sandbox import catalog, customers, inventory, orders, payments, pos_screen, sdk_schema, seed
from devstack.square_sandbox import errors as err
from devstack.square_sandbox.oauth import Application, revocation_object
from devstack.square_sandbox.state import Merchant, SandboxState
from devstack.square_sandbox.webhooks import Outgoing, deliver, envelope
from devstack.webhooks import DeliveryPlan, WebhookDispatcher

_BEARER = re.compile(r"^Bearer (\S+)$")
_SQUARE_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Call:
    """One request as handlers see it: JSON body, query arguments and path parameters."""

    body: dict[str, Any]
    args: dict[str, str]
    params: dict[str, str]


Answer = dict[str, Any] | tuple[int, dict[str, Any]]
ApiHandler = Callable[[Merchant, Call], Answer]
ControlHandler = Callable[[Call], Any]


def _rule(route: str) -> Rule:
    """Routes are keyed "METHOD /path/{param}" (Square's templates); the call counter uses the same keys."""
    method, template = route.split(" ", 1)
    return Rule(re.sub(r"\{(\w+)\}", r"<\1>", template), methods=[method], endpoint=route)


def _json(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def _camel(record: dict[str, Any]) -> dict[str, Any]:
    return {re.sub(r"_(\w)", lambda g: g.group(1).upper(), k): v for k, v in record.items()}


class SquareSandbox:
    """A strict, in-memory Square: documented wire formats, signed webhooks, and fault injection."""

    def __init__(self) -> None:
        self.state = SandboxState()
        self.faults = FaultInjector(err.fault_body)
        self.dispatcher = WebhookDispatcher()
        self._api: dict[str, ApiHandler] = {
            "GET /v2/locations": lambda m, c: {"locations": [m.location()]},
            "GET /v2/catalog/list": lambda m, c: catalog.list_catalog(m, c.args.get("types"), c.args.get("cursor")),
            "POST /v2/catalog/search": lambda m, c: catalog.search_catalog(m, c.body),
            "POST /v2/catalog/batch-retrieve": lambda m, c: catalog.batch_retrieve(m, c.body),
            "POST /v2/catalog/batch-upsert": lambda m, c: catalog.batch_upsert(m, c.body),
            "POST /v2/catalog/batch-delete": lambda m, c: catalog.batch_delete(m, c.body),
            "POST /v2/inventory/counts/batch-retrieve": lambda m, c: inventory.batch_retrieve_counts(m, c.body),
            "POST /v2/orders": lambda m, c: orders.create(m, c.body),
            "POST /v2/orders/batch-retrieve": lambda m, c: orders.batch_retrieve(m, c.body),
            "POST /v2/orders/search": lambda m, c: orders.search(m, c.body),
            "GET /v2/orders/{order_id}": lambda m, c: orders.retrieve(m, c.params["order_id"]),
            "PUT /v2/orders/{order_id}": lambda m, c: orders.update(m, c.params["order_id"], c.body),
            "POST /v2/orders/calculate": lambda m, c: orders.calculate(m, c.body),
            "POST /v2/orders/{order_id}/pay": lambda m, c: payments.pay_order(m, c.params["order_id"], c.body),
            "POST /v2/payments": lambda m, c: payments.create(m, c.body),
            "GET /v2/payments/{payment_id}": lambda m, c: payments.retrieve(m, c.params["payment_id"]),
            "POST /v2/refunds": lambda m, c: payments.refund(m, c.body),
            "GET /v2/refunds/{refund_id}": lambda m, c: payments.retrieve_refund(m, c.params["refund_id"]),
            "POST /v2/customers": lambda m, c: customers.create(m, c.body),
            "POST /v2/customers/search": lambda m, c: customers.search(m, c.body),
            "GET /v2/customers/{customer_id}": lambda m, c: customers.retrieve(m, c.params["customer_id"]),
        }
        self._oauth_routes = [
            "GET /oauth2/authorize",
            "POST /oauth2/token",
            "POST /oauth2/revoke",
            "POST /oauth2/token/status",
        ]
        unknown = sorted(set(self._api) - set(sdk_schema.SDK_ROUTES))
        if unknown:  # every /v2 route is one of Square's, keyed as the official SDK names it (its request type applies)
            raise RuntimeError(f"the Square sandbox serves routes the official SDK does not have: {unknown}")
        merchant = "/_sandbox/merchants/{merchant_id}"
        self._control: dict[str, ControlHandler] = {
            "POST /_sandbox/merchants": self._create_merchant,
            f"PUT {merchant}/notification-url": self._set_notification_url,
            f"POST {merchant}/seed-catalog": lambda c: {"objects": self._merchant_op(c, seed.seed)},
            f"POST {merchant}/register-order": self._register_order,
            f"POST {merchant}/orders/{{order_id}}/fulfillment-state": self._move_fulfillment,
            f"POST {merchant}/orders/{{order_id}}/cancel": lambda c: {
                "order": self._merchant_op(c, lambda m: orders.cancel(m, c.params["order_id"]))
            },
            f"POST {merchant}/catalog/price": self._set_price,
            f"POST {merchant}/catalog/rename": self._rename,
            f"POST {merchant}/catalog/sold-out": self._set_sold_out,
            f"POST {merchant}/inventory": self._set_inventory,
            f"GET {merchant}/state": lambda c: self._merchant_op(c, _snapshot),
            f"GET {merchant}/pos-screen": lambda c: self._merchant_op(c, pos_screen.screen),
            f"PUT {merchant}/pos-partner": self._set_pos_partner,
            "POST /_sandbox/webhooks/delivery": self._plan_deliveries,
            "POST /_sandbox/webhooks/release": self._release,
            "GET /_sandbox/webhooks/deliveries": lambda c: {
                "deliveries": [_camel(asdict(d)) for d in self.dispatcher.deliveries]
            },
            "POST /_sandbox/oauth/applications": self._add_application,
            "PUT /_sandbox/oauth/signed-in": self._sign_in,
            "POST /_sandbox/oauth/revoke": self._seller_revokes,
            "POST /_sandbox/clock": self._advance_clock,
            "POST /_sandbox/faults": self._add_fault,
            "GET /_sandbox/faults": lambda c: self._faults_view(),
            "DELETE /_sandbox/faults": self._clear_faults,
            "POST /_sandbox/chaos": self._set_chaos,
            "GET /_sandbox/chaos": lambda c: self.faults.chaos_view(),
            "DELETE /_sandbox/chaos": self._stop_chaos,
        }
        routes = (*self._api, *self._oauth_routes, *self._control)
        self._routes = Map([_rule(key) for key in routes], strict_slashes=False)
        self.wsgi_app: Callable[..., Iterable[bytes]] = self.faults.wrap(self._wsgi)

    @property
    def api_routes(self) -> list[str]:
        """The Square endpoints this sandbox serves ("POST /v2/orders", "GET /v2/orders/{order_id}", ...)."""
        return sorted(self._api)

    def add_merchant(
        self, merchant_id: str, location_id: str, access_token: str, signature_key: str, notification_url: str | None
    ) -> None:
        self.state.add_merchant(merchant_id, location_id, access_token, signature_key, notification_url)

    def add_application(
        self, application_id: str, secret: str, redirect_url: str, notification_url: str | None, signature_key: str
    ) -> None:
        with self.state.lock:
            self.state.oauth.applications[application_id] = Application(
                application_id, secret, redirect_url, notification_url, signature_key
            )

    # ---- dispatch ------------------------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            return self._dispatch(request)(environ, start_response)
        finally:
            # Webhooks leave after the state lock is released, as Square sends them after committing.
            for outgoing in self.state.drain_outbox():
                deliver(self.dispatcher, outgoing)

    def _dispatch(self, request: Request) -> Response:
        control = request.path.startswith("/_sandbox/")
        try:
            route, params = self._routes.bind_to_environ(request.environ).match()
        except NotFound:
            return (
                _json(404, {"error": "no such route"}) if control else self._square_error(err.not_found("Not found."))
            )
        except MethodNotAllowed:
            error = err.SquareError(405, err.INVALID_REQUEST, "METHOD_NOT_ALLOWED", "Method not allowed.")
            return _json(405, {"error": "method not allowed"}) if control else self._square_error(error)
        except HTTPException as exc:  # e.g. a redirect the router would ask for
            return _json(exc.code or 400, {"error": exc.description})
        if control:
            return self._control_call(route, request, dict(params))
        if route in self._oauth_routes:
            return self._oauth_call(route, request)
        return self._api_call(route, request, dict(params))

    @staticmethod
    def _square_error(error: err.SquareError) -> Response:
        return _json(error.status, error.body())

    def _api_call(self, route: str, request: Request, params: dict[str, str]) -> Response:
        try:
            with self.state.lock:
                merchant = self._authenticate(request, route)
                merchant.calls[route] += 1
                version = request.headers.get("Square-Version")
                if version is not None:
                    if not _SQUARE_VERSION.match(version):
                        raise err.bad_request(
                            "INVALID_SQUARE_VERSION_FORMAT", "Square-Version must look like 2024-01-18."
                        )
                    merchant.square_versions[version] += 1
                call = Call(self._api_body(request), dict(request.args), params)
                _conform(route, call.body)
                answer = self._api[route](merchant, call)
        except err.SquareError as error:
            return self._square_error(error)
        except Exception as exc:  # a sandbox bug still answers in Square's format
            return self._square_error(err.SquareError(500, err.API, "INTERNAL_SERVER_ERROR", repr(exc)))
        status, payload = answer if isinstance(answer, tuple) else (200, answer)
        return _json(status, payload)

    def _oauth_call(self, route: str, request: Request) -> Response:
        """The OAuth API (devstack/square_sandbox/oauth.py): bodies checked against the SDK like every other."""
        oauth = self.state.oauth
        try:
            with self.state.lock:
                if route == "GET /oauth2/authorize":
                    return redirect(oauth.authorize(dict(request.args), set(self.state.merchants)), code=302)
                body = self._api_body(request) if route != "POST /oauth2/token/status" else {}
                _conform(route, body)
                if route == "POST /oauth2/token":
                    return _json(200, oauth.obtain_token(body))
                if route == "POST /oauth2/revoke":
                    answer, grant = oauth.revoke(request.headers.get("Authorization"), body)
                    if grant is not None:
                        self._revoked(grant.application_id, grant.merchant_id, "APPLICATION")
                    return _json(200, answer)
                match = _BEARER.match(request.headers.get("Authorization") or "")
                if match is None:
                    raise err.unauthorized("The `Authorization` http header must be `Bearer ACCESS_TOKEN`.")
                return _json(200, oauth.token_status(match.group(1)))
        except err.SquareError as error:
            return self._square_error(error)

    def _revoked(self, application_id: str, merchant_id: str, revoker: str) -> None:
        """oauth.authorization.revoked to the application's webhook subscription (squareup
        OauthAuthorizationRevokedEvent: data {type: "revocation", object: {revocation}}, no data id)."""
        app = self.state.oauth.applications[application_id]
        merchant = self.state.merchants.get(merchant_id)
        if merchant is None:
            return
        data = {"type": "revocation", "object": revocation_object(revoker, self.state.oauth.now())}
        event = envelope(merchant_id, "oauth.authorization.revoked", merchant.now(), data)
        merchant.events.append(event)
        if app.notification_url:
            merchant.outbox.append(Outgoing(app.notification_url, app.signature_key, event))

    def _authenticate(self, request: Request, route: str | None = None) -> Merchant:
        header = request.headers.get("Authorization")
        if header is None:
            raise err.unauthorized("The `Authorization` http header of your request was missing.")
        match = _BEARER.match(header)
        if match is None:
            raise err.unauthorized(
                "The `Authorization` http header of your request was malformed: expected `Bearer TOKEN`."
            )
        merchant = self.state.for_token(match.group(1))
        if merchant is not None:
            return merchant
        held = self.state.oauth.tokens.get(match.group(1))
        if held is None or held.grant.merchant_id not in self.state.merchants:
            raise err.unauthorized()
        self.state.oauth.check(held, route)
        return self.state.merchants[held.grant.merchant_id]

    @staticmethod
    def _api_body(request: Request) -> dict[str, Any]:
        if request.method == "GET":
            return {}
        try:
            body = json.loads(request.get_data() or b"")
        except ValueError:
            raise err.bad_request("EXPECTED_JSON_BODY", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise err.bad_request("EXPECTED_OBJECT", "The request body must be a JSON object.")
        return body

    def _control_call(self, route: str, request: Request, params: dict[str, str]) -> Response:
        try:
            raw = request.get_data()
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            answer = self._control[route](Call(body, dict(request.args), params))
        except err.ControlNotFound as exc:
            return _json(404, {"error": str(exc)})
        except err.SquareError as error:
            return _json(400, {"error": error.detail, "field": error.field})
        except (ValueError, TypeError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, answer)

    # ---- control API ---------------------------------------------------------------------------------------------

    def _merchant_op(self, call: Call, op: Callable[[Merchant], Any]) -> Any:
        with self.state.lock:
            merchant = self.state.merchants.get(call.params["merchant_id"])
            if merchant is None:
                raise err.ControlNotFound(f"merchant {call.params['merchant_id']!r} not found")
            return op(merchant)

    def _create_merchant(self, call: Call) -> dict[str, Any]:
        merchant = self.state.add_merchant(
            _string(call.body, "merchantId"),
            _string(call.body, "locationId"),
            _string(call.body, "accessToken"),
            _string(call.body, "signatureKey"),
            _optional_url(call.body.get("notificationUrl")),
        )
        url = merchant.notification_url
        return {"merchantId": merchant.merchant_id, "locationId": merchant.location_id, "notificationUrl": url}

    def _set_notification_url(self, call: Call) -> dict[str, Any]:
        url = _optional_url(call.body.get("notificationUrl"))

        def change(m: Merchant) -> dict[str, Any]:
            m.notification_url = url
            return {"merchantId": m.merchant_id, "notificationUrl": url}

        return dict(self._merchant_op(call, change))

    def _set_pos_partner(self, call: Call) -> dict[str, Any]:
        """{partner: bool}: whether the merchant has Square's partnership that shows DELIVERY orders on the POS."""
        partner = call.body.get("partner")
        if not isinstance(partner, bool):
            raise ValueError("'partner' must be a boolean")

        def change(m: Merchant) -> dict[str, Any]:
            m.pos_partner = partner
            return {"merchantId": m.merchant_id, "posPartner": partner}

        return dict(self._merchant_op(call, change))

    def _register_order(self, call: Call) -> dict[str, Any]:
        raw = call.body.get("order")
        if not isinstance(raw, dict):
            raise ValueError("'order' must be a Square Order object")
        return {"order": self._merchant_op(call, lambda m: orders.register(m, raw))}

    def _move_fulfillment(self, call: Call) -> dict[str, Any]:
        uid = call.body.get("fulfillmentUid")
        if uid is not None and not isinstance(uid, str):
            raise ValueError("'fulfillmentUid' must be a string")

        def move(m: Merchant) -> dict[str, Any]:
            return orders.move_fulfillment(m, call.params["order_id"], call.body.get("state"), uid)

        return {"order": self._merchant_op(call, move)}

    def _set_price(self, call: Call) -> dict[str, Any]:
        variation_id, amount = _string(call.body, "variationId"), call.body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValueError("'amount' must be a non-negative integer (cents)")
        return {"object": self._merchant_op(call, lambda m: catalog.set_price(m, variation_id, amount))}

    def _rename(self, call: Call) -> dict[str, Any]:
        object_id, name = _string(call.body, "objectId"), _string(call.body, "name")
        return {"object": self._merchant_op(call, lambda m: catalog.rename(m, object_id, name))}

    def _set_sold_out(self, call: Call) -> dict[str, Any]:
        """{variationId | modifierId, soldOut}: the seller's sold-out switch at the location."""
        object_id = call.body.get("modifierId") if "modifierId" in call.body else call.body.get("variationId")
        if not isinstance(object_id, str) or not object_id:
            raise ValueError("'variationId' or 'modifierId' must be a non-empty string")
        sold_out = call.body.get("soldOut")
        if not isinstance(sold_out, bool):
            raise ValueError("'soldOut' must be a boolean")
        return {"object": self._merchant_op(call, lambda m: catalog.set_sold_out(m, object_id, sold_out))}

    def _set_inventory(self, call: Call) -> dict[str, Any]:
        """A stock count at the location; fires inventory.count.updated (and, a tracked variation at zero, its
        sold-out catalog version)."""
        variation_id, quantity = _string(call.body, "variationId"), call.body.get("quantity")
        return {"count": self._merchant_op(call, lambda m: inventory.set_count(m, variation_id, quantity))}

    def _add_application(self, call: Call) -> dict[str, Any]:
        """A Square application: {applicationId, applicationSecret, redirectUrl, notificationUrl?, signatureKey?}."""
        url = call.body.get("redirectUrl")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("'redirectUrl' must be an http(s) URL")
        app = Application(
            _string(call.body, "applicationId"),
            _string(call.body, "applicationSecret"),
            url,
            _optional_url(call.body.get("notificationUrl")),
            str(call.body.get("signatureKey") or ""),
        )
        with self.state.lock:
            self.state.oauth.applications[app.application_id] = app
        return {"applicationId": app.application_id, "redirectUrl": app.redirect_url}

    def _sign_in(self, call: Call) -> dict[str, Any]:
        """{merchantId}: the seller signed in to the Seller Dashboard in the browser that will approve."""
        merchant_id = _string(call.body, "merchantId")
        with self.state.lock:
            if merchant_id not in self.state.merchants:
                raise err.ControlNotFound(f"merchant {merchant_id!r} not found")
            self.state.oauth.signed_in = merchant_id
        return {"signedIn": merchant_id}

    def _seller_revokes(self, call: Call) -> dict[str, Any]:
        """{applicationId, merchantId}: the seller revokes the application in the Square Dashboard."""
        application_id, merchant_id = _string(call.body, "applicationId"), _string(call.body, "merchantId")
        with self.state.lock:
            grants = [
                g
                for g in self.state.oauth.grants
                if g.application_id == application_id and g.merchant_id == merchant_id and not g.revoked
            ]
            if not grants:
                raise err.ControlNotFound("no authorization of that application by that seller")
            for grant in grants:
                grant.revoked = True
            self._revoked(application_id, merchant_id, "MERCHANT")
        return {"revoked": len(grants)}

    def _advance_clock(self, call: Call) -> dict[str, Any]:
        """{advanceSeconds}: move the sandbox's OAuth clock forward (token and code expiry)."""
        seconds = call.body.get("advanceSeconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError("'advanceSeconds' must be a non-negative integer")
        with self.state.lock:
            self.state.oauth.clock_offset += timedelta(seconds=seconds)
            now = self.state.oauth.now()
        return {"now": now.isoformat()}

    def _plan_deliveries(self, call: Call) -> dict[str, Any]:
        plan = DeliveryPlan.from_json(call.body)
        self.dispatcher.configure(plan)
        return {"plan": plan.to_json()}

    def _release(self, call: Call) -> dict[str, Any]:
        reverse = call.body.get("reverse", True)
        if not isinstance(reverse, bool):
            raise ValueError("'reverse' must be a boolean")
        return {"deliveries": [_camel(asdict(d)) for d in self.dispatcher.release(reverse)]}

    def _add_fault(self, call: Call) -> dict[str, Any]:
        self.faults.add(Fault.from_json(call.body))
        return self._faults_view()

    def _set_chaos(self, call: Call) -> dict[str, Any]:
        """`{rate, seed?, path?, kinds?, timeoutMs?}`: a seeded share of API requests fails (faults.Chaos)."""
        self.faults.set_chaos(Chaos.from_json(call.body))
        return self.faults.chaos_view()

    def _stop_chaos(self, _call: Call) -> dict[str, Any]:
        self.faults.set_chaos(None)
        return self.faults.chaos_view()

    def _clear_faults(self, _call: Call) -> dict[str, Any]:
        self.faults.clear()
        return self._faults_view()

    def _faults_view(self) -> dict[str, Any]:
        return {"faults": [_camel(x) for x in self.faults.pending()], "injected": self.faults.injected}


def _conform(route: str, body: dict[str, Any]) -> None:
    """The body must fit the official SDK's request type for the route (squareup, the oracle): an unknown field, a
    wrong JSON type, an enum value it does not list or a missing required field is Square's 400, before any handler
    reads the body. Being stricter than Square here only hides nothing; being laxer would hide our own typos."""
    found = sdk_schema.check_body(route, body)
    if found:
        first = found[0]
        raise err.bad_request(first.code, first.detail, first.field or None)


def _string(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"'{key}' must be a non-empty string")
    return value


def _optional_url(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.startswith(("http://", "https://"))):
        raise ValueError("'notificationUrl' must be an http(s) URL or null")
    return value


def _snapshot(m: Merchant) -> dict[str, Any]:
    """Everything a test may want to inspect; catalog objects are listed flat, as stored (variations separate)."""
    snapshot: dict[str, Any] = json.loads(
        json.dumps(
            {
                "merchantId": m.merchant_id,
                "locationId": m.location_id,
                "notificationUrl": m.notification_url,
                "catalogVersion": m.catalog_version,
                "catalogUpdatedAt": m.catalog_updated_at,
                "catalog": list(m.catalog.values()),
                "orders": list(m.orders.values()),
                "customers": list(m.customers.values()),
                "inventory": list(m.inventory.values()),
                "payments": list(m.payments.values()),
                "refunds": list(m.refunds.values()),
                "posPartner": m.pos_partner,
                "calls": dict(m.calls),
                "squareVersions": dict(m.square_versions),
                "events": m.events,
            }
        )
    )
    return snapshot
