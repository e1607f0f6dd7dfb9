"""Flow 4's steps run directly (as the state machine runs them) against the devstack: moto's table and bucket, the
strict Wix sandbox with its visibility journal, and the Square sandbox with the sample restaurant catalog."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from devstack.app import Devstack
from posbridge.domain.catalog_job import ImportAlreadyRunning, ImportOptions
from posbridge.errors import PermanentError, TransientError
from posbridge.flows import catalog_publish as flow
from posbridge.ports.stores import BlobStore
from posbridge.store.catalog_mappings import CatalogMappings
from posbridge.store.catalog_sync_state import CatalogSyncState
from tests.catalog_support import (
    LateClock,
    Restaurant,
    Sabotage,
    SandboxWix,
    customer_view,
    entity_ids,
    import_catalog,
    make_deps,
    settings_of,
)
from tests.unit.catalog_fakes import STEPS, run_step

SOLD_OUT_VARIATION = "Slice"  # the seed's sold-out Tiramisu


@pytest.fixture
def restaurant(devstack: Devstack) -> Restaurant:
    return Restaurant.connect(devstack)


def _soup_cup(restaurant: Restaurant) -> str:
    soup = next(o for o in restaurant.seed() if o["type"] == "ITEM" and o["item_data"]["name"] == "Tomato Soup")
    return str(soup["item_data"]["variations"][0]["id"])


def _mapping_items(devstack: Devstack, instance_id: str) -> dict[str, dict[str, Any]]:
    assert devstack.stack is not None
    table = devstack.stack.client("dynamodb")
    items: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {
        "TableName": devstack.stack.output("MappingsTableName"),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :sk)",
        "ExpressionAttributeValues": {":pk": {"S": f"TENANT#{instance_id}"}, ":sk": {"S": "CATALOG#"}},
    }
    while True:
        page = table.query(**kwargs)
        items |= {i["SK"]["S"]: i for i in page["Items"]}
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_an_import_builds_the_menu_and_writes_the_mapping_contract(devstack: Devstack, restaurant: Restaurant) -> None:
    # Given the sample restaurant catalog on the POS
    deps = make_deps(devstack)
    # When every step runs once
    job_id = import_catalog(deps, restaurant.instance_id)
    # Then the job succeeded, the tenant is free, and customers see one menu of 4 sections, never a broken one
    job = deps.jobs.get(job_id)
    assert job is not None and job.status == "succeeded" and job.error_count == 0
    assert deps.jobs.lock_holder(restaurant.instance_id) is None
    state = restaurant.wix_state()
    assert state["visibilityViolations"] == [] and state["visibilityChecks"] > 0
    [menu] = [m for m in state["menus"] if m["visible"]]
    assert menu["name"] == "Dinner" and len(menu["sectionIds"]) == 4
    # And every POS variation maps to its Wix item, menu, section (and variant when the item has several)
    mapping = CatalogMappings(settings_of(deps).mappings_table).load(restaurant.instance_id)
    variations = {m.pos_id: m for m in mapping if m.pos_kind == "VARIANT"}
    items = {i["id"]: i for i in state["items"]}
    assert len(variations) == 16
    for m in variations.values():
        assert m.wix_item_id in items and m.wix_menu_id == menu["id"] and m.wix_section_id in menu["sectionIds"]
        assert m.content_hash and m.revision
        priced = items[m.wix_item_id].get("priceVariants")
        assert (m.wix_variant_id is not None) == (priced is not None)
        assert m.wix_id == (m.wix_variant_id or m.wix_item_id)
    # And the reverse keys name the POS ids
    raw = _mapping_items(devstack, restaurant.instance_id)
    assert raw[f"CATALOG#WIX#MENU#{menu['id']}"]["pos_kind"]["S"] == "CATEGORY"
    kinds = {m.pos_kind for m in mapping}
    assert kinds == {"CATEGORY", "ITEM", "VARIANT", "MODIFIER_GROUP", "MODIFIER"}
    # And the sold-out dish is out of stock, money is exact, a SINGLE modifier list allows one choice
    by_name = {i["name"]: i for i in state["items"]}
    assert by_name["Tiramisu"]["orderSettings"]["inStock"] is False
    assert by_name["Garlic Bread"]["orderSettings"]["inStock"] is True
    assert by_name["Garlic Bread"]["priceInfo"] == {"price": "6.50"}
    groups = {g["name"]: g for g in state["modifierGroups"]}
    assert groups["Crust"]["rule"]["maxSelections"] == 1
    assert [m.get("additionalChargeInfo") for m in groups["Crust"]["modifiers"]] == [
        None,
        {"additionalCharge": "2.50"},
    ]


def test_a_second_import_replaces_the_first_and_deletes_its_entities(
    devstack: Devstack, restaurant: Restaurant
) -> None:
    # Given a first import, then a price change on the POS
    deps = make_deps(devstack)
    import_catalog(deps, restaurant.instance_id)
    first = entity_ids(restaurant.wix_state())
    restaurant.set_price(_soup_cup(restaurant), 575)
    # When the catalog is imported again
    import_catalog(deps, restaurant.instance_id)
    # Then only the new entities exist (the old ones were deleted), the new price shows, no moment was broken
    state = restaurant.wix_state()
    after = entity_ids(state)
    assert all(not (after[kind] & first[kind]) for kind in after)
    assert {len(ids) for ids in (after["menus"], first["menus"])} == {1}
    soup = next(i for i in state["items"] if i["name"] == "Tomato Soup")
    assert soup["priceVariants"]["variants"][0]["priceInfo"]["price"] == "5.75"
    assert state["visibilityViolations"] == []


@pytest.fixture(scope="module")
def live_restaurant(devstack: Devstack) -> Restaurant:
    """A restaurant whose catalog is live on Wix (one import done): each failing import must leave it as it is."""
    restaurant = Restaurant.connect(devstack)
    import_catalog(make_deps(devstack), restaurant.instance_id)
    return restaurant


@pytest.mark.parametrize("failing_step", STEPS[:-1])
def test_a_failure_in_any_step_rolls_back_to_the_live_menu(
    devstack: Devstack, live_restaurant: Restaurant, failing_step: str
) -> None:
    # Given a live menu from an earlier import, and the mapping that describes it
    restaurant = live_restaurant
    deps = make_deps(devstack)
    before = restaurant.wix_state()
    mapping_before = CatalogMappings(settings_of(deps).mappings_table).load(restaurant.instance_id)
    violations_before = len(before["visibilityViolations"])
    cursor_before = _cursor(deps, restaurant)
    restaurant.set_price(_soup_cup(restaurant), 600 + STEPS.index(failing_step))  # the new snapshot is later
    # When a new import fails in `failing_step`: its last Wix write is applied but the answer is lost (or, for steps
    # that only read or do not call Wix, the step dies half-way)
    job_id = f"fail-{failing_step.lower()}-{restaurant.instance_id[-6:]}"
    index = STEPS.index(failing_step)
    import_catalog(deps, restaurant.instance_id, job_id, STEPS[:index])
    failing = make_deps(
        devstack, wix=SandboxWix(settings_of(deps), sabotage=_sabotage_for(failing_step)), create_attempts=1
    )
    if failing_step in ("LoadPosCatalog", "CreateDraft"):
        failing.blobs = _BrokenBlobs(failing.blobs)
    with pytest.raises(TransientError, match="injected"):
        run_step(failing, failing_step, job_id, restaurant.instance_id)
    # And (its retries spent) Catch runs Rollback
    outcome = flow.rollback(deps, job_id, {"Error": "TransientError", "Cause": '{"errorMessage": "injected"}'})
    # Then the job failed with the reason, the tenant is free again
    job = deps.jobs.get(job_id)
    assert job is not None and job.status == "failed" and failing_step in (job.reason or "")
    assert outcome["status"] == "failed"
    assert deps.jobs.lock_holder(restaurant.instance_id) is None
    # And customers see exactly the menu they saw before, at no moment anything broken, no entity of the failed
    # import is left, and the mapping is as it was
    after = restaurant.wix_state()
    assert customer_view(after) == customer_view(before)
    assert len(after["visibilityViolations"]) == violations_before == 0
    assert entity_ids(after) == entity_ids(before)
    mapping_after = CatalogMappings(settings_of(deps).mappings_table).load(restaurant.instance_id)
    key = lambda m: (m.pos_kind, m.pos_id)  # noqa: E731
    assert sorted(mapping_after, key=key) == sorted(mapping_before, key=key)
    # And the catalog sync's cursor still describes that mapping (the change above is still ahead of it)
    assert cursor_before is not None and _cursor(deps, restaurant) == cursor_before


def _cursor(deps: flow.Deps, restaurant: Restaurant) -> str | None:
    return CatalogSyncState(settings_of(deps).mappings_table).get(restaurant.instance_id).get("cursor")


def _pos_latest_time(restaurant: Restaurant) -> str:
    answer = restaurant.http.post(
        f"{restaurant.devstack.pos_url}/v2/catalog/search",
        json={"object_types": ["ITEM"], "limit": 1},
        headers={"Authorization": f"Bearer {restaurant.token}", "Square-Version": "2025-10-16"},
    )
    return str(answer.raise_for_status().json()["latest_time"])


def test_publish_starts_the_sync_at_the_snapshot_once_and_never_moves_a_later_cursor_back(
    devstack: Devstack, restaurant: Restaurant
) -> None:
    # Given an import built up to Publish; the POS catalog's time when its snapshot was taken; a later POS edit
    deps = make_deps(devstack)
    snapshot_time = _pos_latest_time(restaurant)
    job_id = import_catalog(deps, restaurant.instance_id, steps=STEPS[: STEPS.index("Publish")])
    restaurant.set_price(_soup_cup(restaurant), 590)
    assert _cursor(deps, restaurant) is None  # nothing is committed before Publish
    # When Publish runs, and runs again (a retry after its answer was lost)
    run_step(deps, "Publish", job_id, restaurant.instance_id)
    first = _cursor(deps, restaurant)
    run_step(deps, "Publish", job_id, restaurant.instance_id)
    run_step(deps, "Cleanup", job_id, restaurant.instance_id)
    # Then the cursor is the snapshot's POS time, not the later edit's, and the retry left it there
    assert first == snapshot_time < _pos_latest_time(restaurant)
    assert _cursor(deps, restaurant) == snapshot_time
    # And when a sync has since recorded a later cursor, a new import (of an older snapshot) does not move it back
    later = "2099-01-01T00:00:00.000Z"
    CatalogSyncState(settings_of(deps).mappings_table).advance(restaurant.instance_id, later)
    import_catalog(deps, restaurant.instance_id)
    assert _cursor(deps, restaurant) == later


def _sabotage_for(step: str) -> Sabotage:
    writes = {
        "CreateVariants": "/bulk/variants/create",
        "CreateModifiers": "/bulk/modifiers/create",
        "CreateModifierGroups": "/bulk/modifier-groups/create",
        "CreateItems": "/bulk/items/create",
        "CreateSections": "/bulk/sections/create",
        "CreateMenus": "/bulk/menus/create",
    }
    if step in writes:
        return Sabotage(lambda _m, path: path.endswith(writes[step]), lost_answer=True)
    if step == "Publish":  # the switch: new menus shown, then the old hide is lost half-way
        return Sabotage(lambda _m, path: path.endswith("/bulk/menus/update"), nth=2, lost_answer=True)
    if step == "ResolveLocation":
        return Sabotage(lambda _m, path: path.startswith("/locations/"))
    if step == "ResolveTarget":
        return Sabotage(lambda _m, path: path.endswith("/menus/query"))
    return Sabotage(lambda _m, _p: False)


class _BrokenBlobs:
    """S3 that stops accepting writes (the step dies after reading what it needs)."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner

    def put_json(self, key: str, value: Any) -> None:
        raise TransientError("injected: S3 unavailable")

    def get_json(self, key: str) -> Any | None:
        return self.inner.get_json(key)

    def list_keys(self, prefix: str) -> list[str]:
        return self.inner.list_keys(prefix)


