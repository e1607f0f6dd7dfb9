"""The Square sandbox over real HTTP: one test per strict rule it enforces, plus its webhooks and control API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from devstack.httpserver import BackgroundServer
from devstack.square_sandbox import SquareSandbox, sign

SQUARE_VERSION = "2025-01-23"


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every notification it gets."""

    url: str
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.received.append((request.full_path, dict(request.headers), request.get_data()))
        return Response("", status=200)(environ, start_response)

    def events(self, path: str) -> list[tuple[dict[str, str], bytes, dict[str, Any]]]:
        with self.lock:
            return [(h, body, json.loads(body)) for p, h, body in self.received if p.startswith(path)]


@dataclass
class Merchant:
    merchant_id: str
    location_id: str
    token: str
    signature_key: str
    notification_url: str
    hook_path: str
    api: httpx.Client
    control: httpx.Client

    def state(self) -> dict[str, Any]:
        return dict(self.control.get(f"/_sandbox/merchants/{self.merchant_id}/state").json())

    def sandbox(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.control.post(f"/_sandbox/merchants/{self.merchant_id}{path}", json=body or {})


@pytest.fixture(scope="module")
def square() -> Iterator[str]:
    with BackgroundServer(SquareSandbox().wsgi_app) as server:
        yield server.url


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    app = Receiver(url="")
    with BackgroundServer(app) as server:
        app.url = server.url
        yield app


@pytest.fixture
def control(square: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=square, timeout=5) as client:
        yield client
        # Faults and the delivery plan are sandbox-wide: leave them as found.
        client.delete("/_sandbox/faults")
        client.post("/_sandbox/webhooks/delivery", json={})


def _new_merchant(square: str, control: httpx.Client, receiver: Receiver) -> Merchant:
    suffix = uuid.uuid4().hex[:8].upper()
    merchant_id, location_id, token = f"M{suffix}", f"L{suffix}", f"EAAA-{suffix}"
    hook_path = f"/hooks/{merchant_id}"
    url = f"{receiver.url}{hook_path}?tenant={suffix}"  # a query string is part of the signed URL
    answer = control.post(
        "/_sandbox/merchants",
        json={
            "merchantId": merchant_id,
            "locationId": location_id,
            "accessToken": token,
            "signatureKey": f"key-{suffix}",
            "notificationUrl": url,
        },
    )
    assert answer.status_code == 200, answer.text
    api = httpx.Client(
        base_url=square, timeout=5, headers={"Authorization": f"Bearer {token}", "Square-Version": SQUARE_VERSION}
    )
    return Merchant(merchant_id, location_id, token, f"key-{suffix}", url, hook_path, api, control)


@pytest.fixture
def merchant(square: str, control: httpx.Client, receiver: Receiver) -> Iterator[Merchant]:
    m = _new_merchant(square, control, receiver)
    yield m
    m.api.close()


@pytest.fixture
def other_merchant(square: str, control: httpx.Client, receiver: Receiver) -> Iterator[Merchant]:
    m = _new_merchant(square, control, receiver)
    yield m
    m.api.close()


def _seed(m: Merchant) -> dict[str, dict[str, Any]]:
    """The sample catalog by name (items, categories, modifier lists)."""
    objects = m.sandbox("/seed-catalog").json()["objects"]
    return {o[o["type"].lower() + "_data"]["name"]: o for o in objects}


def _variation(catalog: dict[str, dict[str, Any]], item: str, name: str) -> dict[str, Any]:
    return next(v for v in catalog[item]["item_data"]["variations"] if v["item_variation_data"]["name"] == name)


def _modifier(catalog: dict[str, dict[str, Any]], modifier_list: str, name: str) -> dict[str, Any]:
    modifiers = catalog[modifier_list]["modifier_list_data"]["modifiers"]
    return next(x for x in modifiers if x["modifier_data"]["name"] == name)


def _order(m: Merchant, key: str | None = None, **changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "location_id": m.location_id,
        "reference_id": "wix-order-1",
        "source": {"name": "posbridge"},
        "line_items": [
            {"name": "Soup of the day", "quantity": "2", "base_price_money": {"amount": 550, "currency": "USD"}}
        ],
        "fulfillments": [
            {
                "type": "PICKUP",
                "state": "PROPOSED",
                "pickup_details": {"recipient": {"display_name": "Ada"}, "pickup_at": "2030-01-01T18:00:00Z"},
            }
        ],
    }
    order.update(changes)
    return {"idempotency_key": key or str(uuid.uuid4()), "order": order}


def _error(response: httpx.Response) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return dict(errors[0])


def _expected_signature(key: str, url: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()).decode()


# ---- authentication and isolation ----------------------------------------------------------------------------------


def test_requests_without_a_token_are_unauthorized(square: str, merchant: Merchant) -> None:
    # Given no Authorization header
    # When the locations are requested
    response = httpx.get(f"{square}/v2/locations")
    # Then Square answers 401 UNAUTHORIZED
    assert response.status_code == 401
    assert _error(response)["category"] == "AUTHENTICATION_ERROR"
    assert _error(response)["code"] == "UNAUTHORIZED"


def test_requests_with_a_wrong_token_are_unauthorized(square: str, merchant: Merchant) -> None:
    # Given a token no merchant owns
    headers = {"Authorization": "Bearer not-a-real-token"}
    # When an order is created with it
    response = httpx.post(f"{square}/v2/orders", json=_order(merchant), headers=headers)
    # Then it is rejected before anything is written
    assert response.status_code == 401
    assert _error(response)["code"] == "UNAUTHORIZED"
    assert merchant.state()["orders"] == []


def test_a_merchant_never_sees_another_merchants_data(merchant: Merchant, other_merchant: Merchant) -> None:
    # Given a merchant with a catalog, an order and a customer
    catalog = _seed(merchant)
    order_id = merchant.api.post("/v2/orders", json=_order(merchant)).json()["order"]["id"]
    customer = merchant.api.post("/v2/customers", json={"email_address": "ada@example.com"}).json()["customer"]
    # When another merchant looks for them with its own token
    other = other_merchant.api
    listed = other.get("/v2/catalog/list").json()
    retrieved = other.post("/v2/catalog/batch-retrieve", json={"object_ids": [catalog["Tiramisu"]["id"]]}).json()
    order = other.get(f"/v2/orders/{order_id}")
    foreign_location = other.post("/v2/orders/search", json={"location_ids": [merchant.location_id]})
    found = other.post(
        "/v2/customers/search", json={"query": {"filter": {"email_address": {"exact": "ada@example.com"}}}}
    )
    # Then it finds nothing, and cannot even name the other merchant's location
    assert listed == {} and retrieved == {}
    assert order.status_code == 404 and _error(order)["code"] == "NOT_FOUND"
    assert foreign_location.status_code == 400
    assert found.json() == {}
    assert other.get(f"/v2/customers/{customer['id']}").status_code == 404
    assert other.get("/v2/locations").json()["locations"][0]["id"] == other_merchant.location_id


# ---- orders --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "field", "code"),
    [
        (lambda b: b["order"].pop("location_id"), "order.location_id", "MISSING_REQUIRED_PARAMETER"),
        (lambda b: b.pop("idempotency_key"), "idempotency_key", "MISSING_REQUIRED_PARAMETER"),
        (
            lambda b: b["order"]["line_items"][0].pop("quantity"),
            "order.line_items[0].quantity",
            "MISSING_REQUIRED_PARAMETER",
        ),
        (lambda b: b["order"]["line_items"][0].update(quantity="0"), "order.line_items[0].quantity", "INVALID_VALUE"),
        (lambda b: b["order"]["line_items"][0].update(quantity=2), "order.line_items[0].quantity", "EXPECTED_STRING"),
        (lambda b: b["order"].update(reference_id="x" * 41), "order.reference_id", "VALUE_TOO_LONG"),
        (lambda b: b["order"].update(location_id="SOMEONE-ELSE"), "order.location_id", "NOT_FOUND"),
        (
            lambda b: b["order"]["line_items"][0].pop("base_price_money"),
            "order.line_items[0].base_price_money",
            "MISSING_REQUIRED_PARAMETER",
        ),
        (
            lambda b: b["order"]["fulfillments"].append(b["order"]["fulfillments"][0]),
            "order.fulfillments",
            "ARRAY_LENGTH_TOO_LONG",
        ),
    ],
)
def test_create_order_rejects_invalid_requests(merchant: Merchant, mutate: Any, field: str, code: str) -> None:
    # Given an otherwise valid CreateOrder body with one rule broken
    body = _order(merchant)
    mutate(body)
    # When it is sent
    response = merchant.api.post("/v2/orders", json=body)
    # Then Square answers 400 naming the field, and no order exists
    assert response.status_code == 400
    assert _error(response)["category"] == "INVALID_REQUEST_ERROR"
    assert (_error(response)["code"], _error(response)["field"]) == (code, field)
    assert merchant.state()["orders"] == []


