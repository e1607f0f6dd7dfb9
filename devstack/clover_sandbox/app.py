"""The Clover sandbox as a WSGI app: Clover's `/v3` Platform API and `/oauth/v2/refresh` (bearer tokens, per
merchant, rate-limited per token) and a `/_sandbox` control API (merchants, inventory references, the POS screen,
webhook handshake, faults)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.clover_sandbox import customers, inventory, orders, schema
from devstack.clover_sandbox import errors as err
from devstack.clover_sandbox.ids import new_id
from devstack.clover_sandbox.state import Merchant, SandboxState, now_ms
from devstack.clover_sandbox.webhooks import deliver, send_verification
from devstack.faults import Fault, FaultInjector
from devstack.webhooks import DeliveryPlan, WebhookDispatcher

_BEARER = re.compile(r"^Bearer (\S+)$")
M = "/v3/merchants/{mId}"


@dataclass
class Call:
    body: dict[str, Any]
    args: dict[str, str]
    filters: list[str]  # every `filter=` (Clover ANDs repeated filters)
    params: dict[str, str]


ApiHandler = Callable[[Merchant, Call], Any]


def _rule(route: str) -> Rule:
    method, template = route.split(" ", 1)
    return Rule(re.sub(r"\{(\w+)\}", r"<\1>", template), methods=[method], endpoint=route)


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json", headers=headers or {})


class CloverSandbox:
    """A strict, in-memory Clover with one app (ours) installed on any number of merchants."""

    def __init__(self, state: SandboxState | None = None) -> None:
        self.state = state or SandboxState()
        self.faults = FaultInjector(err.fault_body)
        self.after_faults: list[Fault] = []  # processed, then answered with the fault's status (a lost reply)
        self._after_lock = threading.Lock()
        self.dispatcher = WebhookDispatcher()
        s = self.state
        self._api: dict[str, ApiHandler] = {
            f"POST {M}/atomic_order/checkouts": lambda m, c: orders.checkout(m, c.body),
            f"POST {M}/atomic_order/orders": lambda m, c: orders.create(s, m, c.body),
            f"GET {M}/orders": lambda m, c: orders.list_orders(m, c.filters, c.args),
            f"GET {M}/orders/{{orderId}}": lambda m, c: orders.get(m, c.params["orderId"], c.args),
            f"POST {M}/orders/{{orderId}}/payments": lambda m, c: orders.create_payment(
                s, m, c.params["orderId"], c.body
            ),
            f"GET {M}/orders/{{orderId}}/payments": lambda m, c: orders.order_payments(m, c.params["orderId"]),
            f"DELETE {M}/orders/{{orderId}}": lambda m, c: orders.delete_order(s, m, c.params["orderId"]),
            f"GET {M}/payments/{{payId}}": lambda m, c: orders.get_payment(m, c.params["payId"], c.args),
            f"GET {M}/customers": lambda m, c: customers.list_customers(m, c.filters, c.args),
            f"POST {M}/customers": lambda m, c: customers.create_customer(s, m, c.body),
            f"GET {M}/customers/{{customerId}}": lambda m, c: customers.get_customer(m, c.params["customerId"]),
            f"POST {M}/customers/{{customerId}}/email_addresses": lambda m, c: customers.add_contact(
                s, m, c.params["customerId"], "emailAddresses", c.body
            ),
            f"POST {M}/customers/{{customerId}}/phone_numbers": lambda m, c: customers.add_contact(
                s, m, c.params["customerId"], "phoneNumbers", c.body
            ),
            f"GET {M}/tenders": lambda m, c: orders.elements(list(m.tenders.values())),
            f"GET {M}/tax_rates": lambda m, c: orders.elements(list(m.tax_rates.values())),
            f"GET {M}/order_types": lambda m, c: orders.elements(list(m.order_types.values())),
            f"POST {M}/order_types": lambda m, c: orders.create_order_type(m, c.body),
            f"GET {M}/categories": lambda m, c: inventory.list_categories(m, c.args),
            f"GET {M}/items": lambda m, c: inventory.list_items(m, c.filters, c.args),
            f"GET {M}/item_groups": lambda m, c: inventory.list_item_groups(m, c.args),
            f"GET {M}/modifier_groups": lambda m, c: inventory.list_modifier_groups(m, c.args),
        }
        merchant = "/_sandbox/merchants/{merchant_id}"
        self._control: dict[str, Callable[[Call], Any]] = {
            "GET /_sandbox/app": lambda c: {"clientId": s.app.client_id, "clientSecret": s.app.client_secret},
            "PUT /_sandbox/app/webhook": self._set_webhook_url,
            "POST /_sandbox/app/webhook/verify": self._verify_webhook,
            "PUT /_sandbox/tokens": self._token_settings,
            "POST /_sandbox/merchants": self._create_merchant,
            f"POST {merchant}/tax_rates": lambda c: self._merchant_op(c, lambda m: _add_tax_rate(m, c.body)),
            f"POST {merchant}/items": lambda c: self._merchant_op(c, lambda m: _add_item(m, c.body, now_ms(s.clock))),
            f"POST {merchant}/modifiers": lambda c: self._merchant_op(c, lambda m: _add_modifier(m, c.body)),
            f"POST {merchant}/catalog": lambda c: {"ids": self._merchant_op(c, lambda m: inventory.seed(s, m, c.body))},
            f"POST {merchant}/items/{{item_id}}/availability": lambda c: self._merchant_op(
                c, lambda m: inventory.set_available(s, m, c.params["item_id"], bool(c.body["available"]))
            ),
            f"POST {merchant}/payments/{{payment_id}}/refund": lambda c: self._merchant_op(
                c, lambda m: orders.refund_at_the_till(s, m, c.params["payment_id"])
            ),
            f"POST {merchant}/items/{{item_id}}/edit": lambda c: self._merchant_op(
                c, lambda m: inventory.edit_item(s, m, c.params["item_id"], c.body)
            ),
            f"DELETE {merchant}/items/{{item_id}}": lambda c: self._merchant_op(
                c, lambda m: inventory.delete_item(s, m, c.params["item_id"])
            ),
            f"POST {merchant}/modifier_groups/{{group_id}}/edit": lambda c: self._merchant_op(
                c, lambda m: inventory.edit_modifier_group(s, m, c.params["group_id"], c.body)
            ),
            f"POST {merchant}/service_charge": lambda c: self._merchant_op(c, lambda m: _set_charge(m, c.body)),
            f"POST {merchant}/expire-access-tokens": lambda c: {
                "expired": self._merchant_op(c, lambda m: s.expire_access(m.merchant_id))
            },
            f"GET {merchant}/state": lambda c: self._merchant_op(c, _snapshot),
            f"GET {merchant}/pos-screen": lambda c: self._merchant_op(c, pos_screen),
            "POST /_sandbox/webhooks/delivery": self._plan_deliveries,
            "POST /_sandbox/webhooks/release": lambda c: {
                "deliveries": [asdict(d) for d in self.dispatcher.release(bool(c.body.get("reverse", True)))]
            },
            "GET /_sandbox/webhooks/deliveries": lambda c: {
                "deliveries": [asdict(d) for d in self.dispatcher.deliveries]
            },
            "POST /_sandbox/faults": self._add_fault,
            "GET /_sandbox/faults": lambda c: self._faults_view(),
            "DELETE /_sandbox/faults": self._clear_faults,
        }
        routes = [*self._api, "POST /oauth/v2/refresh", *self._control]
        self._routes = Map([_rule(key) for key in routes], strict_slashes=False)
        self.wsgi_app: Callable[..., Iterable[bytes]] = self.faults.wrap(self._wsgi)

    # ---- dispatch ------------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.wsgi_app(environ, start_response)

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            return self._dispatch(request)(environ, start_response)
        finally:
            batch = self.state.drain_outbox()  # sent after the state lock is released, as Clover sends after commit
            deliver(self.dispatcher, self.state.app, batch)

    def _dispatch(self, request: Request) -> Response:
        control = request.path.startswith("/_sandbox/")
        try:
            route, params = self._routes.bind_to_environ(request.environ).match()
        except NotFound:
            return _json(404, {"error": "no such route"} if control else {"message": "Not Found"})
        except MethodNotAllowed:
            return _json(405, {"error": "method not allowed"} if control else {"message": "Method Not Allowed"})
        except HTTPException as exc:
            return _json(exc.code or 400, {"message": exc.description})
        if control:
            return self._control_call(route, request, dict(params))
        if route == "POST /oauth/v2/refresh":
            return self._refresh(request)
        return self._api_call(route, request, dict(params))

    def _call(self, request: Request, params: dict[str, str]) -> Call:
        pairs = parse_qsl(request.query_string.decode(), keep_blank_values=True)
        args = {k: v for k, v in pairs if k != "filter"}
        return Call(_body(request), args, [v for k, v in pairs if k == "filter"], params)

    def _api_call(self, route: str, request: Request, params: dict[str, str]) -> Response:
        header = request.headers.get("Authorization") or ""
        match = _BEARER.match(header)
        if match is None:  # tokens in the URL are refused since Feb 2022 (changelog August 2021)
            return _json(401, err.unauthorized().body())
        token = match.group(1)
        with self.state.lock:
            limit = self.state.admit(token)
        if limit is not None:
            headers = {f"X-RateLimit-{limit}": "exceeded"}
            if "Concurrent" in limit:
                headers["retry-after"] = "1"
            return _json(429, {"message": "Too Many Requests"}, headers)
        try:
            with self.state.lock:
                merchant = self.state.merchant_for(token)
                if merchant.merchant_id != params.get("mId"):
                    raise err.unauthorized()
                merchant.calls[route] += 1
                answer = self._api[route](merchant, self._call(request, params))
        except err.CloverError as error:
            return _json(error.status, error.body(), error.headers)
        except Exception as exc:  # a sandbox bug still answers in Clover's format
            return _json(500, {"message": f"Internal error: {exc!r}"})
        finally:
            with self.state.lock:
                self.state.done(token)
        after = self._take_after(request.method, request.path)
        if after is not None:
            return _json(after.status or 500, err.fault_body(after.status or 500))
        headers = {"X-Clover-Allowed-Filter-Fields": orders.FILTER_FIELDS} if route.endswith("/orders") else {}
        return _json(200, answer, headers)

    def _refresh(self, request: Request) -> Response:
        """POST /oauth/v2/refresh {client_id, refresh_token} -> a new pair; the old refresh token is spent
        (docs.clover.com/docs/refresh-access-tokens)."""
        try:
            body = _body(request)
            schema.check(body, schema.REFRESH)
            if body.get("client_id") != self.state.app.client_id or not body.get("refresh_token"):
                raise err.unauthorized("Invalid client_id or refresh_token")
            with self.state.lock:
                pair = self.state.redeem(str(body["refresh_token"]))
        except err.CloverError as error:
            return _json(error.status, error.body())
        after = self._take_after(request.method, request.path)
        if after is not None:  # the pair exists (and the old token is spent) but the reply is lost
            return _json(after.status or 500, err.fault_body(after.status or 500))
        return _json(200, pair)

    def _take_after(self, method: str, path: str) -> Fault | None:
        with self._after_lock:
            for fault in self.after_faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.after_faults.remove(fault)
                    return fault
        return None

    def _control_call(self, route: str, request: Request, params: dict[str, str]) -> Response:
        try:
            answer = self._control[route](self._call(request, params))
        except err.ControlNotFound as exc:
            return _json(404, {"error": str(exc)})
        except err.CloverError as error:
            return _json(400, {"error": error.message, "details": error.details})
        except (ValueError, TypeError, KeyError) as exc:
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
        """{merchantId?, currency?}: a merchant that installed our app, with its first token pair."""
        with self.state.lock:
            merchant = self.state.add_merchant(call.body.get("merchantId"), call.body.get("currency", "USD"))
            tokens = self.state.issue(merchant.merchant_id)
        return {"merchantId": merchant.merchant_id, "clientId": self.state.app.client_id, **tokens}

    def _token_settings(self, call: Call) -> dict[str, Any]:
        with self.state.lock:
            if "accessTtl" in call.body:
                self.state.access_ttl = int(call.body["accessTtl"])
            if "maxRefreshTokens" in call.body:
                self.state.max_refresh_tokens = int(call.body["maxRefreshTokens"])
            return {"accessTtl": self.state.access_ttl, "maxRefreshTokens": self.state.max_refresh_tokens}

    def _set_webhook_url(self, call: Call) -> dict[str, Any]:
        """The developer saves the URL and clicks "Send Verification Code": Clover POSTs the code to the URL."""
        url = call.body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("'url' must be an http(s) URL")
        code = str(uuid.uuid4())
        with self.state.lock:
            self.state.app.webhook_url, self.state.app.verification_code, self.state.app.auth_code = url, code, None
        send_verification(self.dispatcher, url, code)
        return {"url": url, "verified": False}

    def _verify_webhook(self, call: Call) -> dict[str, Any]:
        """The person pastes the code they received; the dashboard then shows the app's Clover Auth Code."""
        with self.state.lock:
            app = self.state.app
            if app.verification_code is None or call.body.get("verificationCode") != app.verification_code:
                raise ValueError("verification code does not match")
            app.auth_code = app.auth_code or new_id() + new_id()
            return {"verified": True, "authCode": app.auth_code}

    def _plan_deliveries(self, call: Call) -> dict[str, Any]:
        plan = DeliveryPlan.from_json(call.body)
        self.dispatcher.configure(plan)
        return {"plan": asdict(plan)}

    def _add_fault(self, call: Call) -> dict[str, Any]:
        """{path, method?, status?, delayMs?, times?, after?}: `after: true` processes the request, then answers
        `status` (the write happened; the reply says it did not)."""
        fault = Fault.from_json(call.body)
        if call.body.get("after"):
            with self._after_lock:
                self.after_faults.append(fault)
        else:
            self.faults.add(fault)
        return self._faults_view()

    def _clear_faults(self, _call: Call) -> dict[str, Any]:
        self.faults.clear()
        with self._after_lock:
            self.after_faults.clear()
        return self._faults_view()

    def _faults_view(self) -> dict[str, Any]:
        with self._after_lock:
            after = [asdict(f) for f in self.after_faults]
        return {"faults": self.faults.pending(), "after": after, "injected": self.faults.injected}