@pytest.mark.parametrize("step", ["CreateVariants", "CreateItems", "CreateMenus"])
def test_a_batch_retried_after_a_lost_answer_leaves_no_duplicate(
    devstack: Devstack, restaurant: Restaurant, step: str
) -> None:
    # Given an import whose bulk create in `step` reached Wix but whose answer was lost
    deps = make_deps(devstack)
    job_id = f"dup-{step.lower()}-{restaurant.instance_id[-6:]}"
    index = STEPS.index(step)
    import_catalog(deps, restaurant.instance_id, job_id, STEPS[:index])
    flaky = make_deps(devstack, wix=SandboxWix(settings_of(deps), sabotage=_sabotage_for(step)), create_attempts=1)
    with pytest.raises(TransientError):
        run_step(flaky, step, job_id, restaurant.instance_id)
    # When Step Functions retries the step and the import goes on
    import_catalog(deps, restaurant.instance_id, job_id, STEPS[index:])
    # Then every entity exists once: as many as the plan has, all of them used by the published menu
    state = restaurant.wix_state()
    job = deps.jobs.get(job_id)
    assert job is not None and job.status == "succeeded" and job.in_doubt
    expected = {"variants": 10, "modifiers": 5, "modifierGroups": 2, "items": 11, "sections": 4, "menus": 1}
    assert {kind: len(state[kind]) for kind in expected} == expected
    assert state["visibilityViolations"] == []