def test_create_order_prices_catalog_lines_with_modifiers(merchant: Merchant) -> None:
    # Given the sample catalog: a large Margherita (16.00) and stuffed crust (+2.50)
    catalog = _seed(merchant)
    large = _variation(catalog, "Margherita Pizza", "Large")
    stuffed = _modifier(catalog, "Crust", "Stuffed crust")
    lines = [{"catalog_object_id": large["id"], "quantity": "2", "modifiers": [{"catalog_object_id": stuffed["id"]}]}]
    # When two of them are ordered
    order = merchant.api.post("/v2/orders", json=_order(merchant, line_items=lines)).json()["order"]
    # Then Square names and prices the line from the catalog and totals it in cents
    line = order["line_items"][0]
    assert (line["name"], line["variation_name"]) == ("Margherita Pizza", "Large")
    assert line["base_price_money"] == {"amount": 1600, "currency": "USD"}
    assert line["modifiers"][0]["total_price_money"] == {"amount": 500, "currency": "USD"}
    assert line["total_money"] == {"amount": 3700, "currency": "USD"}
    assert order["total_money"] == {"amount": 3700, "currency": "USD"}
    assert (order["state"], order["version"]) == ("OPEN", 1)
    assert line["uid"] and order["fulfillments"][0]["uid"]