def _body(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return {}
    raw = request.get_data()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        raise err.bad_request("bad_request", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise err.bad_request("bad_request", "The request body must be a JSON object")
    return body


def _positive_int(body: dict[str, Any], key: str, allow_zero: bool = True) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ValueError(f"'{key}' must be a {'non-negative' if allow_zero else 'positive'} integer")
    return value


def _name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("'name' must be a non-empty string")
    return name


def _add_tax_rate(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    """{name, rate (percent x 100000), isDefault?}"""
    rate_id = new_id()
    rate = {
        "id": rate_id,
        "name": _name(body),
        "rate": _positive_int(body, "rate"),
        "isDefault": bool(body.get("isDefault", False)),
    }
    m.tax_rates[rate_id] = rate
    return rate


def _add_item(m: Merchant, body: dict[str, Any], now: int) -> dict[str, Any]:
    """{name, price, defaultTaxRates?, taxRateIds?}"""
    item_id = new_id()
    item = {"id": item_id, "name": _name(body), "price": _positive_int(body, "price"), "priceType": "FIXED"}
    item["defaultTaxRates"] = bool(body.get("defaultTaxRates", True))
    item.update({"hidden": False, "available": True, "modifiedTime": now})
    item["taxRateIds"] = [str(t) for t in body.get("taxRateIds", []) if str(t) in m.tax_rates]
    m.items[item_id] = item
    return item


def _add_modifier(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    modifier_id = new_id()
    modifier = {"id": modifier_id, "name": _name(body), "price": _positive_int(body, "price")}
    m.modifiers[modifier_id] = modifier
    return modifier


def _set_charge(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    """{name, percentageDecimal (percent x 10000)}: the merchant's default service charge."""
    m.service_charge = {
        "id": new_id(),
        "name": _name(body),
        "enabled": True,
        "percentageDecimal": _positive_int(body, "percentageDecimal"),
    }
    return m.service_charge


def _snapshot(m: Merchant) -> dict[str, Any]:
    snapshot: dict[str, Any] = json.loads(
        json.dumps(
            {
                "merchantId": m.merchant_id,
                "orders": list(m.orders.values()),
                "payments": list(m.payments.values()),
                "refunds": list(m.refunds.values()),
                "deletedOrders": list(m.deleted_orders.values()),
                "customers": list(m.customers.values()),
                "taxRates": list(m.tax_rates.values()),
                "orderTypes": list(m.order_types.values()),
                "calls": dict(m.calls),
            }
        )
    )
    return snapshot


def pos_screen(m: Merchant) -> dict[str, Any]:
    """What the merchant's Orders app shows: orders with a state (an order left with `state` null is hidden:
    docs.clover.com/build/working-with-orders/), each with its lines, type, total and payments."""
    shown = []
    for order in sorted(m.orders.values(), key=lambda o: o["createdTime"]):
        if not order.get("state"):
            continue
        order_type = m.order_types.get((order.get("orderType") or {}).get("id", ""))
        lines = []
        for line in order["lineItems"]["elements"]:
            lines.append(
                {
                    "name": line["name"],
                    "price": line["price"],
                    "note": line.get("note"),
                    "modifiers": [(x["name"], x["amount"]) for x in line.get("modifications", {}).get("elements", [])],
                    "discounts": [
                        (d["name"], d.get("amount"), d.get("percentage"))
                        for d in line.get("discounts", {}).get("elements", [])
                    ],
                    "taxRates": [t["name"] for t in line["taxRates"]["elements"]],
                }
            )
        payments = [p for p in m.payments.values() if p["order"]["id"] == order["id"]]
        shown.append(
            {
                "id": order["id"],
                "title": order.get("title"),
                "note": order.get("note"),
                "orderType": order_type["label"] if order_type else None,
                "lines": lines,
                "orderDiscounts": [
                    (d["name"], d.get("amount"), d.get("percentage"))
                    for d in order.get("discounts", {}).get("elements", [])
                ],
                "total": order["total"],
                "paymentState": order.get("paymentState"),
                "payments": [
                    {"tender": p["tender"]["label"], "amount": p["amount"], "tip": p.get("tipAmount", 0)}
                    for p in payments
                ],
                "collected": sum(p["amount"] + p.get("tipAmount", 0) for p in payments),
            }
        )
    return {"merchantId": m.merchant_id, "orders": shown}