def test_a_timed_out_bulk_create_that_wix_still_applies_leaves_no_duplicate(
    devstack: Devstack, restaurant: Restaurant
) -> None:
    # Given Wix answering the items bulk create later than the client waits (it applies it anyway)
    settings = settings_of(make_deps(devstack))
    deps = make_deps(devstack, wix=SandboxWix(settings, timeout_s=0.2))
    restaurant.wix_fault(path="/restaurants/menus-item/v1/bulk/items/create", status=None, delayMs=400, times=1)
    try:
        # When the import runs (the step sweeps, sends again, and Publish sweeps once more)
        job_id = import_catalog(deps, restaurant.instance_id, steps=STEPS[:8])
        time.sleep(0.4)  # the slow request lands after the retry: only the pre-Publish sweep can catch it
        import_catalog(deps, restaurant.instance_id, job_id, STEPS[8:])
    finally:
        restaurant.clear_faults()
    # Then the site has each item once
    state = restaurant.wix_state()
    names = [i["name"] for i in state["items"]]
    assert len(names) == len(set(names)) == 11
    assert state["visibilityViolations"] == []


def test_two_imports_for_one_tenant_never_run_at_once(devstack: Devstack, restaurant: Restaurant) -> None:
    # Given two operators starting an import for the same restaurant at the same moment
    deps = make_deps(devstack)
    started: list[str] = []
    refused: list[ImportAlreadyRunning] = []

    class Executions:
        def start(self, name: str, execution_input: dict[str, Any]) -> str:
            return f"arn:aws:states:us-east-1:123456789012:execution:test:{name}"

        def status(self, execution_arn: str) -> str:
            return "RUNNING"

        def stop(self, execution_arn: str, cause: str) -> None:
            return None

    barrier = threading.Barrier(2)

    def start() -> None:
        barrier.wait()
        try:
            started.append(
                flow.start_import(deps.tenants, deps.jobs, Executions(), restaurant.instance_id, ImportOptions()).job_id
            )
        except ImportAlreadyRunning as exc:
            refused.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then one starts and the other is refused with a message naming the running job
    assert len(started) == 1 and len(refused) == 1
    assert started[0] in str(refused[0]) and "already running" in str(refused[0])
    # And a manual execution started meanwhile is refused too, its job recorded as failed with the reason
    with pytest.raises(PermanentError, match="already running"):
        flow.load_pos_catalog(deps, "manual-run-1", {"instanceId": restaurant.instance_id})
    manual = deps.jobs.get("manual-run-1")
    assert manual is not None and manual.status == "failed"
    assert flow.rollback(deps, "manual-run-1", None)["status"] == "failed"
    assert deps.jobs.lock_holder(restaurant.instance_id) == started[0]


