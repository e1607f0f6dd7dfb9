"""Tenant isolation: with tenant A's identity (its instance id in an admin path, its instance in a Wix event) nothing
of tenant B can be read or changed. Workers' POS-side isolation (an order of another location is refused) is in
tests/unit/test_pos_flows.py and tests/unit/test_export_order.py::test_tenants_do_not_see_each_others_mappings."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from devstack.app import Devstack
from devstack.kitchen import Kitchen
from devstack.wix_sandbox import sign_webhook
from tests.e2e.conftest import Restaurant, wait_for

SOUP = {"kind": "restaurant", "name": "Minestrone", "price": "7.25", "quantity": 1}


def _second_restaurant(devstack: Devstack) -> Restaurant:
    suffix = uuid.uuid4().hex[:10]
    http = httpx.Client(timeout=30)
    instance_id, merchant_id = f"inst-{suffix}", f"M{suffix.upper()}"
    Kitchen(devstack, instance_id, merchant_id, f"L{suffix.upper()}", f"tok-{suffix}", f"s-{suffix}", http).set_up()
    return Restaurant(devstack, instance_id, merchant_id, http)


@pytest.fixture
def pair(restaurant: Restaurant) -> tuple[Restaurant, Restaurant, dict[str, Any]]:
    """A and B, with one exported order of B's, and B's state as the admin API shows it."""
    b = _second_restaurant(restaurant.devstack)
    placed = b.checkout([SOUP])
    b.wait_mapping(placed["order"]["id"])
    return restaurant, b, placed["order"]


def _state(b: Restaurant, wix_order_id: str) -> tuple[Any, ...]:
    gateway = b.devstack.gateway_url
    return (
        httpx.get(f"{gateway}/admin/tenants/{b.instance_id}").json(),
        b.mapping(wix_order_id),
        len(b.pos_orders(wix_order_id)),
    )


def test_tenant_as_admin_routes_and_events_cannot_read_or_change_tenant_b(
    pair: tuple[Restaurant, Restaurant, dict[str, Any]],
) -> None:
    a, b, order = pair
    gateway, before = a.devstack.gateway_url, _state(b, order["id"])
    mapping = before[1]
    assert mapping is not None
    # And a catalog import of B's, which B's route shows
    started = httpx.post(f"{gateway}/admin/tenants/{b.instance_id}/catalog-imports", json={}, timeout=30)
    assert started.status_code == 202, started.text
    b_job = started.json()["jobId"]
    assert httpx.get(f"{gateway}/admin/tenants/{b.instance_id}/catalog-imports/{b_job}").status_code == 200
    # When A's routes are asked for B's order, POS order, catalog import, location, messages
    reads = [
        httpx.get(f"{gateway}/admin/tenants/{a.instance_id}/orders/{order['id']}"),
        httpx.get(f"{gateway}/admin/tenants/{a.instance_id}/pos-orders/{mapping['posOrderId']}"),
        httpx.get(f"{gateway}/admin/tenants/{a.instance_id}/catalog-imports/{b_job}"),
    ]
    taken_location = {
        "pos": {
            "provider": "square",
            "merchantId": b.merchant_id,
            "locationId": before[0]["pos"]["locationId"],
            "accessToken": "a-token",
            "webhookSignatureKey": "a-key",
        }
    }
    writes = [
        httpx.put(f"{gateway}/admin/tenants/{a.instance_id}", json=taken_location),
        httpx.post(f"{gateway}/admin/tenants/{a.instance_id}/pause"),
        httpx.post(f"{gateway}/admin/tenants/{a.instance_id}/resume"),
        httpx.post(f"{gateway}/admin/tenants/{a.instance_id}/reconcile", timeout=30),
        httpx.post(f"{gateway}/admin/dead-letters/redrive", json={"instanceId": a.instance_id}),
    ]
    listed = httpx.get(f"{gateway}/admin/dead-letters", params={"instanceId": a.instance_id}).json()
    # Then nothing of B is shown and B is unchanged
    assert [r.status_code for r in reads] == [404, 404, 404]
    assert all(b.instance_id not in r.text for r in reads)
    assert writes[0].status_code == 409 and writes[0].json()["message"]
    assert writes[3].json().get("tenant_id") in (None, a.instance_id)
    assert all(m["tenantId"] == a.instance_id for m in listed["messages"])
    assert _state(b, order["id"]) == before
    # (one test with the next part: setting up B with an exported order is the slow bit)
    _a_wix_event_of_tenant_a_naming_bs_order_never_touches_b(a, b, order, before)


def _a_wix_event_of_tenant_a_naming_bs_order_never_touches_b(
    a: Restaurant, b: Restaurant, order: dict[str, Any], before: tuple[Any, ...]
) -> None:
    # Given a genuinely signed approval for instance A that carries B's order (id and content)
    devstack = a.devstack
    assert devstack.wix is not None
    body = sign_webhook(
        devstack.wix.private_key_pem,
        "wix.ecom.v1.order_approved",
        a.instance_id,
        {"id": f"evt-x-{uuid.uuid4().hex[:8]}", "entityId": order["id"], "actionEvent": {"body": {"order": order}}},
    )
    # When the worker handles it
    assert httpx.post(devstack.gateway_url + "/webhooks/wix", content=body).status_code == 200
    wait_for(lambda: a.mapping(order["id"]) or a.parked())
    # Then whatever A got (its own mapping in its own POS, or a parked message), B's order, mapping, POS are unchanged
    assert _state(b, order["id"]) == before
    assert all(o["id"] != before[1]["posOrderId"] for o in a.pos_orders(order["id"]))
