"""The Wix REST routes (paths exactly as in wix-api.md) mapped onto the orders, menus and site state."""

from __future__ import annotations

import functools
from typing import Any

from werkzeug.routing import Map

from devstack.wix_sandbox import orders, rest_types
from devstack.wix_sandbox.menus import KINDS, MENUS_ACTIONS, MenusApi
from devstack.wix_sandbox.routing import Call, Handler, Routes, route, url_map
from devstack.wix_sandbox.state import TOKEN_TTL_S, Clock, Store
from devstack.wix_sandbox.validation import ApiError, Checker, bad_request, not_found

LOCATIONS_DEFAULT_LIMIT = 50
LOCATIONS_MAX_LIMIT = 1000

_OPERATIONS_BASES = ("/restaurants-operations/v1", "/restaurants/operations/v1")  # documented prefix and its alias


@functools.cache
def api_map() -> Map:
    rules = [
        route("/oauth2/token", "POST", "token", public=True),
        route("/ecom/v1/orders", "POST", "create_order"),
        route("/ecom/v1/orders/search", "POST", "search_orders"),
        route("/ecom/v1/orders/<id>", "GET", "get_order"),
        route("/ecom/v1/orders/<id>/cancel", "POST", "cancel_order"),
        route("/ecom/v1/fulfillments/orders/<orderId>", "GET", "list_fulfillments"),
        route("/ecom/v1/fulfillments/list-by-ids", "POST", "list_fulfillments_by_ids"),
        route("/ecom/v1/fulfillments/orders/<orderId>/create-fulfillment", "POST", "create_fulfillment"),
        route("/ecom/v1/fulfillments/<fulfillmentId>/orders/<orderId>", "PATCH", "update_fulfillment"),
        route("/ecom/v1/fulfillments/<fulfillmentId>/orders/<orderId>", "DELETE", "delete_fulfillment"),
        route("/locations/v1/locations", "GET", "list_locations"),
    ]
    for base in _OPERATIONS_BASES:
        rules.append(route(f"{base}/operations", "GET", "list_operations"))
        rules.append(route(f"{base}/operations/<id>", "GET", "get_operation"))
    for kind in KINDS:
        one, bulk, name = f"{kind.base}/{kind.collection}", f"{kind.base}/bulk", kind.name
        rules += [
            route(one, "POST", f"{name}.create"),
            route(one, "GET", f"{name}.list"),
            route(f"{one}/query", "POST", f"{name}.query"),
            route(f"{one}/<id>", "GET", f"{name}.get"),
            route(f"{one}/<id>", "PATCH", f"{name}.update"),
            route(f"{one}/<id>", "DELETE", f"{name}.delete"),
            route(f"{bulk}/{kind.collection}/create", "POST", f"{name}.bulk_create"),
            route(f"{bulk}/{kind.bulk_segment}/update", "POST", f"{name}.bulk_update"),
        ]
        if kind.bulk_delete:
            rules.append(route(f"{bulk}/{kind.bulk_segment}/delete", "DELETE", f"{name}.bulk_delete"))
        if kind.has_count:
            rules.append(route(f"{one}/count", "POST", f"{name}.count"))
    return url_map(rules)