def test_a_stuck_job_is_healed_by_the_health_check(devstack: Devstack, restaurant: Restaurant) -> None:
    # Given an import that went silent after creating its items (its Lambda died, its execution still "running")
    deps = make_deps(devstack)
    job_id = import_catalog(deps, restaurant.instance_id, steps=STEPS[:8])
    assert len(restaurant.wix_state()["items"]) == 11
    stopped: list[str] = []

    class Executions:
        def start(self, name: str, execution_input: dict[str, Any]) -> str:
            raise AssertionError("not started here")

        def status(self, execution_arn: str) -> str:
            return "RUNNING"

        def stop(self, execution_arn: str, cause: str) -> None:
            stopped.append(execution_arn)

    deps.jobs.save(_with_arn(deps, job_id))
    # When the scheduled health check runs before the threshold, then after it
    assert job_id not in [h["jobId"] for h in flow.heal_stuck_jobs(deps, Executions(), stale_after_s=900)]
    late = make_deps(devstack, clock=LateClock(timedelta(minutes=20)))
    healed = flow.heal_stuck_jobs(late, Executions(), stale_after_s=900)
    # Then the job is failed with the reason, its execution stopped, what it created deleted, the tenant free
    assert job_id in [h["jobId"] for h in healed]
    job = deps.jobs.get(job_id)
    assert job is not None and job.status == "failed" and "no heartbeat" in (job.reason or "") and job.rolled_back
    assert job.execution_arn in stopped
    assert all(not restaurant.wix_state()[kind] for kind in ("items", "variants", "modifiers"))
    assert deps.jobs.lock_holder(restaurant.instance_id) is None
    # And a new import runs through
    new_job = import_catalog(deps, restaurant.instance_id)
    assert (deps.jobs.get(new_job) or job).status == "succeeded"