def test_a_catalog_line_and_modifier_keep_the_base_price_money_sent(merchant: Merchant) -> None:
    # Given the large Margherita (16.00 in the catalog) and stuffed crust (+2.50)
    catalog = _seed(merchant)
    large = _variation(catalog, "Margherita Pizza", "Large")
    stuffed = _modifier(catalog, "Crust", "Stuffed crust")

    def usd(cents: int) -> dict[str, Any]:
        return {"amount": cents, "currency": "USD"}

    lines = [
        {
            "catalog_object_id": large["id"],
            "quantity": "2",
            "base_price_money": usd(1500),
            "modifiers": [{"catalog_object_id": stuffed["id"], "base_price_money": usd(200)}],
        }
    ]
    # When they are ordered with prices of their own (what the buyer paid elsewhere)
    order = merchant.api.post("/v2/orders", json=_order(merchant, line_items=lines)).json()["order"]
    # Then those prices override the catalog's ("If both catalog_object_id and base_price_money are set,
    # base_price_money will override ..."), and the names still come from the catalog
    line = order["line_items"][0]
    assert (line["catalog_object_id"], line["name"], line["variation_name"]) == (
        large["id"],
        "Margherita Pizza",
        "Large",
    )
    assert line["base_price_money"] == usd(1500)
    assert (line["modifiers"][0]["name"], line["modifiers"][0]["base_price_money"]) == ("Stuffed crust", usd(200))
    assert order["total_money"] == usd(2 * (1500 + 200))


@pytest.mark.parametrize("target", ["missing", "item", "modifier", "deleted"])
def test_a_line_catalog_id_that_is_no_live_item_variation_is_refused(merchant: Merchant, target: str) -> None:
    # Given a catalog id that does not exist, names an ITEM or a MODIFIER, or names a deleted variation
    catalog = _seed(merchant)
    large = _variation(catalog, "Margherita Pizza", "Large")
    ids = {
        "missing": "NO-SUCH-OBJECT",
        "item": catalog["Margherita Pizza"]["id"],
        "modifier": _modifier(catalog, "Crust", "Stuffed crust")["id"],
        "deleted": large["id"],
    }
    if target == "deleted":
        deleted = merchant.api.post("/v2/catalog/batch-delete", json={"object_ids": [large["id"]]})
        assert deleted.status_code == 200
    lines = [
        {"catalog_object_id": ids[target], "quantity": "1", "base_price_money": {"amount": 100, "currency": "USD"}}
    ]
    # When it is ordered
    response = merchant.api.post("/v2/orders", json=_order(merchant, line_items=lines))
    # Then Square answers 400 NOT_FOUND on that field, and no order exists
    assert response.status_code == 400
    assert (_error(response)["code"], _error(response)["field"]) == (
        "NOT_FOUND",
        "order.line_items[0].catalog_object_id",
    )
    assert merchant.state()["orders"] == []


def test_create_order_is_idempotent_for_the_same_body(merchant: Merchant) -> None:
    # Given an order created with an idempotency key
    body = _order(merchant, key="wix-order-1-create")
    first = merchant.api.post("/v2/orders", json=body).json()["order"]
    # When the same request is retried
    second = merchant.api.post("/v2/orders", json=body)
    # Then the same order comes back and only one exists
    assert second.status_code == 200
    assert second.json()["order"]["id"] == first["id"]
    assert len(merchant.state()["orders"]) == 1


def test_reusing_an_idempotency_key_with_another_body_is_rejected(merchant: Merchant) -> None:
    # Given an order created with a key
    merchant.api.post("/v2/orders", json=_order(merchant, key="k-1"))
    # When the key is reused for a different order
    response = merchant.api.post("/v2/orders", json=_order(merchant, key="k-1", reference_id="wix-order-2"))
    # Then Square refuses it
    assert response.status_code == 400
    assert _error(response)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(merchant.state()["orders"]) == 1


def test_update_order_with_a_stale_version_is_a_conflict(merchant: Merchant) -> None:
    # Given an order updated once (now at version 2)
    order = merchant.api.post("/v2/orders", json=_order(merchant)).json()["order"]
    sparse = {"location_id": merchant.location_id, "version": 1, "ticket_name": "Ada"}
    updated = merchant.api.put(f"/v2/orders/{order['id']}", json={"order": sparse, "idempotency_key": "u-1"})
    assert updated.status_code == 200 and updated.json()["order"]["version"] == 2
    # When another update still carries version 1
    stale = merchant.api.put(f"/v2/orders/{order['id']}", json={"order": sparse, "idempotency_key": "u-2"})
    # Then it is rejected as a 409 CONFLICT (squareup's ErrorCode has no VERSION_MISMATCH) and the order is unchanged
    assert stale.status_code == 409
    assert (_error(stale)["code"], _error(stale)["field"]) == ("CONFLICT", "order.version")
    assert merchant.api.get(f"/v2/orders/{order['id']}").json()["order"]["version"] == 2


def test_update_order_moves_fulfillments_forward_only(merchant: Merchant) -> None:
    # Given an API order with a PROPOSED pickup
    order = merchant.api.post("/v2/orders", json=_order(merchant)).json()["order"]
    uid = order["fulfillments"][0]["uid"]

    def put(state: str, version: int) -> httpx.Response:
        sparse = {
            "location_id": merchant.location_id,
            "version": version,
            "fulfillments": [{"uid": uid, "state": state}],
        }
        return merchant.api.put(
            f"/v2/orders/{order['id']}", json={"order": sparse, "idempotency_key": str(uuid.uuid4())}
        )

    # When it is set to an unknown state, then moved forward, then back
    unknown = put("COOKING", 1)
    forward = put("PREPARED", 1)
    backward = put("RESERVED", 2)
    # Then unknown strings and backward moves are refused, forward moves bump the version
    assert unknown.status_code == 400 and _error(unknown)["code"] == "INVALID_ENUM_VALUE"
    assert forward.status_code == 200
    assert forward.json()["order"]["fulfillments"][0]["state"] == "PREPARED"
    assert forward.json()["order"]["version"] == 2
    assert backward.status_code == 400


