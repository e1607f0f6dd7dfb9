"""Flow 4 end to end on the devstack: the admin API starts the catalog publish state machine (deployed from
template.yaml into moto, its tasks running the real handlers), which imports the Square sandbox's sample restaurant
into the Wix sandbox; the Wix sandbox's visibility journal checks every write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from devstack.app import Devstack
from posbridge.store.catalog_sync_state import CatalogSyncState
from tests.catalog_support import Restaurant, customer_view, entity_ids, import_catalog, make_deps, wait_for

EVENTS = Path(__file__).resolve().parents[2] / "events" / "catalog_publish"


class _NoSleep:
    """Step Functions Retry intervals sleep for real in moto: the tests skip the waiting, not the retrying."""

    @staticmethod
    def sleep(_seconds: float) -> None:
        return None


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(retrier_decl, "time", _NoSleep)
    yield


def _job(restaurant: Restaurant, job_id: str) -> dict[str, Any]:
    url = f"{restaurant.devstack.gateway_url}/admin/tenants/{restaurant.instance_id}/catalog-imports/{job_id}"
    return dict(restaurant.http.get(url).raise_for_status().json())


def _finished(restaurant: Restaurant, job_id: str) -> dict[str, Any]:
    return dict(wait_for(lambda: (j := _job(restaurant, job_id))["status"] != "running" and j, timeout_s=60))


def _start(restaurant: Restaurant, **options: Any) -> Any:
    url = f"{restaurant.devstack.gateway_url}/admin/tenants/{restaurant.instance_id}/catalog-imports"
    return restaurant.http.post(url, json=options)


def test_a_manual_execution_imports_the_sample_restaurant_and_a_second_start_is_refused(devstack: Devstack) -> None:
    # Given the sample restaurant on the POS, and the documented execution input (events/) naming this tenant
    restaurant = Restaurant.connect(devstack)
    assert devstack.stack is not None
    execution_input = json.loads((EVENTS / "execution_input.json").read_text())
    execution_input["instanceId"] = restaurant.instance_id
    # When an operator starts the state machine by hand, and someone asks the admin API for another import meanwhile
    job_id = f"manual-{restaurant.instance_id}"
    devstack.stack.client("stepfunctions").start_execution(
        stateMachineArn=devstack.stack.output("CatalogPublishStateMachineArn"),
        name=job_id,
        input=json.dumps(execution_input),
    )
    job_url = f"{devstack.gateway_url}/admin/tenants/{restaurant.instance_id}/catalog-imports/{job_id}"
    wait_for(lambda: restaurant.http.get(job_url).status_code == 200)
    second = _start(restaurant)
    # Then the second start is refused with a clear message naming the running import (unless it already finished)
    job = _finished(restaurant, job_id)
    if second.status_code == 409:
        assert job_id in second.json()["message"] and "already running" in second.json()["message"]
    else:
        assert second.status_code == 202  # the first import was faster than the request
        _finished(restaurant, second.json()["jobId"])
    # And the import succeeded: every planned entity done, nothing rejected, the menu live
    assert job["status"] == "succeeded" and job["step"] == "Done", job
    assert job["done"] == job["total"] == 33 and job["errorCount"] == 0
    state = restaurant.wix_state()
    assert state["visibilityViolations"] == []
    [menu] = customer_view(state).values()
    assert len(menu) == 4  # Starters, Mains, Desserts, Drinks
    # And the catalog sync starts where the snapshot was taken (it need not read the whole catalog first)
    assert job["snapshotAsOf"] and _sync_cursor(restaurant) == job["snapshotAsOf"]


def _sync_cursor(restaurant: Restaurant) -> str | None:
    stack = restaurant.devstack.stack
    assert stack is not None
    return CatalogSyncState(stack.output("MappingsTableName")).get(restaurant.instance_id).get("cursor")


def test_an_import_that_wix_fails_mid_way_changes_nothing_and_a_rerun_completes(devstack: Devstack) -> None:
    # Given a restaurant whose catalog is live on Wix
    restaurant = Restaurant.connect(devstack)
    import_catalog(make_deps(devstack), restaurant.instance_id)  # the steps run directly: quicker, same result
    before = restaurant.wix_state()
    cursor = _sync_cursor(restaurant)
    soup = next(o for o in restaurant.seed() if o["type"] == "ITEM" and o["item_data"]["name"] == "Tomato Soup")
    restaurant.set_price(soup["item_data"]["variations"][0]["id"], 575)  # the next snapshot is later
    # When Wix refuses every dish of the next import (more rejections than the import allows)
    restaurant.wix_fault(path="/restaurants/menus-item/v1/bulk/items/create", status=400, times=1000)
    try:
        failed = _finished(restaurant, _start(restaurant).json()["jobId"])
    finally:
        restaurant.clear_faults()
    # Then the import failed with the reason, rolled back: the live menu never changed, nothing new is left behind
    assert failed["status"] == "failed" and failed["rolledBack"] is True
    assert "too_many_rejections" in failed["reason"] and failed["step"] == "CreateItems"
    assert failed["errorCount"] == 11 and {e["code"] for e in failed["errors"]} == {"INVALID_ARGUMENT"}
    after = restaurant.wix_state()
    assert customer_view(after) == customer_view(before)
    assert entity_ids(after) == entity_ids(before)
    assert after["visibilityViolations"] == []
    assert cursor is not None and _sync_cursor(restaurant) == cursor  # the sync still starts from the live mapping
    # And a re-run completes
    rerun = _finished(restaurant, _start(restaurant).json()["jobId"])
    assert rerun["status"] == "succeeded"
    assert _sync_cursor(restaurant) == rerun["snapshotAsOf"] > cursor  # its snapshot has the new soup price
    final = restaurant.wix_state()
    assert final["visibilityViolations"] == [] and len(final["items"]) == 11


def test_the_admin_api_refuses_an_unknown_tenant_and_an_unknown_job(devstack: Devstack) -> None:
    restaurant = Restaurant.connect(devstack, seed=False)
    unknown = restaurant.http.post(f"{devstack.gateway_url}/admin/tenants/nobody-here/catalog-imports", json={})
    assert unknown.status_code == 404
    no_job = f"{devstack.gateway_url}/admin/tenants/{restaurant.instance_id}/catalog-imports/no-such-job"
    assert restaurant.http.get(no_job).status_code == 404
    bad = _start(restaurant, maxRejected=-1)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "maxRejected"]
    assert "maxRejected" in bad.json()["message"]


def test_the_first_steps_sample_event_is_accepted_by_its_function(devstack: Devstack) -> None:
    # Given events/catalog_publish/load_pos_catalog.json, pointed at a registered restaurant under a new job id
    assert devstack.stack is not None
    restaurant = Restaurant.connect(devstack)
    event = json.loads((EVENTS / "load_pos_catalog.json").read_text())
    event["jobId"] = f"sample-{restaurant.instance_id}"
    event["input"]["instanceId"] = restaurant.instance_id
    # When the function is invoked with it, as sam local invoke would
    payload, error = devstack.stack.invoke("LoadPosCatalogFunction", event)
    # Then it took the job and snapshotted the POS catalog; Rollback (invoked the same way) frees the tenant again
    assert error is None, payload
    assert payload["counts"]["items"] == 11 and payload["snapshotKey"].endswith("/snapshot.json")
    undone, error = devstack.stack.invoke("RollbackFunction", {"jobId": event["jobId"], "error": None})
    assert error is None and undone["status"] == "failed"
    assert _job(restaurant, event["jobId"])["status"] == "failed"
