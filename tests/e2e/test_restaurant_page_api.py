"""The restaurant page's API over the devstack (issue 15): every route of the page refuses a tampered or missing
instance before it reads anything, and one site's instance never reaches another site's import, orders or settings."""

from __future__ import annotations

import uuid

import httpx
import pytest

from devstack.app import Devstack
from tests.e2e.conftest import Restaurant

SOUP = {"kind": "restaurant", "name": "Minestrone", "price": "7.25", "quantity": 1}
PAGE_ROUTES = [
    ("GET", "/restaurant/activity", None),
    ("POST", "/restaurant/parked/retry", {}),
    ("POST", "/restaurant/catalog-imports", None),
    ("GET", "/restaurant/catalog-imports/job-1", None),
    ("GET", "/restaurant/settings", None),
    ("PUT", "/restaurant/settings", {"exportOn": "created", "exportUnpaid": False}),
]


def dashboard(devstack: Devstack, http: httpx.Client, instance_id: str) -> dict[str, str]:
    opened = http.post(f"{devstack.wix_url}/_sandbox/instances/{instance_id}/dashboard", json={})
    opened.raise_for_status()
    return dict(opened.json())


@pytest.mark.parametrize(("method", "path", "body"), PAGE_ROUTES)
def test_every_page_route_refuses_a_tampered_or_missing_instance(
    devstack: Devstack, restaurant: Restaurant, method: str, path: str, body: dict[str, object] | None
) -> None:
    # Given the restaurant's instance with its data changed to another site (the signature kept), and no instance
    tampered = dashboard(devstack, restaurant.http, restaurant.instance_id)["tampered"]
    for headers in ({"Authorization": f"Instance {tampered}"}, {}):
        # When the page's route is called with it
        answer = restaurant.http.request(method, f"{devstack.gateway_url}{path}", headers=headers, json=body)
        # Then it is refused, with nothing of any site in the answer
        assert answer.status_code == 401, answer.text
        assert restaurant.instance_id not in answer.text and "exportOn" not in answer.text
    # And the settings the refused PUT named did not change
    tenant = restaurant.http.get(f"{devstack.gateway_url}/admin/tenants/{restaurant.instance_id}").json()
    assert tenant["settings"]["exportOn"] == "approved"


def test_one_sites_instance_never_reaches_another_sites_import_orders_or_settings(
    devstack: Devstack, restaurant: Restaurant
) -> None:
    # Given the restaurant's menu import started by the admin API and an order sent to Square
    http = restaurant.http
    started = http.post(f"{devstack.gateway_url}/admin/tenants/{restaurant.instance_id}/catalog-imports", json={})
    job_id = started.json().get("jobId") or started.json().get("runningJobId")
    assert job_id, started.text
    order_id = restaurant.checkout([SOUP])["order"]["id"]
    restaurant.wait_mapping(order_id)
    # And another site, not connected, whose owner opens its page
    other = f"other-{uuid.uuid4().hex[:8]}"
    http.post(f"{devstack.wix_url}/_sandbox/instances", json={"instanceId": other}).raise_for_status()
    headers = {"Authorization": f"Instance {dashboard(devstack, http, other)['instance']}"}

    # When the other site's page asks for the restaurant's import by its id, its activity, its settings
    job = http.get(f"{devstack.gateway_url}/restaurant/catalog-imports/{job_id}", headers=headers)
    activity = http.get(f"{devstack.gateway_url}/restaurant/activity", headers=headers)
    settings = http.put(
        f"{devstack.gateway_url}/restaurant/settings", headers=headers, json={"exportOn": "created",
                                                                              "exportUnpaid": True}
    )  # fmt: skip
    # Then the job does not exist for it, its activity is its own (empty), and it has no settings to change
    assert job.status_code == 404 and restaurant.instance_id not in job.text
    assert activity.status_code == 200 and activity.json()["orders"] == [] and order_id not in activity.text
    assert settings.status_code == 409
    # While the restaurant's own page sees its job and its order
    own = {"Authorization": f"Instance {dashboard(devstack, http, restaurant.instance_id)['instance']}"}
    assert http.get(f"{devstack.gateway_url}/restaurant/catalog-imports/{job_id}", headers=own).status_code == 200
    orders = http.get(f"{devstack.gateway_url}/restaurant/activity", headers=own).json()["orders"]
    assert [o["wixOrderId"] for o in orders] == [order_id]
    assert "executionArn" not in http.get(f"{devstack.gateway_url}/restaurant/catalog-imports/{job_id}",
                                          headers=own).text  # fmt: skip