def test_orders_rung_up_in_the_pos_app_cannot_be_updated_through_the_api(merchant: Merchant) -> None:
    # Given an order a cashier rang up in the POS app (it has no version)
    body = _order(merchant)["order"]
    registered = merchant.sandbox("/register-order", {"order": body}).json()["order"]
    assert "version" not in registered
    # When an app tries to update it
    sparse = {"location_id": merchant.location_id, "version": 1, "ticket_name": "nope"}
    response = merchant.api.put(f"/v2/orders/{registered['id']}", json={"order": sparse, "idempotency_key": "u"})
    # Then Square refuses
    assert response.status_code == 400
    assert _error(response)["code"] == "BAD_REQUEST"


def test_search_orders_by_updated_at(merchant: Merchant) -> None:
    # Given one order, a cut-off time, then a second order
    merchant.api.post("/v2/orders", json=_order(merchant))
    first = datetime.fromisoformat(merchant.state()["orders"][0]["updated_at"])
    cutoff = (first + timedelta(milliseconds=1)).isoformat()  # start_at is inclusive
    later = merchant.sandbox("/register-order", {"order": _order(merchant)["order"]}).json()["order"]
    # When orders updated after the cut-off are searched
    query = {
        "filter": {
            "date_time_filter": {"updated_at": {"start_at": cutoff}},
            "state_filter": {"states": ["OPEN"]},
        },
        "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
    }
    found = merchant.api.post("/v2/orders/search", json={"location_ids": [merchant.location_id], "query": query})
    missing_locations = merchant.api.post("/v2/orders/search", json={"query": query})
    # Then only the later order is returned; location_ids is required
    assert [o["id"] for o in found.json()["orders"]] == [later["id"]]
    assert _error(missing_locations)["code"] == "MISSING_REQUIRED_PARAMETER"


# ---- catalog -------------------------------------------------------------------------------------------------------


def _upsert(m: Merchant, key: str, *batches: list[dict[str, Any]]) -> httpx.Response:
    body = {"idempotency_key": key, "batches": [{"objects": objects} for objects in batches]}
    return m.api.post("/v2/catalog/batch-upsert", json=body)


def _item(temp_id: str, name: str, category: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "variations": [
            {
                "type": "ITEM_VARIATION",
                "id": f"{temp_id}-regular",
                "item_variation_data": {"name": "Regular", "price_money": {"amount": 900, "currency": "USD"}},
            }
        ],
    }
    if category:
        data["categories"] = [{"id": category}]
    return {"type": "ITEM", "id": temp_id, "item_data": data}


def test_batch_upsert_maps_temporary_ids_to_real_ones(merchant: Merchant) -> None:
    # Given an item that references a category defined after it in the same batch
    category = {"type": "CATEGORY", "id": "#brunch", "category_data": {"name": "Brunch"}}
    # When they are upserted
    response = _upsert(merchant, "up-1", [_item("#pancakes", "Pancakes", "#brunch"), category])
    # Then every temporary id (nested variation included) maps to a real id, and references use the real ids
    assert response.status_code == 200, response.text
    mapping = {m["client_object_id"]: m["object_id"] for m in response.json()["id_mappings"]}
    assert set(mapping) == {"#pancakes", "#pancakes-regular", "#brunch"}
    item = response.json()["objects"][0]
    assert item["id"] == mapping["#pancakes"] and item["version"] >= 1
    assert item["item_data"]["categories"] == [{"id": mapping["#brunch"]}]
    assert item["item_data"]["variations"][0]["item_variation_data"]["item_id"] == item["id"]


def test_batch_upsert_is_idempotent_per_key_and_body(merchant: Merchant) -> None:
    # Given a successful upsert
    first = _upsert(merchant, "up-same", [_item("#a", "Waffles")])
    # When it is retried with the same key and body, then with the same key and another body
    replay = _upsert(merchant, "up-same", [_item("#a", "Waffles")])
    reused = _upsert(merchant, "up-same", [_item("#a", "Crepes")])
    # Then the first answer is replayed without writing again, and the changed body is refused
    assert replay.json() == first.json()
    assert _error(reused)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert (
        merchant.api.get("/v2/catalog/list", params={"types": "ITEM"}).json()["objects"][0]["item_data"]["name"]
        == "Waffles"
    )


def test_batch_upsert_rejects_a_stale_version_for_that_batch_only(merchant: Merchant) -> None:
    # Given an item at some version
    item = _upsert(merchant, "create", [_item("#soup", "Soup")]).json()["objects"][0]
    stale = {**item, "version": item["version"] - 1, "item_data": {**item["item_data"], "name": "Stale soup"}}
    # When one batch carries the stale version and another batch adds a new item
    response = _upsert(merchant, "mixed", [stale], [_item("#bread", "Bread")])
    # Then the stale batch fails with 409 CONFLICT, the other batch is applied
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "CONFLICT"
    names = {
        o["item_data"]["name"] for o in merchant.api.get("/v2/catalog/list", params={"types": "ITEM"}).json()["objects"]
    }
    assert names == {"Soup", "Bread"}