def _with_arn(deps: flow.Deps, job_id: str) -> Any:
    job = deps.jobs.get(job_id)
    assert job is not None
    job.execution_arn = f"arn:aws:states:us-east-1:123456789012:execution:test:{job_id}"
    return job


def test_an_oversized_section_is_split(devstack: Devstack) -> None:
    # Given a POS catalog without menu categories: 301 dishes in "Pizzas" (Wix allows 300 items per section)
    restaurant = Restaurant.connect(devstack, seed=False)
    objects: list[dict[str, Any]] = [{"type": "CATEGORY", "id": "#pizzas", "category_data": {"name": "Pizzas"}}]
    for n in range(301):
        objects.append(
            {
                "type": "ITEM",
                "id": f"#pizza-{n}",
                "item_data": {
                    "name": f"Pizza {n}",
                    "categories": [{"id": "#pizzas", "ordinal": n}],
                    "variations": [
                        {
                            "type": "ITEM_VARIATION",
                            "id": f"#pizza-{n}-v",
                            "item_variation_data": {
                                "name": "Regular",
                                "pricing_type": "FIXED_PRICING",
                                "price_money": {"amount": 1000 + n, "currency": "USD"},
                            },
                        }
                    ],
                },
            }
        )
    restaurant.upsert(objects)
    deps = make_deps(devstack, budget_s=0.0)  # also: every batch in its own invocation, as after a timeout
    # When it is imported
    job_id = import_catalog(deps, restaurant.instance_id)
    # Then one menu ("Menu") holds "Pizzas" and "Pizzas (2)", 300 + 1 items, and nothing was ever broken
    state = restaurant.wix_state()
    [menu] = [m for m in state["menus"] if m["visible"]]
    sections = {s["id"]: s for s in state["sections"]}
    assert menu["name"] == "Menu"
    assert [(sections[s]["name"], len(sections[s]["itemIds"])) for s in menu["sectionIds"]] == [
        ("Pizzas", 300),
        ("Pizzas (2)", 1),
    ]
    assert state["visibilityViolations"] == []
    job = deps.jobs.get(job_id)
    assert job is not None and job.issues_count == 1  # the split is reported
    assert job.progress["item"].done == 301


def test_a_throttled_bulk_create_waits_for_the_next_window_and_is_not_in_doubt(
    devstack: Devstack, restaurant: Restaurant
) -> None:
    # Given Wix answering 429 to the first items bulk create (the minute's budget is spent)
    waits: list[float] = []
    deps = make_deps(devstack, sleep=waits.append)
    restaurant.wix_fault(path="/restaurants/menus-item/v1/bulk/items/create", status=429, times=1)
    try:
        # When the import runs
        job_id = import_catalog(deps, restaurant.instance_id)
    finally:
        restaurant.clear_faults()
    # Then the step backed off for Wix's window and sent the batch again: no doubt, no sweep, each dish once
    assert waits == [flow.THROTTLED_WAIT_S]
    job = deps.jobs.get(job_id)
    assert job is not None and job.status == "succeeded" and not job.in_doubt
    assert len(restaurant.wix_state()["items"]) == 11