class WixApi:
    def __init__(self, store: Store, clock: Clock, app_id: str, app_secret: str) -> None:
        self.store = store
        self.clock = clock
        self.app_id = app_id
        self.app_secret = app_secret

    def routes(self) -> Routes:
        handlers: dict[str, Handler] = {
            rule.endpoint.name: getattr(self, rule.endpoint.name)
            for rule in api_map().iter_rules()
            if "." not in rule.endpoint.name
        }
        for kind in KINDS:
            menus = MenusApi(kind, self.clock)
            handlers |= {f"{kind.name}.{action}": getattr(menus, action) for action in MENUS_ACTIONS}
        return Routes(api_map(), handlers)

    # --- OAuth ----------------------------------------------------------------------------------------------------

    def token(self, call: Call) -> dict[str, Any]:
        body = call.json()
        c = Checker()
        grant = c.text(body, "grant_type", "grant_type", required=True)
        client_id = c.text(body, "client_id", "client_id", required=True)
        client_secret = c.text(body, "client_secret", "client_secret", required=True)
        instance_id = c.text(body, "instance_id", "instance_id", required=True)
        c.done()
        if grant != "client_credentials":
            raise bad_request("grant_type must be client_credentials")
        if client_id != self.app_id or client_secret != self.app_secret:
            raise ApiError(401, "invalid client_id or client_secret", code="UNAUTHENTICATED")
        inst = self.store.instances.get(str(instance_id))
        if inst is None:
            raise bad_request(f"the app is not installed on instance {instance_id!r}")
        inst.calls[call.route] += 1
        return {
            "access_token": self.store.issue_token(inst.instance_id),
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_S,
        }

    # --- Orders ---------------------------------------------------------------------------------------------------

    def create_order(self, call: Call) -> dict[str, Any]:
        order_in, settings = orders.validate_create(_fields(call, "CreateOrderRequest"))
        order, events = orders.create_order(
            call.inst,
            self.clock,
            order_in,
            settings,
            created_by={"appId": self.app_id},
            identity=orders.app_identity(self.app_id),
        )
        call.outbox.extend(events)
        return {"order": order}

    def get_order(self, call: Call, id: str) -> dict[str, Any]:
        _fields(call, "GetOrderRequest", query=True, id=id)
        return {"order": call.inst.get_order(id)}

    def search_orders(self, call: Call) -> dict[str, Any]:
        return orders.search_orders(call.inst, _fields(call, "SearchOrdersRequest"))

    def cancel_order(self, call: Call, id: str) -> dict[str, Any]:
        body = _fields(call, "CancelOrderRequest", id=id)
        order, events = orders.cancel_order(call.inst, self.clock, id, body, orders.app_identity(self.app_id))
        call.outbox.extend(events)
        return {"order": order}

    # --- Fulfillments ---------------------------------------------------------------------------------------------

    def list_fulfillments(self, call: Call, orderId: str) -> dict[str, Any]:
        _fields(call, "ListFulfillmentsForSingleOrderRequest", query=True, orderId=orderId)
        return {"orderWithFulfillments": orders.with_fulfillments(call.inst, orderId)}

    def list_fulfillments_by_ids(self, call: Call) -> dict[str, Any]:
        return orders.list_by_ids(call.inst, _fields(call, "ListFulfillmentsForMultipleOrdersRequest"))

    def create_fulfillment(self, call: Call, orderId: str) -> dict[str, Any]:
        body = _fields(call, "CreateFulfillmentRequest", orderId=orderId)
        return orders.create_fulfillment(call.inst, self.clock, orderId, body)

    def update_fulfillment(self, call: Call, fulfillmentId: str, orderId: str) -> dict[str, Any]:
        body = _fields(call, "UpdateFulfillmentRequest", orderId=orderId)
        return orders.update_fulfillment(call.inst, fulfillmentId, orderId, body)

    def delete_fulfillment(self, call: Call, fulfillmentId: str, orderId: str) -> dict[str, Any]:
        _fields(call, "DeleteFulfillmentRequest", query=True, fulfillmentId=fulfillmentId, orderId=orderId)
        return orders.delete_fulfillment(call.inst, self.clock, fulfillmentId, orderId)

    # --- Locations and operations ---------------------------------------------------------------------------------

    def list_locations(self, call: Call) -> dict[str, Any]:
        """Offset paging (an older API): paging.limit (default 50, max 1000) and paging.offset; the SDK sends them
        packed in `.r`, so they arrive as JSON numbers and booleans, or as query strings from a plain REST call.
        pagingMetadata is {count, offset, hasNext} (the REST PagingMetadata has no total)."""
        fields = _fields(call, "ListLocationsRequest", query=True)
        paging = fields.get("paging") or {}
        try:
            limit = _whole(paging.get("limit", LOCATIONS_DEFAULT_LIMIT))
            offset = _whole(paging.get("offset", 0))
        except ValueError as exc:
            raise bad_request("paging.limit and paging.offset must be integers") from exc
        if not 1 <= limit <= LOCATIONS_MAX_LIMIT or offset < 0:
            raise bad_request(f"paging.limit must be between 1 and {LOCATIONS_MAX_LIMIT} and paging.offset >= 0")
        include_archived = fields.get("includeArchived") in (True, "true")
        found = [loc for loc in call.inst.locations.values() if include_archived or not loc["archived"]]
        chunk = found[offset : offset + limit]
        metadata = {"count": len(chunk), "offset": offset, "hasNext": offset + limit < len(found)}
        return {"locations": chunk, "pagingMetadata": metadata}

    def list_operations(self, call: Call) -> dict[str, Any]:
        _fields(call, "ListOperationsRequest", query=True)
        return {"operations": sorted(call.inst.operations.values(), key=lambda op: op["createdDate"])}

    def get_operation(self, call: Call, id: str) -> dict[str, Any]:
        _fields(call, "GetOperationRequest", query=True, operationId=id)
        operation = call.inst.operations.get(id)
        if operation is None:
            raise not_found("Operation", id)
        return {"operation": operation}


def _fields(call: Call, type_name: str, *, query: bool = False, **path_ids: str) -> dict[str, Any]:
    """The request's fields (its JSON body, or for `query` its query string) after the REST type's check: a field
    the type lacks is a 400. The SDK repeats the path's ids in the body or query; where it does they must agree."""
    fields = rest_types.query_fields(call.request.args) if query else call.json()
    for name, value in path_ids.items():
        if name in fields and fields[name] != value:
            raise ApiError(
                400,
                f"Invalid request: {name} differs from the id in the path",
                violations=[{"field": name, "description": "differs from the id in the path"}],
            )
    rest_types.check_known(type_name, {**fields, **path_ids})
    return fields


def _whole(value: Any) -> int:
    """An integer from JSON (a number) or from a query string (its digits)."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("not a whole number")
    return int(value)