def test_batch_upsert_rejects_more_than_1000_objects_per_batch(merchant: Merchant) -> None:
    # Given a batch of 1,001 categories
    categories = [{"type": "CATEGORY", "id": f"#c{i}", "category_data": {"name": f"C{i}"}} for i in range(1001)]
    # When it is upserted
    response = _upsert(merchant, "too-big", categories)
    # Then nothing is written
    assert response.status_code == 400
    assert (_error(response)["code"], _error(response)["field"]) == ("ARRAY_LENGTH_TOO_LONG", "batches[0].objects")
    assert merchant.state()["catalog"] == []


def test_an_item_needs_a_name_and_at_least_one_variation(merchant: Merchant) -> None:
    # Given items without a name, and without variations
    nameless = _item("#x", "")
    bare = {"type": "ITEM", "id": "#y", "item_data": {"name": "Bare", "variations": []}}
    # When each is upserted
    responses = [_upsert(merchant, str(uuid.uuid4()), [obj]) for obj in (nameless, bare)]
    # Then both are refused
    assert [r.status_code for r in responses] == [400, 400]
    assert _error(responses[0])["field"] == "batches[0].objects[0].item_data.name"
    assert _error(responses[1])["field"] == "batches[0].objects[0].item_data.variations"


def test_search_catalog_with_begin_time_returns_only_later_changes(merchant: Merchant) -> None:
    # Given a seeded catalog and the time of its last change
    catalog = _seed(merchant)
    latest = merchant.api.post("/v2/catalog/search", json={}).json()["latest_time"]
    # When the seller changes one price, and one item is deleted
    cup = _variation(catalog, "Tomato Soup", "Cup")
    merchant.sandbox("/catalog/price", {"variationId": cup["id"], "amount": 550})
    merchant.api.post("/v2/catalog/batch-delete", json={"object_ids": [catalog["Espresso"]["id"]]})
    # Then a search from that time returns only the changed variation (and the deleted objects when asked)
    changed = merchant.api.post("/v2/catalog/search", json={"begin_time": latest, "object_types": ["ITEM_VARIATION"]})
    with_deleted = merchant.api.post(
        "/v2/catalog/search", json={"begin_time": latest, "object_types": ["ITEM"], "include_deleted_objects": True}
    )
    objects = changed.json()["objects"]
    assert [o["id"] for o in objects] == [cup["id"]]
    assert objects[0]["item_variation_data"]["price_money"] == {"amount": 550, "currency": "USD"}
    assert objects[0]["version"] > cup["version"]
    assert [(o["id"], o["is_deleted"]) for o in with_deleted.json()["objects"]] == [(catalog["Espresso"]["id"], True)]
    assert changed.json()["latest_time"] > latest


def test_seeded_catalog_is_a_restaurant_menu(merchant: Merchant) -> None:
    # Given the sample catalog
    catalog = _seed(merchant)
    # When its shape is inspected
    dinner = catalog["Dinner"]["category_data"]
    sections = [c for c in catalog.values() if c["type"] == "CATEGORY" and "parent_category" in c["category_data"]]
    tiramisu = catalog["Tiramisu"]["item_data"]["variations"][0]["item_variation_data"]
    # Then it has a top-level menu with sections, regular categories, sized items, both modifier list kinds, one 86'd
    assert (dinner["category_type"], dinner["is_top_level"]) == ("MENU_CATEGORY", True)
    assert {c["category_data"]["name"] for c in sections} >= {"Starters", "Mains", "Desserts"}
    assert {
        c["category_data"]["name"]
        for c in catalog.values()
        if c.get("category_data", {}).get("category_type") == "REGULAR_CATEGORY"
    }
    assert sum(o["type"] == "ITEM" for o in catalog.values()) >= 10
    assert len(catalog["Margherita Pizza"]["item_data"]["variations"]) == 2
    assert {
        catalog["Crust"]["modifier_list_data"]["selection_type"],
        catalog["Extra toppings"]["modifier_list_data"]["selection_type"],
    } == {"SINGLE", "MULTIPLE"}
    assert tiramisu["location_overrides"] == [{"location_id": merchant.location_id, "sold_out": True}]


def test_list_catalog_pages_with_a_cursor(merchant: Merchant) -> None:
    # Given 150 categories (the list page size is 100)
    categories = [{"type": "CATEGORY", "id": f"#c{i}", "category_data": {"name": f"C{i}"}} for i in range(150)]
    _upsert(merchant, "many", categories)
    # When the list is paged through
    first = merchant.api.get("/v2/catalog/list", params={"types": "category"}).json()
    second = merchant.api.get("/v2/catalog/list", params={"types": "CATEGORY", "cursor": first["cursor"]}).json()
    bad = merchant.api.get("/v2/catalog/list", params={"cursor": "garbage"})
    # Then every object comes exactly once and a forged cursor is refused
    assert len(first["objects"]) == 100 and len(second["objects"]) == 50 and "cursor" not in second
    assert len({o["id"] for o in first["objects"] + second["objects"]}) == 150
    assert _error(bad)["code"] == "INVALID_CURSOR"


# ---- faults --------------------------------------------------------------------------------------------------------


def test_a_rate_limit_fault_answers_429_then_the_retry_succeeds(merchant: Merchant) -> None:
    # Given one injected 429 on CreateOrder
    merchant.control.post("/_sandbox/faults", json={"path": "/v2/orders", "method": "POST", "status": 429, "times": 1})
    body = _order(merchant, key="retry-me")
    # When the order is created, then retried with the same key
    throttled = merchant.api.post("/v2/orders", json=body)
    retried = merchant.api.post("/v2/orders", json=body)
    # Then the first call is RATE_LIMITED in Square's format and the retry creates exactly one order
    assert throttled.status_code == 429
    assert (_error(throttled)["category"], _error(throttled)["code"]) == ("RATE_LIMIT_ERROR", "RATE_LIMITED")
    assert retried.status_code == 200
    assert len(merchant.state()["orders"]) == 1
    assert merchant.control.get("/_sandbox/faults").json()["faults"] == []