def test_a_cleanup_that_fails_keeps_the_new_menu_and_the_next_import_removes_the_leftovers(
    devstack: Devstack, restaurant: Restaurant
) -> None:
    # Given a live catalog, and a second import that published but whose Cleanup cannot delete anything
    deps = make_deps(devstack)
    import_catalog(deps, restaurant.instance_id)
    first = entity_ids(restaurant.wix_state())
    job_id = import_catalog(deps, restaurant.instance_id, steps=STEPS[:-1])
    broken = make_deps(devstack, wix=SandboxWix(settings_of(deps), sabotage=Sabotage(lambda m, _p: m == "DELETE")))
    with pytest.raises(TransientError, match="injected"):
        run_step(broken, "Cleanup", job_id, restaurant.instance_id)
    # When Catch runs Rollback
    outcome = flow.rollback(deps, job_id, {"Error": "TransientError", "Cause": '{"errorMessage": "injected"}'})
    # Then nothing is undone: the new menu is live and mapped, the job succeeded with a warning, the tenant is free
    job = deps.jobs.get(job_id)
    assert outcome["status"] == "succeeded" and job is not None and job.status == "succeeded"
    assert any("cleanup incomplete" in w for w in job.warnings)
    second = restaurant.wix_state()
    [live] = [m["id"] for m in second["menus"] if m["visible"]]
    assert live not in first["menus"] and second["visibilityViolations"] == []
    # And the next import deletes what the failed Cleanup left, with its own old entities
    import_catalog(deps, restaurant.instance_id)
    third = entity_ids(restaurant.wix_state())
    assert all(not (third[k] & first[k]) and live not in third["menus"] for k in third)
    assert len(third["items"]) == 11 and restaurant.wix_state()["visibilityViolations"] == []


def _import_with_layout(deps: flow.Deps, instance_id: str, job_id: str, names: tuple[str, str]) -> None:
    options = {"menuName": names[0], "uncategorizedName": names[1]}
    flow.load_pos_catalog(deps, job_id, {"instanceId": instance_id, "options": options})
    for step in STEPS[1 : STEPS.index("Publish")]:
        run_step(deps, step, job_id, instance_id)


@pytest.mark.parametrize("earlier", [("Our Menu", "Extras"), None])
def test_a_rollback_after_publish_wrote_the_mapping_restores_the_layout_names_too(
    devstack: Devstack, earlier: tuple[str, str] | None
) -> None:
    # Given a restaurant whose last published import named its menu and uncategorized section (or that has none yet)
    restaurant = Restaurant.connect(devstack)
    deps = make_deps(devstack)
    mappings = CatalogMappings(settings_of(deps).mappings_table)
    if earlier is not None:
        _import_with_layout(deps, restaurant.instance_id, f"first-{restaurant.instance_id}", earlier)
        run_step(deps, "Publish", f"first-{restaurant.instance_id}", restaurant.instance_id)
        run_step(deps, "Cleanup", f"first-{restaurant.instance_id}", restaurant.instance_id)
    assert mappings.layout(restaurant.instance_id) == earlier
    mapping_before = mappings.load(restaurant.instance_id)
    cursor_before = _cursor(deps, restaurant)
    assert (cursor_before is not None) == (earlier is not None)
    restaurant.set_price(_soup_cup(restaurant), 610)  # so the next snapshot is later than the cursor
    # When an import with other names fails in Publish after it wrote the mapping and its names (S3 then refuses
    # the write that follows), and Rollback runs
    job_id = f"renamed-{restaurant.instance_id}"
    _import_with_layout(deps, restaurant.instance_id, job_id, ("Brunch", "Odds and ends"))
    failing = make_deps(devstack)
    failing.blobs = _BrokenBlobs(failing.blobs)
    with pytest.raises(TransientError, match="injected"):
        run_step(failing, "Publish", job_id, restaurant.instance_id)
    assert mappings.layout(restaurant.instance_id) == ("Brunch", "Odds and ends")  # written before the failure
    outcome = flow.rollback(deps, job_id, {"Error": "TransientError", "Cause": '{"errorMessage": "injected"}'})
    # Then the mapping and the layout names are the previous ones again (none, when there were none)
    assert outcome["status"] == "failed"
    assert mappings.layout(restaurant.instance_id) == earlier
    key = lambda m: (m.pos_kind, m.pos_id)  # noqa: E731
    assert sorted(mappings.load(restaurant.instance_id), key=key) == sorted(mapping_before, key=key)
    # And the catalog sync's cursor is as it was (none, when there was none): it never ran ahead of the mapping
    assert _cursor(deps, restaurant) == cursor_before
