"""The Wix sandbox over real HTTP: every strict rule of shared/reference/wix-api.md it enforces, one test each."""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

from devstack.httpserver import BackgroundServer
from devstack.wix_sandbox import RESTAURANTS_APP_ID, STORES_APP_ID, WixSandbox, sign_webhook

APP_ID = "6f3c2b7e-0d1a-4c55-9a7e-1b2c3d4e5f60"
APP_SECRET = "app-secret"
FULFILLMENT_STATUSES = ["Pending", "Accepted", "Ready", "In_Delivery", "Fulfilled"]


# --- Fixtures: one HTTP server per module in front of a fresh sandbox per test (server shutdown is slow) ------------


class Front:
    """Forwards to the current test's sandbox, so each test gets clean state behind the same port."""

    def __init__(self) -> None:
        self.app: Callable[..., Iterable[bytes]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


class Receiver:
    """A webhook endpoint that records raw bodies and answers 200, like the bridge's ingest."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []  # (content type, raw body)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        with self._lock:
            self.received.append((request.mimetype, request.get_data(as_text=True)))
        return Response("ok")(environ, start_response)

    def events(self, public_key: bytes) -> list[dict[str, Any]]:
        """Verify each body and unwrap the three JSON layers into {eventType, instanceId, identity, event}."""
        with self._lock:
            bodies = [body for _, body in self.received]
        out = []
        for body in bodies:
            claims = jwt.decode(body, public_key, algorithms=["RS256"], audience=APP_ID, issuer="wix.com")
            envelope = json.loads(claims["data"])
            identity, event = json.loads(envelope["identity"]), json.loads(envelope["data"])
            out.append({**envelope, "identity": identity, "event": event})
        return out


@pytest.fixture(scope="module")
def private_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8, no_password = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, no_password)


@pytest.fixture(scope="module")
def front() -> Iterator[tuple[Front, BackgroundServer]]:
    app = Front()
    with BackgroundServer(app) as server:
        yield app, server


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[tuple[Receiver, BackgroundServer]]:
    receiver = Receiver()
    with BackgroundServer(receiver) as server:
        yield receiver, server


@pytest.fixture
def receiver(receiver_server: tuple[Receiver, BackgroundServer]) -> Receiver:
    receiver_server[0].received.clear()
    return receiver_server[0]


@pytest.fixture
def sandbox(
    private_key: bytes, front: tuple[Front, BackgroundServer], receiver_server: tuple[Receiver, BackgroundServer]
) -> WixSandbox:
    box = WixSandbox(APP_ID, APP_SECRET, private_key)
    box.webhook_url = f"{receiver_server[1].url}/webhooks/wix"
    front[0].app = box.wsgi_app
    return box


@pytest.fixture(scope="module")
def module_http(front: tuple[Front, BackgroundServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=front[1].url, timeout=5) as client:
        yield client


@pytest.fixture
def http(module_http: httpx.Client, sandbox: WixSandbox) -> httpx.Client:
    return module_http


@dataclass
class Site:
    """One app instance seen through the Wix API with its own token."""

    http: httpx.Client
    instance_id: str
    token: str

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def create_order(self, **order_fields: Any) -> dict[str, Any]:
        response = self.call("POST", "/ecom/v1/orders", json={"order": {**valid_order()["order"], **order_fields}})
        assert response.status_code == 200, response.text
        return dict(response.json()["order"])

    def state(self) -> dict[str, Any]:
        return dict(self.http.get(f"/_sandbox/instances/{self.instance_id}/state").json())

    def create(self, base: str, kind: str, entity: dict[str, Any], collection: str = "") -> dict[str, Any]:
        response = self.call("POST", f"{base}/{collection or kind + 's'}", json={kind: entity})
        assert response.status_code == 200, response.text
        return dict(response.json()[kind])


def request_token(http: httpx.Client, instance: str, **overrides: str) -> httpx.Response:
    body = {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET,
            "instance_id": instance}  # fmt: skip
    return http.post("/oauth2/token", json={**body, **overrides})


def install(http: httpx.Client, instance_id: str) -> Site:
    assert http.post("/_sandbox/instances", json={"instanceId": instance_id}).status_code == 200
    return Site(http, instance_id, request_token(http, instance_id).json()["access_token"])


@pytest.fixture
def site(http: httpx.Client) -> Site:
    return install(http, "site-a")


def valid_order() -> dict[str, Any]:
    """The documented Create Order example (wix-api.md section 1)."""
    return {
        "order": {
            "channelInfo": {"type": "POS", "externalOrderId": "POS-12345"},
            "lineItems": [{
                "quantity": 2,
                "productName": {"original": "Margherita"},
                "itemType": {"preset": "PHYSICAL"},
                "price": {"amount": "12.50"},
                "catalogReference": {"appId": RESTAURANTS_APP_ID, "catalogItemId": str(uuid.uuid4()),
                                     "options": {"operationId": "op", "menuId": "menu", "sectionId": "section"}},
            }],
            "priceSummary": {"subtotal": {"amount": "25.00"}, "total": {"amount": "25.00"}},
            "paymentStatus": "PAID",
        },
        "settings": {"notifications": {"sendNotificationToBuyer": False}},
    }  # fmt: skip


def violation_fields(response: httpx.Response) -> list[str]:
    return [v["field"] for v in response.json()["details"]["validationError"]["fieldViolations"]]


MENU = "/restaurants/menus-menu/v1"
SECTION = "/restaurants/menus-section/v1"
ITEM = "/restaurants/menus-item/v1"
VARIANT = "/restaurants/item-variants/v1"
MODIFIER = "/restaurants/item-modifiers/v1"
GROUP = "/restaurants/item-modifier-group/v1"


# --- OAuth and tenancy ------------------------------------------------------------------------------------------------


def test_token_flow_accepts_raw_and_bearer_authorization(http: httpx.Client) -> None:
    # Given an installed instance
    http.post("/_sandbox/instances", json={"instanceId": "site-a"})
    # When the app asks for a client-credentials token
    response = request_token(http, "site-a")
    # Then it gets a 4-hour bearer token that works in both header forms
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 14400
    for header in (body["access_token"], f"Bearer {body['access_token']}"):
        assert http.get("/locations/v1/locations", headers={"Authorization": header}).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "status"),
    [({"client_secret": "wrong"}, 401), ({"client_id": "other-app"}, 401), ({"instance_id": "not-installed"}, 400),
     ({"grant_type": "authorization_code"}, 400)],
)  # fmt: skip
def test_token_request_is_rejected(http: httpx.Client, overrides: dict[str, str], status: int) -> None:
    # Given an installed instance
    http.post("/_sandbox/instances", json={"instanceId": "site-a"})
    # When the token request has a wrong credential, instance or grant
    response = request_token(http, "site-a", **overrides)
    # Then no token is issued
    assert response.status_code == status
    assert "access_token" not in response.json()


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "not-a-token"])
def test_api_needs_a_valid_token(site: Site, header: str | None) -> None:
    # Given a request with a missing or unknown token
    headers = {"Authorization": header} if header else {}
    # When it calls the API
    response = site.http.get("/locations/v1/locations", headers=headers)
    # Then it is unauthenticated, in the Wix error shape
    assert response.status_code == 401
    assert response.json()["details"]["applicationError"]["code"] == "UNAUTHENTICATED"


def test_token_expires_after_four_hours_of_sandbox_time(site: Site) -> None:
    # Given a fresh token that works
    assert site.call("GET", "/locations/v1/locations").status_code == 200
    # When the sandbox clock moves 4 hours on
    site.http.post("/_sandbox/clock", json={"advanceSeconds": 14400})
    # Then the token is expired, and a new one works
    assert site.call("GET", "/locations/v1/locations").status_code == 401
    fresh = request_token(site.http, site.instance_id).json()["access_token"]
    assert site.http.get("/locations/v1/locations", headers={"Authorization": fresh}).status_code == 200


def test_one_instance_never_sees_another_instances_data(site: Site) -> None:
    # Given an order and a menu item on site A, and a second site B
    order = site.create_order()
    item = site.create(ITEM, "item", {"name": "Soup"})
    other = install(site.http, "site-b")
    # When B's token reads A's ids
    # Then B sees nothing of A
    assert other.call("GET", f"/ecom/v1/orders/{order['id']}").status_code == 404
    assert other.call("POST", "/ecom/v1/orders/search", json={}).json()["orders"] == []
    assert other.call("GET", f"{ITEM}/items/{item['id']}").status_code == 404
    assert other.call("GET", f"/ecom/v1/fulfillments/orders/{order['id']}").status_code == 404
    assert other.state()["locationId"] != site.state()["locationId"]


# --- Create Order ---------------------------------------------------------------------------------------------------


def _without(body: dict[str, Any], path: str) -> dict[str, Any]:
    trimmed = copy.deepcopy(body)
    node = trimmed["order"]
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[part][0] if part == "lineItems" else node[part]
    del node[leaf]
    return trimmed


@pytest.mark.parametrize(
    "path",
    ["channelInfo", "lineItems", "priceSummary", "lineItems.catalogReference.appId",
     "lineItems.catalogReference.catalogItemId", "lineItems.itemType", "lineItems.price", "lineItems.price.amount",
     "lineItems.productName.original", "lineItems.quantity"],
)  # fmt: skip
def test_create_order_without_a_required_field_is_400(site: Site, path: str) -> None:
    # Given the documented example order missing one required field
    body = _without(valid_order(), path)
    # When it is created
    response = site.call("POST", "/ecom/v1/orders", json=body)
    # Then Wix rejects it and names the field
    assert response.status_code == 400
    expected = "order." + path.replace("lineItems.", "lineItems[0].")
    assert expected in violation_fields(response)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o["channelInfo"].update(type="pos"), "order.channelInfo.type"),
        (lambda o: o["channelInfo"].update(externalOrderId="x" * 101), "order.channelInfo.externalOrderId"),
        (lambda o: o.update(buyerNote="x" * 1001), "order.buyerNote"),
        (lambda o: o.update(lineItems=o["lineItems"] * 301), "order.lineItems"),
        (lambda o: o.update(lineItems=[]), "order.lineItems"),
        (lambda o: o["lineItems"][0].update(id="line-1"), "order.lineItems[0].id"),
        (lambda o: o["lineItems"][0].update(quantity=0), "order.lineItems[0].quantity"),
        (lambda o: o["lineItems"][0].update(quantity=100001), "order.lineItems[0].quantity"),
        (lambda o: o["lineItems"][0]["price"].update(amount=12.5), "order.lineItems[0].price.amount"),
        (lambda o: o["lineItems"][0]["productName"].update(original="x" * 201),
         "order.lineItems[0].productName.original"),
        (lambda o: o["lineItems"][0]["catalogReference"].update(catalogItemId="x" * 37),
         "order.lineItems[0].catalogReference.catalogItemId"),
    ],
)  # fmt: skip
def test_create_order_limits(site: Site, change: Callable[[dict[str, Any]], None], field: str) -> None:
    # Given an order breaking one documented limit
    body = valid_order()
    change(body["order"])
    # When it is created
    response = site.call("POST", "/ecom/v1/orders", json=body)
    # Then it is a 400 naming that field
    assert response.status_code == 400
    assert field in violation_fields(response)


def test_create_order_assigns_server_fields_and_honours_notifications(site: Site, receiver: Receiver) -> None:
    # Given a valid order that turns buyer notifications off
    line_id = str(uuid.uuid4())
    body = valid_order()
    body["order"]["lineItems"][0]["id"] = line_id
    # When the app creates it
    response = site.call("POST", "/ecom/v1/orders", json=body)
    # Then Wix assigns id, number, dates and APPROVED, keeps the GUID line id, e-mails only the business
    order = response.json()["order"]
    assert response.status_code == 200
    assert uuid.UUID(order["id"]).version == 4 and order["number"].isdigit()
    assert order["createdDate"].endswith("Z") and order["updatedDate"] == order["createdDate"]
    assert order["status"] == "APPROVED" and order["fulfillmentStatus"] == "NOT_FULFILLED"
    assert order["lineItems"][0]["id"] == line_id
    assert [n["to"] for n in site.state()["notifications"]] == ["business"]
    # And, like Wix, the app's own order comes back as created + approved webhooks sent by the APP identity
    events = receiver.events(site_public_key(site))
    assert [e["eventType"] for e in events] == ["wix.ecom.v1.order_created", "wix.ecom.v1.order_approved"]
    assert events[0]["identity"] == {"identityType": "APP", "appId": APP_ID}


def site_public_key(site: Site) -> bytes:
    return site.http.get("/_sandbox/public-key").content


# --- Fulfillments ---------------------------------------------------------------------------------------------------


def _fulfill(site: Site, order: dict[str, Any], status: str) -> httpx.Response:
    lines = [{"id": li["id"], "quantity": li["quantity"]} for li in order["lineItems"]]
    return site.call("POST", f"/ecom/v1/fulfillments/orders/{order['id']}/create-fulfillment",
                     json={"fulfillment": {"lineItems": lines, "status": status}})  # fmt: skip


@pytest.mark.parametrize("status", ["pending", "PENDING", "In delivery", "Done"])
def test_fulfillment_status_is_case_sensitive(site: Site, status: str) -> None:
    # Given an order
    order = site.create_order()
    # When a fulfillment uses a status that is not exactly one of the five
    response = _fulfill(site, order, status)
    # Then it is rejected
    assert response.status_code == 400
    assert "fulfillment.status" in violation_fields(response)


def test_each_documented_fulfillment_status_is_accepted(site: Site) -> None:
    # Given a full-order "Pending" fulfillment (the restaurant way: always the full order)
    order = site.create_order()
    created = _fulfill(site, order, "Pending").json()
    fulfillment_id = created["fulfillmentId"]
    assert created["orderWithFulfillments"]["fulfillments"][0]["status"] == "Pending"
    # When it moves through every documented status
    for status in FULFILLMENT_STATUSES:
        response = site.call("PATCH", f"/ecom/v1/fulfillments/{fulfillment_id}/orders/{order['id']}",
                             json={"fulfillment": {"status": status}})  # fmt: skip
        # Then each exact value is accepted
        assert response.status_code == 200, response.text
        assert response.json()["orderWithFulfillments"]["fulfillments"][0]["status"] == status
    # And the order's fulfillmentStatus comes from quantities, not from the status strings
    assert site.call("GET", f"/ecom/v1/orders/{order['id']}").json()["order"]["fulfillmentStatus"] == "FULFILLED"


def test_fulfillment_line_items_must_exist_and_not_exceed_unfulfilled(site: Site) -> None:
    # Given an order for 2 and a fulfillment of 1
    order = site.create_order()
    line = order["lineItems"][0]
    url = f"/ecom/v1/fulfillments/orders/{order['id']}/create-fulfillment"
    assert site.call("POST", url, json={"fulfillment": {"lineItems": [{"id": line["id"], "quantity": 1}]}}).is_success
    # When fulfilling an unknown line, or 2 more when 1 is left
    unknown = site.call("POST", url, json={"fulfillment": {"lineItems": [{"id": str(uuid.uuid4())}]}})
    too_many = site.call("POST", url, json={"fulfillment": {"lineItems": [{"id": line["id"], "quantity": 2}]}})
    # Then both are 400, and omitting the quantity fulfills what is left
    assert unknown.status_code == 400 and too_many.status_code == 400
    rest = site.call("POST", url, json={"fulfillment": {"lineItems": [{"id": line["id"]}]}}).json()
    assert [f["lineItems"][0]["quantity"] for f in rest["orderWithFulfillments"]["fulfillments"]] == [1, 1]


def test_fulfillment_update_cannot_change_line_items_and_delete_unfulfills(site: Site) -> None:
    # Given a full fulfillment
    order = site.create_order()
    fulfillment_id = _fulfill(site, order, "Ready").json()["fulfillmentId"]
    url = f"/ecom/v1/fulfillments/{fulfillment_id}/orders/{order['id']}"
    # When an update tries to change its quantities
    changed = site.call("PATCH", url, json={"fulfillment": {"lineItems": [{"id": order["lineItems"][0]["id"],
                                                                            "quantity": 1}]}})  # fmt: skip
    # Then it is refused; deleting it is the documented way, and the order is unfulfilled again
    assert changed.status_code == 400
    assert site.call("DELETE", url).json()["orderWithFulfillments"]["fulfillments"] == []
    assert site.call("GET", f"/ecom/v1/orders/{order['id']}").json()["order"]["fulfillmentStatus"] == "NOT_FULFILLED"
    listed = site.call("POST", "/ecom/v1/fulfillments/list-by-ids", json={"orderIds": [order["id"]]}).json()
    assert listed["ordersWithFulfillments"] == [{"orderId": order["id"], "fulfillments": []}]


# --- Search Orders --------------------------------------------------------------------------------------------------


def _search(site: Site, search: dict[str, Any]) -> httpx.Response:
    return site.call("POST", "/ecom/v1/orders/search", json={"search": search})


def test_search_limit_above_100_is_400(site: Site) -> None:
    # Given searches asking for 101 and 100 orders
    # When they run
    too_many, most = (_search(site, {"cursorPaging": {"limit": limit}}) for limit in (101, 100))
    # Then Wix refuses the first and answers the second
    assert (too_many.status_code, most.status_code) == (400, 200)


def test_search_by_external_order_id(site: Site) -> None:
    # Given three orders with different POS ids
    for pos_id in ("POS-1", "POS-2", "POS-3"):
        site.create_order(channelInfo={"type": "POS", "externalOrderId": pos_id})
    # When searching with $eq and $in on channelInfo.externalOrderId
    eq = _search(site, {"filter": {"channelInfo.externalOrderId": {"$eq": "POS-2"}}}).json()["orders"]
    in_ = _search(site, {"filter": {"channelInfo.externalOrderId": {"$in": ["POS-1", "POS-3"]}}}).json()["orders"]
    # Then exactly the matching orders come back
    assert [o["channelInfo"]["externalOrderId"] for o in eq] == ["POS-2"]
    assert sorted(o["channelInfo"]["externalOrderId"] for o in in_) == ["POS-1", "POS-3"]


def test_search_restaurant_orders_by_app_id(site: Site) -> None:
    # Given a restaurant checkout and a Wix Stores checkout
    for kind in ("restaurant", "store"):
        site.http.post(
            f"/_sandbox/instances/{site.instance_id}/checkout",
            json={
                "lines": [{"kind": kind, "name": kind, "price": "5.00", "quantity": 1}],
                "buyer": {"email": "a@b.co"},
            },
        )
    # When filtering by the Restaurants app id with $hasSome, the documented example
    found = _search(site, {"filter": {"lineItems.catalogReference.appId": {"$hasSome": [RESTAURANTS_APP_ID]}}})
    # Then only the restaurant order is returned; $eq on that field is not supported
    assert [o["lineItems"][0]["catalogReference"]["appId"] for o in found.json()["orders"]] == [RESTAURANTS_APP_ID]
    unsupported = _search(site, {"filter": {"lineItems.catalogReference.appId": {"$eq": STORES_APP_ID}}})
    assert unsupported.status_code == 400


def test_search_cursor_paging(site: Site) -> None:
    # Given five orders
    numbers = [site.create_order()["number"] for _ in range(5)]
    # When paging two at a time by number
    first = _search(site, {"sort": [{"fieldName": "number", "order": "ASC"}], "cursorPaging": {"limit": 2}}).json()
    pages, metadata = [first["orders"]], first["metadata"]
    while metadata["hasNext"]:
        more = _search(site, {"cursorPaging": {"limit": 2, "cursor": metadata["cursors"]["next"]}}).json()
        pages.append(more["orders"])
        metadata = more["metadata"]
    # Then pages of 2, 2, 1 cover every order once, in order
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [o["number"] for p in pages for o in p] == numbers
    assert first["metadata"]["count"] == 2
    # And a cursor sent together with a filter is refused
    cursor = first["metadata"]["cursors"]["next"]
    assert _search(site, {"filter": {"status": "APPROVED"}, "cursorPaging": {"cursor": cursor}}).status_code == 400


def test_search_hides_pending_orders_unless_filtered_and_filters_dates(site: Site) -> None:
    # Given an approved order, then (an hour later) a pending checkout
    approved = site.create_order()
    site.http.post("/_sandbox/clock", json={"advanceSeconds": 3600})
    site.http.post(f"/_sandbox/instances/{site.instance_id}/checkout", json={
        "lines": [{"kind": "restaurant", "name": "Tea", "price": "2.00", "quantity": 1}], "buyer": {"email": "a@b.co"},
        "approve": False})  # fmt: skip
    # When searching without and with a status filter, and by date
    plain = _search(site, {}).json()["orders"]
    pending = _search(site, {"filter": {"status": {"$in": ["PENDING"]}}}).json()["orders"]
    newer = _search(site, {"filter": {"createdDate": {"$gt": approved["createdDate"]}}}).json()["orders"]
    any_newer = _search(site, {"filter": {"$and": [
        {"status": {"$in": ["APPROVED", "PENDING"]}}, {"createdDate": {"$gt": approved["createdDate"]}}]}})  # fmt: skip
    # Then PENDING shows only when a filter names the status, and dates compare as dates
    assert [o["id"] for o in plain] == [approved["id"]]
    assert [o["status"] for o in pending] == ["PENDING"]
    assert newer == []
    assert [o["status"] for o in any_newer.json()["orders"]] == ["PENDING"]


# --- Cancel, locations, operations ----------------------------------------------------------------------------------


def test_cancel_order_fires_order_canceled_once(site: Site, receiver: Receiver) -> None:
    # Given an order
    order = site.create_order()
    # When it is canceled twice
    first = site.call("POST", f"/ecom/v1/orders/{order['id']}/cancel", json={"sendOrderCanceledEmail": False})
    second = site.call("POST", f"/ecom/v1/orders/{order['id']}/cancel", json={})
    # Then it is CANCELED with one order_canceled webhook; the repeat is a failed precondition
    assert first.json()["order"]["status"] == "CANCELED"
    assert second.status_code == 428
    events = receiver.events(site_public_key(site))
    canceled = [e["event"] for e in events if e["eventType"] == "wix.ecom.v1.order_canceled"]
    assert len(canceled) == 1 and canceled[0]["actionEvent"]["body"]["order"]["status"] == "CANCELED"


def test_locations_and_operations(site: Site) -> None:
    # Given a new site
    # When listing its locations and operations (both documented operations prefixes)
    locations = site.call("GET", "/locations/v1/locations").json()
    operations = site.call("GET", "/restaurants-operations/v1/operations").json()["operations"]
    alias = site.call("GET", "/restaurants/operations/v1/operations").json()["operations"]
    # Then there is one default ACTIVE location and one default operation on it
    (location,) = locations["locations"]
    assert location["default"] and location["status"] == "ACTIVE" and locations["pagingMetadata"]["count"] == 1
    assert operations == alias and operations[0]["businessLocationId"] == location["id"]
    one = site.call("GET", f"/restaurants-operations/v1/operations/{operations[0]['id']}").json()
    assert one["operation"]["default"] is True


# --- Menus ----------------------------------------------------------------------------------------------------------


def test_menu_update_needs_the_current_revision(site: Site) -> None:
    # Given a menu at revision "1"
    menu = site.create(MENU, "menu", {"name": "Lunch"})
    assert menu["revision"] == "1" and menu["visible"] is True
    # When it is updated with revision "1", then again with the stale "1"
    ok = site.call("PATCH", f"{MENU}/menus/{menu['id']}", json={"menu": {"revision": "1", "name": "Brunch"}})
    stale = site.call("PATCH", f"{MENU}/menus/{menu['id']}", json={"menu": {"revision": "1", "name": "Dinner"}})
    missing = site.call("PATCH", f"{MENU}/menus/{menu['id']}", json={"menu": {"name": "Dinner"}})
    # Then the first bumps the revision to "2", the stale one is a 409, and no revision is a 400
    assert ok.json()["menu"]["revision"] == "2" and ok.json()["menu"]["name"] == "Brunch"
    assert stale.status_code == 409 and missing.status_code == 400
    assert site.call("GET", f"{MENU}/menus/{menu['id']}").json()["menu"]["name"] == "Brunch"


def test_bulk_update_with_a_stale_revision_fails_only_that_entity(site: Site) -> None:
    # Given two items, one of them already updated elsewhere
    soup = site.create(ITEM, "item", {"name": "Soup"})
    salad = site.create(ITEM, "item", {"name": "Salad"})
    site.call("PATCH", f"{ITEM}/items/{salad['id']}", json={"item": {"revision": "1", "visible": False}})
    # When both are bulk-updated with revision "1"
    response = site.call("POST", f"{ITEM}/bulk/items/update", json={"items": [
        {"item": {"id": soup["id"], "revision": "1", "name": "Hot soup"}, "mask": "name"},
        {"item": {"id": salad["id"], "revision": "1", "name": "Green salad"}, "mask": "name"},
    ], "returnEntity": True})  # fmt: skip
    # Then the call succeeds partially: a per-item conflict, not a 409 for the whole call
    body = response.json()
    assert response.status_code == 200
    assert body["bulkActionMetadata"] == {"totalSuccesses": 1, "totalFailures": 1, "undetailedFailures": 0}
    ok, failed = body["results"]
    assert ok["itemMetadata"]["success"] and ok["item"]["name"] == "Hot soup" and ok["item"]["revision"] == "2"
    assert failed["itemMetadata"] == {**failed["itemMetadata"], "id": salad["id"], "originalIndex": 1, "success": False}
    assert failed["itemMetadata"]["error"]["code"] == "REVISION_MISMATCH"


def test_bulk_create_is_capped_at_100(site: Site) -> None:
    # Given 101 variants
    variants = [{"name": f"Size {i}"} for i in range(101)]
    # When all of them, then the first 100, are bulk-created
    too_many = site.call("POST", f"{VARIANT}/bulk/variants/create", json={"variants": variants})
    body = site.call("POST", f"{VARIANT}/bulk/variants/create", json={"variants": variants[:100]}).json()
    # Then the 101 are refused; the 100 pass, as ids only since returnEntity was not asked for
    assert too_many.status_code == 400
    assert body["bulkActionMetadata"]["totalSuccesses"] == 100
    assert "variant" not in body["results"][0] and body["results"][99]["itemMetadata"]["originalIndex"] == 99


def test_section_item_ids_are_capped_at_300_and_must_exist(site: Site) -> None:
    # Given one existing item
    item = site.create(ITEM, "item", {"name": "Soup"})
    # When a section lists 301 items, or an unknown item
    url = f"{SECTION}/sections"
    too_many = site.call("POST", url, json={"section": {"name": "Mains", "itemIds": [item["id"]] * 301}})
    unknown = site.call("POST", url, json={"section": {"name": "Mains", "itemIds": ["nope"]}})
    # Then both are 400
    assert too_many.status_code == 400 and "section.itemIds" in violation_fields(too_many)
    assert unknown.status_code == 400 and "section.itemIds[0]" in violation_fields(unknown)


def test_menu_section_ids_must_exist(site: Site) -> None:
    # Given no sections
    # When a menu lists a section that does not exist
    response = site.call("POST", f"{MENU}/menus", json={"menu": {"name": "Lunch", "sectionIds": ["ghost"]}})
    # Then it is a 400
    assert response.status_code == 400 and "menu.sectionIds[0]" in violation_fields(response)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"name": "x" * 201}, "item.name"),
        ({"name": "Soup", "priceInfo": {"price": "1.2345"}}, "item.priceInfo.price"),
        ({"name": "Soup", "priceInfo": {"price": "-1"}}, "item.priceInfo.price"),
        ({"name": "Soup", "priceInfo": {"price": 12.5}}, "item.priceInfo.price"),
        ({"name": "Soup", "modifierGroups": ["group-id"]}, "item.modifierGroups[0]"),
        ({"name": "Soup", "modifierGroups": [{"id": "ghost"}]}, "item.modifierGroups[0].id"),
        ({"name": "Soup", "priceVariants": {"variants": [{"variantId": "ghost", "priceInfo": {"price": "1"}}]}},
         "item.priceVariants.variants[0].variantId"),
    ],
)  # fmt: skip
def test_item_rules(site: Site, item: dict[str, Any], field: str) -> None:
    # Given an item breaking one documented rule
    # When it is created
    response = site.call("POST", f"{ITEM}/items", json={"item": item})
    # Then it is a 400 naming the field
    assert response.status_code == 400 and field in violation_fields(response)


def test_modifier_group_rules_and_bulk_update_spelling(site: Site) -> None:
    # Given a modifier
    cheese = site.create(MODIFIER, "modifier", {"name": "Cheese"})
    # When groups are created with an unknown modifier or too many selections, then a valid one
    ghost = site.call(
        "POST", f"{GROUP}/modifier-groups", json={"modifierGroup": {"name": "Extras", "modifiers": [{"id": "ghost"}]}}
    )
    rule = site.call(
        "POST", f"{GROUP}/modifier-groups", json={"modifierGroup": {"name": "Extras", "rule": {"maxSelections": 26}}}
    )
    group = site.create(GROUP, "modifierGroup", {
        "name": "Extras", "modifiers": [{"id": cheese["id"], "additionalChargeInfo": {"additionalCharge": "2.00"}}],
        "rule": {"required": False, "minSelections": 0, "maxSelections": 2}}, "modifier-groups")  # fmt: skip
    # Then the invalid ones are 400, and bulk update lives under the "modifiers-groups" spelling
    assert ghost.status_code == 400 and rule.status_code == 400
    update = {"modifierGroups": [{"modifierGroup": {"id": group["id"], "revision": "1", "name": "Toppings"}}]}
    assert site.call("POST", f"{GROUP}/bulk/modifier-groups/update", json=update).status_code == 404
    result = site.call("POST", f"{GROUP}/bulk/modifiers-groups/update", json=update).json()
    assert result["bulkActionMetadata"]["totalSuccesses"] == 1


def test_query_filters_ids_and_visibility_with_a_500_cap(site: Site) -> None:
    # Given two visible sections and one hidden
    ids = [site.create(SECTION, "section", {"name": f"S{i}", "visible": i != 2})["id"] for i in range(3)]
    url = f"{SECTION}/sections/query"
    # When querying by id and by visibility
    by_id = site.call("POST", url, json={"query": {"filter": {"id": {"$in": ids[1:]}}}}).json()
    hidden = site.call("POST", url, json={"query": {"filter": {"visible": False}}}).json()
    # Then the filters apply, and a limit over 500 is refused (in the list endpoint too)
    assert [s["id"] for s in by_id["sections"]] == ids[1:] and by_id["pagingMetadata"]["count"] == 2
    assert [s["id"] for s in hidden["sections"]] == [ids[2]]
    assert site.call("POST", url, json={"query": {"cursorPaging": {"limit": 501}}}).status_code == 400
    assert site.call("GET", f"{SECTION}/sections", params={"paging.limit": 501}).status_code == 400
    listed = site.call("GET", f"{SECTION}/sections", params={"sectionIds": ids[:2]}).json()["sections"]
    assert [s["id"] for s in listed] == ids[:2]


def test_bulk_delete_reports_each_id(site: Site) -> None:
    # Given one item
    item = site.create(ITEM, "item", {"name": "Soup"})
    # When bulk-deleting it and an unknown id, as the SDK sends them (`?ids=a&ids=b`)
    ids = [item["id"], str(uuid.uuid4())]
    response = site.call("DELETE", f"{ITEM}/bulk/items/delete", params={"ids": ids}).json()
    # Then each id has its own result
    assert [r["itemMetadata"]["success"] for r in response["results"]] == [True, False]
    assert site.call("GET", f"{ITEM}/items/{item['id']}").status_code == 404


def test_bulk_delete_reads_ids_only_from_the_query(site: Site) -> None:
    # Given one item
    item = site.create(ITEM, "item", {"name": "Soup"})
    # When its id travels only in a JSON body (the SDK never sends one on this DELETE)
    response = site.call("DELETE", f"{ITEM}/bulk/items/delete", json={"ids": [item["id"]]})
    # Then there are no ids: 400, and the item is still there
    assert response.status_code == 400 and "ids" in violation_fields(response)
    assert site.call("GET", f"{ITEM}/items/{item['id']}").status_code == 200


def test_a_field_mask_is_one_comma_separated_string(site: Site) -> None:
    # Given a menu
    menu = site.create(MENU, "menu", {"name": "Lunch"})
    url = f"{MENU}/bulk/menus/update"
    entry = {"menu": {"id": menu["id"], "revision": "1", "name": "Brunch", "visible": False}}
    # When its mask is a JSON array, then the FieldMask string
    array = site.call("POST", url, json={"menus": [{**entry, "mask": ["name", "visible"]}]})
    string = site.call("POST", url, json={"menus": [{**entry, "mask": "name,visible"}], "returnEntity": True})
    # Then the array is refused whole, and the string writes exactly the named fields under `menuMetadata`
    assert array.status_code == 400 and "menus[0].mask" in violation_fields(array)
    (result,) = string.json()["results"]
    assert result["menuMetadata"]["success"] and (result["menu"]["name"], result["menu"]["visible"]) == (
        "Brunch",
        False,
    )


def test_a_variant_update_has_no_mask(site: Site) -> None:
    # Given a variant (MaskedVariant is `{variant}` only)
    variant = site.create(VARIANT, "variant", {"name": "Small"})
    url = f"{VARIANT}/bulk/variants/update"
    entry = {"variant": {"id": variant["id"], "revision": "1", "name": "Large"}}
    # When it is updated with a mask, then whole
    masked = site.call("POST", url, json={"variants": [{**entry, "mask": "name"}]})
    whole = site.call("POST", url, json={"variants": [entry], "returnEntity": True})
    # Then the mask is a field the type lacks (400), and the whole variant is written
    assert masked.status_code == 400 and "variants[0].mask" in violation_fields(masked)
    assert whole.json()["results"][0]["variant"]["name"] == "Large"


def test_bulk_results_use_each_entitys_keys(site: Site) -> None:
    # Given a section to create and then to update
    url = f"{SECTION}/bulk/sections"
    # When sections are bulk-created and bulk-updated with their entities returned
    created = site.call("POST", f"{url}/create", json={"sections": [{"name": "Mains"}], "returnEntity": True}).json()
    section = created["results"][0]["item"]
    entry = {"section": {"id": section["id"], "revision": "1", "name": "Starters"}, "mask": "name"}
    updated = site.call("POST", f"{url}/update", json={"sections": [entry], "returnEntity": True}).json()
    # Then a created section comes under `item` with `itemMetadata`, an updated one under `section`/`sectionMetadata`
    assert created["results"][0]["itemMetadata"]["id"] == section["id"]
    assert (
        updated["results"][0]["sectionMetadata"]["success"] and updated["results"][0]["section"]["name"] == "Starters"
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"{ITEM}/bulk/items/create", {"items": [{"name": "Soup", "price": "4.50"}]}, "items[0].price"),
        (f"{ITEM}/bulk/items/create", {"items": [{"name": "Soup", "priceInfo": {"price": "1", "currency": "USD"}}]},
         "items[0].priceInfo.currency"),
        (f"{ITEM}/bulk/items/create", {"items": [{"name": "Soup"}], "returnEntities": True}, "returnEntities"),
        (f"{MODIFIER}/bulk/modifiers/create", {"modifiers": [{"name": "Cheese", "price": "1"}]}, "modifiers[0].price"),
        (f"{GROUP}/bulk/modifier-groups/create",
         {"modifierGroups": [{"name": "Extras", "rule": {"required": True, "max": 2}}]}, "modifierGroups[0].rule.max"),
        (f"{SECTION}/sections/query", {"query": {"paging": {"limit": 5}}}, "query.paging"),
        (f"{SECTION}/sections/query", {"query": {"cursorPaging": {"limit": 5, "offset": 0}}},
         "query.cursorPaging.offset"),
        (f"{MENU}/bulk/menus/create", {"menus": [{"name": "Lunch", "sectionIds": ["not-a-guid"]}]},
         "menus[0].sectionIds[0]"),
    ],
)  # fmt: skip
def test_unknown_fields_and_bad_guids_are_400_with_field_violations(
    site: Site, path: str, body: dict[str, Any], field: str
) -> None:
    # Given a request with a field its REST type lacks, or an id that is no GUID
    # When it is sent
    response = site.call("POST", path, json=body)
    # Then it is refused as a whole, naming the field in Wix's validation error shape
    assert response.status_code == 400 and field in violation_fields(response)


def test_single_delete_takes_the_sdks_repeated_id_and_a_guid(site: Site) -> None:
    # Given a menu
    menu = site.create(MENU, "menu", {"name": "Lunch"})
    # When deleted by a non-GUID path, with a query id that disagrees, then as deleteMenu sends it
    assert site.call("DELETE", f"{MENU}/menus/not-a-guid").status_code == 400
    other = site.call("DELETE", f"{MENU}/menus/{menu['id']}", params={"menuId": str(uuid.uuid4())})
    ok = site.call("DELETE", f"{MENU}/menus/{menu['id']}", params={"menuId": menu["id"]})
    # Then only the last deletes it
    assert other.status_code == 400 and ok.status_code == 200
    assert site.call("GET", f"{MENU}/menus/{menu['id']}").status_code == 404


def test_list_locations_reads_the_sdks_packed_query(site: Site) -> None:
    # Given a site with one location
    packed = base64.urlsafe_b64encode(json.dumps({"paging": {"limit": 1, "offset": 1}}).encode()).decode().rstrip("=")
    # When the query comes packed in `.r` (as @wix/sdk sends it), or with a parameter the request type lacks
    page = site.call("GET", "/locations/v1/locations", params={".r": packed}).json()
    unknown = site.call("GET", "/locations/v1/locations", params={"paging.size": 5})
    # Then `.r` is read (offset 1: nothing left) and the unknown parameter is a 400
    assert page == {"locations": [], "pagingMetadata": {"count": 0, "offset": 1, "hasNext": False}}
    assert unknown.status_code == 400


# --- Visibility journal ---------------------------------------------------------------------------------------------


def test_visibility_journal_flags_a_visible_menu_with_a_hidden_section(site: Site) -> None:
    # Given a hidden section
    section = site.create(SECTION, "section", {"name": "Mains", "visible": False})
    # When a visible menu links it
    menu = site.create(MENU, "menu", {"name": "Dinner", "sectionIds": [section["id"]]})
    # Then the journal records what customers would have seen
    (entry,) = site.state()["visibilityViolations"]
    assert entry["write"] == f"POST {MENU}/menus"
    assert entry["violations"] == [{"menuId": menu["id"], "sectionId": section["id"], "problem": "hidden section"}]


def test_visibility_journal_stays_clean_for_a_hidden_first_build(site: Site) -> None:
    # Given the publish order: hidden item and section, linked into a hidden menu
    item = site.create(ITEM, "item", {"name": "Soup", "visible": False, "priceInfo": {"price": "4.50"}})
    section = site.create(SECTION, "section", {"name": "Starters", "visible": False, "itemIds": [item["id"]]})
    menu = site.create(MENU, "menu", {"name": "Lunch", "visible": False, "sectionIds": [section["id"]]})
    # When visibility flips bottom-up
    for base, kind, entity in ((ITEM, "item", item), (SECTION, "section", section), (MENU, "menu", menu)):
        site.call("PATCH", f"{base}/{kind}s/{entity['id']}", json={kind: {"revision": "1", "visible": True}})
    # Then no snapshot ever showed a broken menu
    state = site.state()
    assert state["visibilityChecks"] == 6 and state["visibilityViolations"] == []


# --- Faults ---------------------------------------------------------------------------------------------------------


def test_fault_injection_throttles_twice_then_succeeds(site: Site) -> None:
    # Given two 429s queued on search
    site.http.post("/_sandbox/faults", json={"path": "/ecom/v1/orders/search", "method": "POST", "status": 429,
                                             "times": 2})  # fmt: skip
    # When searching three times
    statuses = [_search(site, {}).status_code for _ in range(3)]
    # Then the first two are throttled in the Wix error shape, the third works
    assert statuses == [429, 429, 200]
    assert site.http.get("/_sandbox/faults").json() == {"faults": [], "injected": 2}


def test_fault_injection_delay(site: Site) -> None:
    # Given a 300 ms delay without an error
    site.http.post("/_sandbox/faults", json={"path": "/locations/", "status": None, "delayMs": 300})
    # When the route is called
    started = time.monotonic()
    response = site.call("GET", "/locations/v1/locations")
    # Then it answers normally, late
    assert response.status_code == 200 and time.monotonic() - started >= 0.3


# --- Rate limit (wix-api.md section 4: 200 requests/minute per instance) -------------------------------------------

LOCATIONS = "/locations/v1/locations"


def _advance(site: Site, seconds: float) -> None:
    assert site.http.post("/_sandbox/clock", json={"advanceSeconds": seconds}).status_code == 200


def _to_second_of_next_minute(site: Site, second: float) -> None:
    """Move the sandbox clock to `second` past the next minute boundary (a short burst then stays in one window)."""
    now = datetime.fromisoformat(site.state()["now"].replace("Z", "+00:00")).timestamp()
    _advance(site, 60 - now % 60 + second)


def _limit(site: Site, per_minute: int | None, window: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"perMinute": per_minute} | ({"window": window} if window else {})
    response = site.http.post("/_sandbox/rate-limit", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_rate_limit_is_off_by_default(site: Site) -> None:
    # Given a sandbox nobody configured
    # When an instance makes 30 requests at once
    statuses = {site.call("GET", LOCATIONS).status_code for _ in range(30)}
    # Then none is throttled
    assert statuses == {200} and site.state()["rateLimited"] == 0


def test_fixed_window_rate_limit_throttles_until_the_next_minute(site: Site) -> None:
    # Given a limit of 3 requests a minute, 1 s into a minute of the sandbox clock, and a second instance
    other = install(site.http, "site-b")
    _to_second_of_next_minute(site, 1)
    assert _limit(site, 3) == {"perMinute": 3, "window": "fixed"}
    # When the first instance makes 5 requests, one more at second 59, then one in the next minute
    burst = [site.call("GET", LOCATIONS) for _ in range(5)]
    _advance(site, 58)
    late = site.call("GET", LOCATIONS)
    _advance(site, 2)
    next_minute = site.call("GET", LOCATIONS)
    # Then the 4th and later of that minute are 429 in Wix's error shape (no Retry-After: Wix documents none),
    # the next minute has a fresh budget, the other instance's budget is its own, and the state counts the 429s
    assert [r.status_code for r in burst] == [200, 200, 200, 429, 429]
    assert burst[3].json()["details"]["applicationError"]["code"] == "RESOURCE_EXHAUSTED"
    assert "Retry-After" not in burst[3].headers
    assert late.status_code == 429 and next_minute.status_code == 200
    assert other.call("GET", LOCATIONS).status_code == 200
    state = site.state()
    assert state["rateLimited"] == 3 and state["calls"]["GET /locations/v1/locations"] == 4
    assert other.state()["rateLimited"] == 0


def test_rolling_window_rate_limit_counts_any_60_seconds(site: Site) -> None:
    # Given a rolling limit of 2 a minute and two requests 50 s into a minute
    _to_second_of_next_minute(site, 50)
    _limit(site, 2, "rolling")
    assert [site.call("GET", LOCATIONS).status_code for _ in range(2)] == [200, 200]
    # When the minute turns (20 s later), then when 60 s have passed since those requests
    _advance(site, 20)
    after_the_turn = site.call("GET", LOCATIONS).status_code
    _advance(site, 41)
    after_60_s = site.call("GET", LOCATIONS).status_code
    # Then the turn of the minute frees nothing (a fixed window would), 60 s later the budget is back
    assert (after_the_turn, after_60_s) == (429, 200)


def test_null_turns_the_rate_limit_off(site: Site) -> None:
    # Given a limit of 1 that has already throttled a request
    _to_second_of_next_minute(site, 1)
    _limit(site, 1)
    assert [site.call("GET", LOCATIONS).status_code for _ in range(2)] == [200, 429]
    # When the limit is set to null
    assert _limit(site, None) == {"perMinute": None, "window": "fixed"}
    # Then requests go through again, and the earlier 429 is still counted
    assert {site.call("GET", LOCATIONS).status_code for _ in range(5)} == {200}
    assert site.state()["rateLimited"] == 1


# --- Webhooks -------------------------------------------------------------------------------------------------------


def test_checkout_sends_signed_created_and_approved_webhooks(site: Site, receiver: Receiver) -> None:
    # Given a restaurant line with a modifier, plus a menu listing the item
    item = site.create(ITEM, "item", {"name": "Pizza", "priceInfo": {"price": "12.50"}})
    section = site.create(SECTION, "section", {"name": "Pizzas", "itemIds": [item["id"]]})
    menu = site.create(MENU, "menu", {"name": "Dinner", "sectionIds": [section["id"]]})
    # When a customer checks out
    response = site.http.post(f"/_sandbox/instances/{site.instance_id}/checkout", json={
        "lines": [{"kind": "restaurant", "name": "Pizza", "price": "12.50", "quantity": 2, "catalogItemId": item["id"],
                   "modifiers": [{"name": "Extra cheese", "price": "1.50"}]}],
        "buyer": {"firstName": "Ada", "lastName": "L", "email": "ada@example.com", "phone": "+15550100"},
        "fulfillment": {"type": "PICKUP", "time": "2030-01-01T12:00:00.000Z"}, "approve": True})  # fmt: skip
    # Then created then approved arrive as text/plain RS256 JWTs with double-stringified JSON inside
    body = response.json()
    assert [d["status"] for d in body["deliveries"]] == [200, 200]
    assert all(content_type == "text/plain" for content_type, _ in receiver.received)
    created, approved = receiver.events(site_public_key(site))
    assert (created["eventType"], approved["eventType"]) == ("wix.ecom.v1.order_created", "wix.ecom.v1.order_approved")
    assert created["instanceId"] == site.instance_id and created["accountInfo"]["siteId"]
    assert created["identity"]["identityType"] == "ANONYMOUS_VISITOR"
    event = created["event"]
    assert (event["entityFqdn"], event["slug"]) == ("wix.ecom.v1.order", "created")
    assert event["entityId"] == body["order"]["id"]
    assert approved["event"]["actionEvent"]["body"]["order"]["status"] == "APPROVED"
    assert (event["entityEventSequence"], approved["event"]["entityEventSequence"]) == ("1", "2")
    # And the line is a restaurant line pointing at the operation, menu and section, with its modifier
    line = event["createdEvent"]["entity"]["lineItems"][0]
    assert line["catalogReference"]["appId"] == RESTAURANTS_APP_ID
    options = line["catalogReference"]["options"]
    assert (options["menuId"], options["sectionId"]) == (menu["id"], section["id"])
    assert options["operationId"] == site.state()["operationId"]
    assert line["modifierGroups"][0]["modifiers"][0]["label"]["original"] == "Extra cheese"
    assert line["price"]["amount"] == "14.00"


def test_checkout_puts_the_chosen_size_and_menu_modifiers_on_the_order_line(site: Site) -> None:
    # Given a pizza in two sizes with a modifier group offering cheese
    small, large = (site.create(VARIANT, "variant", {"name": n}) for n in ("Small", "Large"))
    cheese = site.create(MODIFIER, "modifier", {"name": "Cheese"})
    group = site.create(GROUP, "modifierGroup", {
        "name": "Extras", "modifiers": [{"id": cheese["id"], "additionalChargeInfo": {"additionalCharge": "1.50"}}]},
        "modifier-groups")  # fmt: skip
    variants = [{"variantId": v["id"], "priceInfo": {"price": p}} for v, p in ((small, "9.00"), (large, "12.00"))]
    item = site.create(ITEM, "item", {
        "name": "Pizza", "priceVariants": {"variants": variants}, "modifierGroups": [{"id": group["id"]}]})  # fmt: skip
    pizza = {"kind": "restaurant", "name": "Pizza", "price": "12.00", "quantity": 1, "catalogItemId": item["id"]}
    checkout = f"/_sandbox/instances/{site.instance_id}/checkout"
    buyer = {"email": "ada@example.com"}
    # When a customer orders it Large with cheese, and others name a size or a modifier the pizza does not have
    line = {**pizza, "variantId": large["id"], "modifiers": [{"name": "Cheese", "price": "1.50", "id": cheese["id"]}]}
    placed = site.http.post(checkout, json={"lines": [line], "buyer": buyer}).json()["order"]
    wrong_size = site.http.post(checkout, json={"lines": [{**pizza, "variantId": "no-such"}], "buyer": buyer})
    stranger = {"name": "X", "price": "1", "id": small["id"]}
    wrong_modifier = site.http.post(checkout, json={"lines": [{**pizza, "modifiers": [stranger]}], "buyer": buyer})
    # Then the order line names the size in its options and the modifier under its menu group, by their Wix ids
    [ordered] = placed["lineItems"]
    assert ordered["catalogReference"]["options"]["priceVariant"]["id"] == large["id"]
    [extras] = ordered["modifierGroups"]
    assert (extras["id"], extras["name"]["original"]) == (group["id"], "Extras")
    assert [(m["id"], m["label"]["original"]) for m in extras["modifiers"]] == [(cheese["id"], "Cheese")]
    assert ordered["price"]["amount"] == "13.50"
    # And a size or modifier that is not the item's is refused
    assert wrong_size.status_code == 400 and "lines[0].variantId" in violation_fields(wrong_size)
    assert wrong_modifier.status_code == 400 and "lines[0].modifiers[0].id" in violation_fields(wrong_modifier)


def test_pending_checkout_is_approved_by_the_restaurant(site: Site, receiver: Receiver) -> None:
    # Given a checkout that is not approved yet
    order = site.http.post(f"/_sandbox/instances/{site.instance_id}/checkout", json={
        "lines": [{"kind": "restaurant", "name": "Tea", "price": "2.00", "quantity": 1}],
        "buyer": {"email": "a@b.co"}, "approve": False}).json()["order"]  # fmt: skip
    # When the restaurant approves it
    approved = site.http.post(f"/_sandbox/instances/{site.instance_id}/orders/{order['id']}/approve").json()
    # Then the order is APPROVED and the second webhook is order_approved
    assert order["status"] == "PENDING" and approved["order"]["status"] == "APPROVED"
    assert [e["eventType"] for e in receiver.events(site_public_key(site))] == [
        "wix.ecom.v1.order_created",
        "wix.ecom.v1.order_approved",
    ]


def test_duplicate_delivery_plan_repeats_the_same_event(site: Site, receiver: Receiver) -> None:
    # Given a plan delivering every webhook three times
    site.http.post("/_sandbox/webhooks/delivery", json={"duplicate": 3})
    # When one event is sent
    sent = site.http.post("/_sandbox/webhooks/send", json={
        "instanceId": site.instance_id, "eventType": "wix.ecom.v1.order_updated", "entityId": "order-1",
        "event": {"updatedEvent": {"currentEntity": {"id": "order-1"}}}}).json()  # fmt: skip
    # Then three identical copies arrive, all with the same event id
    events = receiver.events(site_public_key(site))
    assert len(events) == 3 and {e["event"]["id"] for e in events} == {sent["eventId"]}
    assert events[0]["event"]["entityFqdn"] == "wix.ecom.v1.order" and events[0]["event"]["slug"] == "updated"


def test_held_webhooks_released_in_reverse_order(site: Site, receiver: Receiver) -> None:
    # Given held deliveries
    site.http.post("/_sandbox/webhooks/delivery", json={"hold": True})
    # When a checkout fires created + approved, and the held ones are released in reverse
    site.http.post(
        f"/_sandbox/instances/{site.instance_id}/checkout",
        json={
            "lines": [{"kind": "restaurant", "name": "Tea", "price": "2.00", "quantity": 1}],
            "buyer": {"email": "a@b.co"},
        },
    )
    assert receiver.received == []
    released = site.http.post("/_sandbox/webhooks/release", json={"reverse": True}).json()["deliveries"]
    # Then approved arrives before created, and the sequence numbers reveal it
    events = receiver.events(site_public_key(site))
    assert [e["event"]["slug"] for e in events] == ["approved", "created"]
    assert [e["event"]["entityEventSequence"] for e in events] == ["2", "1"]
    assert len(released) == 2
    assert len(site.http.get("/_sandbox/webhooks/deliveries").json()["deliveries"]) == 2


def test_sign_webhook_builds_a_verifiable_body(private_key: bytes, sandbox: WixSandbox) -> None:
    # Given a domain event built by a test
    event = {"id": "evt-1", "entityFqdn": "wix.ecom.v1.order", "slug": "approved", "entityId": "o-1",
             "actionEvent": {"body": {"order": {"id": "o-1"}}}}  # fmt: skip
    # When it is signed with the module-level helper
    token = sign_webhook(private_key, "wix.ecom.v1.order_approved", "site-a", event, iat=1_700_000_000,
                         exp=1_700_000_060, app_id=APP_ID)  # fmt: skip
    # Then it verifies with the public key and decodes to the nested layers
    claims = jwt.decode(token, sandbox.public_key_pem, algorithms=["RS256"], audience=APP_ID,
                        options={"verify_exp": False, "verify_iat": False})  # fmt: skip
    envelope = json.loads(claims["data"])
    assert (claims["iat"], claims["exp"], claims["iss"]) == (1_700_000_000, 1_700_000_060, "wix.com")
    assert envelope["eventType"] == "wix.ecom.v1.order_approved" and json.loads(envelope["data"]) == event


def test_checkout_addresses_take_wix_address_fields_only(site: Site) -> None:
    # Given a delivery checkout whose addresses use fields Wix's eCommerce Address does not have (a numbered first
    # line, a read-only full name) or break its formats (ISO 3166-2 subdivision, alpha-2 country)
    tea = {"kind": "restaurant", "name": "Tea", "price": "2", "quantity": 1}
    address = {"addressLine1": "1 Main St", "countryFullname": "United States", "subdivision": "NY", "country": "usa"}
    buyer = {"email": "a@b.co", "address": {"streetAddress": {"number": "1", "apt": "3"}}}
    # When it is placed
    response = site.http.post(f"/_sandbox/instances/{site.instance_id}/checkout", json={
        "lines": [tea], "buyer": buyer, "fulfillment": {"type": "DELIVERY", "address": address}})  # fmt: skip
    # Then every violation is reported, as Wix's gateway does
    assert response.status_code == 400
    assert sorted(violation_fields(response)) == [
        "buyer.address.streetAddress.apt",
        "fulfillment.address.addressLine1",
        "fulfillment.address.country",
        "fulfillment.address.countryFullname",
        "fulfillment.address.subdivision",
    ]


def test_a_pickup_order_carries_the_location_as_a_pickup_address(site: Site) -> None:
    # Given a pickup checkout at the site's default location
    tea = {"kind": "restaurant", "name": "Tea", "price": "2", "quantity": 1}
    response = site.http.post(f"/_sandbox/instances/{site.instance_id}/checkout", json={
        "lines": [tea], "buyer": {"email": "a@b.co"}, "fulfillment": {"type": "PICKUP"}})  # fmt: skip
    # When the order is read / Then its pickup address has the order's PickupAddress fields only
    address = response.json()["order"]["shippingInfo"]["logistics"]["pickupDetails"]["address"]
    assert address == {
        "country": "US",
        "subdivision": "US-NY",
        "city": "New York",
        "postalCode": "10001",
        "streetAddress": {"number": "1", "name": "Main Street"},
        "addressLine": "1 Main Street",
    }


# --- Control API ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_sandbox/instances", {}),
        ("POST", "/_sandbox/instances/site-a/checkout", {"lines": [], "buyer": {"email": "a@b.co"}}),
        ("POST", "/_sandbox/instances/site-a/checkout", {"lines": [{"kind": "restaurant", "name": "Tea",
                                                                     "price": "2", "quantity": 1}],
                                                         "buyer": {"email": "a@b.co"},
                                                         "fulfillment": {"type": "DELIVERY"}}),
        ("POST", "/_sandbox/faults", {"path": "no-slash"}),
        ("POST", "/_sandbox/faults", {"path": "/x", "times": "many"}),
        ("POST", "/_sandbox/webhooks/delivery", {"duplicate": 0}),
        ("POST", "/_sandbox/clock", {"advanceSeconds": "soon"}),
        ("POST", "/_sandbox/webhooks/send", {"instanceId": "site-a"}),
        ("POST", "/_sandbox/rate-limit", {"perMinute": 0}),
        ("POST", "/_sandbox/rate-limit", {"perMinute": "many"}),
        ("POST", "/_sandbox/rate-limit", {"perMinute": 5, "window": "sliding"}),
    ],
)  # fmt: skip
def test_bad_control_input_is_400(site: Site, method: str, path: str, body: dict[str, Any]) -> None:
    # Given malformed control input
    # When it is posted
    response = site.http.request(method, path, json=body)
    # Then it is a 400 with a message, never a 500
    assert response.status_code == 400 and response.json()["message"]


def test_state_counts_calls_per_route_template(site: Site) -> None:
    # Given a few API calls
    order = site.create_order()
    site.call("GET", f"/ecom/v1/orders/{order['id']}")
    site.call("GET", f"/ecom/v1/orders/{order['id']}")
    # When the state is read
    calls = site.state()["calls"]
    # Then calls are counted by method and path template
    assert calls == {"POST /oauth2/token": 1, "POST /ecom/v1/orders": 1, "GET /ecom/v1/orders/{id}": 2}
    assert site.http.get("/_sandbox/instances/nobody/state").status_code == 404