# ---- webhooks ------------------------------------------------------------------------------------------------------


def test_cashier_actions_send_signed_webhooks(merchant: Merchant, receiver: Receiver) -> None:
    # Given a cashier who rings up a pickup order in the POS app
    order = merchant.sandbox("/register-order", {"order": _order(merchant)["order"]}).json()["order"]
    # When the kitchen marks it prepared
    moved = merchant.sandbox(f"/orders/{order['id']}/fulfillment-state", {"state": "PREPARED"})
    # Then the notification URL got order.updated (never order.created), then order.fulfillment.updated + order.updated
    assert moved.status_code == 200
    received = receiver.events(merchant.hook_path)
    assert [e["type"] for _, _, e in received] == ["order.updated", "order.fulfillment.updated", "order.updated"]
    for headers, body, event in received:
        # ... each signed with HMAC-SHA256 over the exact registered URL + raw body
        assert headers["X-Square-Hmacsha256-Signature"] == _expected_signature(
            merchant.signature_key, merchant.notification_url, body
        )
        assert headers["Content-Type"] == "application/json"
        assert event["merchant_id"] == merchant.merchant_id
        assert uuid.UUID(event["event_id"]) and event["created_at"].endswith("Z")
        assert event["data"]["id"] == order["id"]
    update = received[1][2]["data"]
    assert update["type"] == "order"
    fulfillment = update["object"]["order_fulfillment_updated"]
    assert fulfillment["fulfillment_update"] == [
        {"fulfillment_uid": order["fulfillments"][0]["uid"], "old_state": "PROPOSED", "new_state": "PREPARED"}
    ]
    assert "version" not in fulfillment  # POS-app orders have none


def test_orders_created_through_the_api_fire_order_created(merchant: Merchant, receiver: Receiver) -> None:
    # Given an order created through the API
    order = merchant.api.post("/v2/orders", json=_order(merchant)).json()["order"]
    # When the webhook arrives
    [(_, _, event)] = receiver.events(merchant.hook_path)
    # Then it is order.created with the order summary
    assert event["type"] == "order.created"
    assert event["data"]["type"] == "order"
    assert event["data"]["object"]["order_created"] == {
        "order_id": order["id"],
        "location_id": merchant.location_id,
        "state": "OPEN",
        "version": 1,
        "created_at": order["created_at"],
    }


def test_a_duplicated_delivery_repeats_the_same_event_id(merchant: Merchant, receiver: Receiver) -> None:
    # Given a seeded catalog and webhooks delivered three times each
    catalog = _seed(merchant)
    seen_before = len(receiver.events(merchant.hook_path))
    merchant.control.post("/_sandbox/webhooks/delivery", json={"duplicate": 3})
    # When the seller renames an item
    merchant.sandbox("/catalog/rename", {"objectId": catalog["Lemonade"]["id"], "name": "Fresh Lemonade"})
    # Then catalog.version.updated arrives three times with one event_id
    events = [e for _, _, e in receiver.events(merchant.hook_path)[seen_before:]]
    assert [e["type"] for e in events] == ["catalog.version.updated"] * 3
    assert len({e["event_id"] for e in events}) == 1
    assert events[0]["data"] == {  # no `id`: squareup's CatalogVersionUpdatedEventData has none
        "type": "catalog_version",
        "object": {"catalog_version": {"updated_at": merchant.state()["catalogUpdatedAt"]}},
    }


def test_sign_matches_squares_documented_algorithm() -> None:
    # Given a key, a notification URL and a body
    key, url, body = "sig-key", "https://example.com/square?tenant=1", b'{"type":"order.updated"}'
    # When signed / Then it is base64(HMAC-SHA256(key, url + body))
    assert sign(key, url, body) == _expected_signature(key, url, body)


# ---- customers, locations, control API -----------------------------------------------------------------------------


def test_customers_are_created_found_by_email_and_validated(merchant: Merchant) -> None:
    # Given a customer created through the API
    created = merchant.api.post(
        "/v2/customers",
        json={
            "idempotency_key": "c-1",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email_address": "Ada@example.com",
        },
    ).json()["customer"]
    # When it is searched by e-mail, fetched, and an empty customer is attempted
    found = merchant.api.post(
        "/v2/customers/search", json={"query": {"filter": {"email_address": {"exact": "ada@example.com"}}}}
    )
    fetched = merchant.api.get(f"/v2/customers/{created['id']}")
    empty = merchant.api.post("/v2/customers", json={"idempotency_key": "c-2"})
    # Then the search finds it, retrieve returns it, and a customer with no identity is refused
    assert [c["id"] for c in found.json()["customers"]] == [created["id"]]
    assert fetched.json()["customer"]["given_name"] == "Ada"
    assert empty.status_code == 400 and _error(empty)["code"] == "MISSING_REQUIRED_PARAMETER"


def test_calls_and_square_version_are_recorded(merchant: Merchant) -> None:
    # Given a few API calls
    merchant.api.get("/v2/locations")
    merchant.api.get("/v2/orders/UNKNOWN")
    # When the sandbox state is inspected
    state = merchant.state()
    # Then calls are counted per route template and the Square-Version header is recorded
    assert state["calls"] == {"GET /v2/locations": 1, "GET /v2/orders/{order_id}": 1}
    assert state["squareVersions"] == {SQUARE_VERSION: 2}


def test_control_api_rejects_bad_input_with_400(merchant: Merchant) -> None:
    # Given a merchant with a seeded catalog and a POS order
    _seed(merchant)
    order = merchant.sandbox("/register-order", {"order": _order(merchant)["order"]}).json()["order"]
    # When the control API gets malformed or impossible requests
    answers = [
        merchant.control.post("/_sandbox/merchants", json={"merchantId": "X"}),
        merchant.sandbox("/catalog/price", {"variationId": "NOPE", "amount": 100}),
        merchant.sandbox("/catalog/sold-out", {"variationId": "NOPE", "soldOut": "yes"}),
        merchant.sandbox(f"/orders/{order['id']}/fulfillment-state", {"state": "COOKING"}),
        merchant.sandbox("/register-order", {"order": {"line_items": [{"name": "x"}]}}),
        merchant.control.post("/_sandbox/faults", json={"path": "no-slash"}),
        merchant.control.post("/_sandbox/webhooks/delivery", json={"duplicate": 0}),
        merchant.control.post("/_sandbox/merchants", content=b"not json"),
    ]
    # Then every one is a 400 with a message, never a 500
    assert [a.status_code for a in answers] == [400] * len(answers)
    assert all(a.json()["error"] for a in answers)
    assert merchant.control.post("/_sandbox/merchants/NOBODY/seed-catalog").status_code == 404


@pytest.mark.parametrize(
    ("recipient", "field", "code"),
    [
        ({"phone_number": "+1 (206) 222-34567"}, "phone_number", "VALUE_TOO_LONG"),  # 18 characters; Square: 17
        ({"address": {"address_line_1": "1 Main St", "country": "XK"}}, "address.country", "INVALID_ENUM_VALUE"),
        ({"address": {"locality": 5}}, "address.locality", "EXPECTED_STRING"),
    ],
)
def test_create_order_checks_the_recipients_phone_and_address(
    merchant: Merchant, recipient: dict[str, Any], field: str, code: str
) -> None:
    # Given a pickup whose recipient breaks Square's FulfillmentRecipient / Address rules
    body = _order(merchant)
    body["order"]["fulfillments"][0]["pickup_details"]["recipient"].update(recipient)
    # When it is sent / Then Square answers 400 naming the field, and no order exists
    response = merchant.api.post("/v2/orders", json=body)
    assert response.status_code == 400
    prefix = "order.fulfillments[0].pickup_details.recipient"
    assert (_error(response)["code"], _error(response)["field"]) == (code, f"{prefix}.{field}")
    assert merchant.state()["orders"] == []


def test_exact_phone_search_compares_e164_forms_and_needs_a_country_code(merchant: Merchant) -> None:
    # Given a customer stored with a compact E.164 number
    created = merchant.api.post("/v2/customers", json={"phone_number": "+12062223333"}).json()["customer"]

    def search(phone: str) -> httpx.Response:
        return merchant.api.post("/v2/customers/search", json={"query": {"filter": {"phone_number": {"exact": phone}}}})

    # When it is searched with an E.164-compliant variation / Then it is found (Square converts both to E.164)
    assert [c["id"] for c in search("+1 (206) 222-3333").json()["customers"]] == [created["id"]]
    # And a number without "+" and country code is not an exact phone query Square takes
    refused = search("(206) 222-3333")
    assert refused.status_code == 400 and _error(refused)["code"] == "INVALID_VALUE"


# --- inventory, modifier rules, archived items (squareup 46.0.0.20260916) ---------------------------------------------

# square/types/inventory_count.py
INVENTORY_COUNT_FIELDS = {"catalog_object_id", "catalog_object_type", "state", "location_id", "quantity",
                          "calculated_at", "is_estimated"}  # fmt: skip


def _track(m: Merchant, variation: dict[str, Any]) -> None:
    """The seller turns inventory tracking on for a variation (CatalogItemVariation.track_inventory)."""
    data = {**variation["item_variation_data"], "track_inventory": True}
    answer = _upsert(m, uuid.uuid4().hex, [{**variation, "item_variation_data": data}])
    assert answer.status_code == 200, answer.text


def test_inventory_counts_are_served_newest_first_filtered_as_the_sdk_asks(merchant: Merchant) -> None:
    # Given two counted variations, the second counted later
    catalog = _seed(merchant)
    cake, salmon = (
        _variation(catalog, "Chocolate Lava Cake", "Regular"),
        _variation(catalog, "Grilled Salmon", "Regular"),
    )
    first = merchant.sandbox("/inventory", {"variationId": cake["id"], "quantity": 3}).json()["count"]
    merchant.sandbox("/inventory", {"variationId": salmon["id"], "quantity": "2.5"})
    # When BatchRetrieveInventoryCounts is called as squareup's batch_get_counts sends it
    every = merchant.api.post(
        "/v2/inventory/counts/batch-retrieve", json={"location_ids": [merchant.location_id], "states": ["IN_STOCK"]}
    )
    later = merchant.api.post("/v2/inventory/counts/batch-retrieve", json={"updated_after": first["calculated_at"]})
    one = merchant.api.post("/v2/inventory/counts/batch-retrieve", json={"catalog_object_ids": [cake["id"]]})
    elsewhere = merchant.api.post("/v2/inventory/counts/batch-retrieve", json={"location_ids": ["OTHER"]})
    # Then the counts are InventoryCounts, newest first, and each filter applies (updated_after is exclusive)
    counts = every.json()["counts"]
    assert [c["catalog_object_id"] for c in counts] == [salmon["id"], cake["id"]]
    assert all(set(c) <= INVENTORY_COUNT_FIELDS for c in counts)
    assert (counts[0]["quantity"], counts[0]["state"], counts[0]["catalog_object_type"]) == (
        "2.5",
        "IN_STOCK",
        "ITEM_VARIATION",
    )
    assert [c["catalog_object_id"] for c in later.json()["counts"]] == [salmon["id"]]
    assert [c["catalog_object_id"] for c in one.json()["counts"]] == [cake["id"]]
    assert elsewhere.status_code == 200 and elsewhere.json() == {}
    # And malformed requests are Square errors, never 500s
    for body, field_name in (({"states": ["ON_SHELF"]}, "states[0]"), ({"updated_after": "yesterday"}, "updated_after"),
                             ({"catalog_object_ids": "abc"}, "catalog_object_ids")):  # fmt: skip
        answer = merchant.api.post("/v2/inventory/counts/batch-retrieve", json=body)
        assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == field_name


def test_a_tracked_variation_counted_to_zero_is_sold_out_with_its_catalog_version_and_both_webhooks(
    merchant: Merchant, receiver: Receiver
) -> None:
    # Given a tracked cake and an untracked salmon
    catalog = _seed(merchant)
    cake, salmon = (
        _variation(catalog, "Chocolate Lava Cake", "Regular"),
        _variation(catalog, "Grilled Salmon", "Regular"),
    )
    _track(merchant, cake)
    version = merchant.state()["catalogVersion"]
    seen = len(receiver.events(merchant.hook_path))
    # When both are counted at zero
    merchant.sandbox("/inventory", {"variationId": cake["id"], "quantity": 0})
    merchant.sandbox("/inventory", {"variationId": salmon["id"], "quantity": 0})
    # Then each count sent inventory.count.updated with its InventoryCount, and the tracked cake alone became sold out
    # in a new catalog version announced by catalog.version.updated
    events = [e for _, _, e in receiver.events(merchant.hook_path)[seen:]]
    assert [e["type"] for e in events] == ["catalog.version.updated", "inventory.count.updated",
                                           "inventory.count.updated"]  # fmt: skip
    assert events[1]["data"]["type"] == "inventory_counts"
    assert events[1]["data"]["object"]["inventory_counts"][0]["catalog_object_id"] == cake["id"]
    state = merchant.state()
    stored = {o["id"]: o for o in state["catalog"]}
    assert stored[cake["id"]]["item_variation_data"]["location_overrides"] == [
        {"location_id": merchant.location_id, "sold_out": True}
    ]
    assert "location_overrides" not in stored[salmon["id"]]["item_variation_data"]
    assert state["catalogVersion"] == version + 1


def test_modifier_sold_out_is_the_sellers_alone_and_rules_and_overrides_are_validated(merchant: Merchant) -> None:
    # Given the seeded catalog, whose lists say their rule with min/max (-1: not set)
    catalog = _seed(merchant)
    crust, toppings = catalog["Crust"]["modifier_list_data"], catalog["Extra toppings"]["modifier_list_data"]
    assert (crust["min_selected_modifiers"], crust["max_selected_modifiers"]) == (-1, 1)
    assert (toppings["min_selected_modifiers"], toppings["max_selected_modifiers"]) == (-1, -1)
    olives = next(m for m in toppings["modifiers"] if m["modifier_data"]["name"] == "Olives")
    # When an app tries to set a modifier sold out, then the seller does
    data = {**olives["modifier_data"], "location_overrides": [{"location_id": merchant.location_id, "sold_out": True}]}
    by_app = _upsert(merchant, uuid.uuid4().hex, [{**olives, "modifier_data": data}])
    after_app = next(o for o in merchant.state()["catalog"] if o["id"] == olives["id"])
    merchant.sandbox("/catalog/sold-out", {"modifierId": olives["id"], "soldOut": True})
    after_seller = next(o for o in merchant.state()["catalog"] if o["id"] == olives["id"])
    # Then only the seller's switch took (ModifierLocationOverrides.sold_out: "attempts by an application ... ignored")
    assert by_app.status_code == 200
    assert after_app["modifier_data"]["location_overrides"] == [{"location_id": merchant.location_id}]
    assert after_seller["modifier_data"]["location_overrides"] == [{"location_id": merchant.location_id,
                                                                    "sold_out": True}]  # fmt: skip
    # And an item's overrides must be CatalogModifierToggleOverrideType values on modifiers that exist
    pizza = catalog["Margherita Pizza"]
    for override, field_name in (({"modifier_id": olives["id"], "hidden_online_override": "MAYBE"},
                                  "hidden_online_override"), ({"modifier_id": "NOPE"}, "modifier_id")):  # fmt: skip
        info = [{"modifier_list_id": catalog["Crust"]["id"], "modifier_overrides": [override]}]
        bad = {**pizza, "item_data": {**pizza["item_data"], "modifier_list_info": info, "is_archived": True}}
        answer = _upsert(merchant, uuid.uuid4().hex, [bad])
        assert answer.status_code == 400 and answer.json()["errors"][0]["field"].endswith(field_name), answer.text
