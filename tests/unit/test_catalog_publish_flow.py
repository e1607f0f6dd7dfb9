"""Flow 4, the draft catalog publish (posbridge/flows/catalog_publish/), over in-memory fakes (tests/unit/
catalog_fakes.py): exactly once under lost replies and crashes, 429s waited out, Wix's per-entity 409 re-read,
and a rollback after Publish started that leaves the site as it was."""

from __future__ import annotations

import pytest

from posbridge.domain.catalog import Catalog, Item, Menu, Modifier, ModifierGroup, Section, Variation
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.domain.money import Money
from posbridge.errors import TransientError
from posbridge.flows import catalog_publish as flow
from tests.unit.catalog_fakes import STEPS, Fault, Shop, run_step
from tests.unit.pos_fakes import TENANT_ID, tenant

DISHES = ("Margherita", "Diavola", "Funghi")


def _usd(cents: int) -> Money:
    return Money.from_minor_units(cents, "USD")


def _catalog() -> Catalog:
    size = ModifierGroup(pos_id="g-size", name="Extras", modifiers=(Modifier(pos_id="m-olive", name="Olives"),))
    items = {
        name: Item(pos_id=name, name=name, variations=(Variation(pos_id=f"{name}-v", name="Regular", price=_usd(900)),),
                   modifier_group_ids=("g-size",))
        for name in DISHES
    }  # fmt: skip
    section = Section(pos_id="pizzas", name="Pizzas", item_ids=DISHES)
    return Catalog(
        menus=(Menu(pos_id="dinner", name="Dinner", sections=(section,)),),
        items=items,
        modifier_groups={"g-size": size},
        currency="USD",
        as_of="2026-01-01T10:00:00.000Z",
    )


@pytest.fixture
def shop() -> Shop:
    return Shop(tenant(), _catalog())


def _run(shop: Shop, job_id: str, steps: tuple[str, ...] = STEPS) -> None:
    deps = shop.deps()
    for name in steps:
        run_step(deps, name, job_id, TENANT_ID)


def _retried(shop: Shop, job_id: str, step: str) -> None:
    """The step fails once (TransientError), and Step Functions runs it again."""
    with pytest.raises(TransientError):
        run_step(shop.deps(), step, job_id, TENANT_ID)
    run_step(shop.deps(), step, job_id, TENANT_ID)


def test_an_import_builds_hidden_then_publishes_commits_the_mapping_and_frees_the_tenant(shop: Shop) -> None:
    # Given a restaurant whose Wix site has no menus yet
    # When its POS catalog is imported
    _run(shop, "job-1")
    # Then each dish exists once on Wix, its one menu is visible, and the mapping names every POS entity
    assert shop.wix.named("item") == sorted(DISHES)
    assert [m["visible"] for m in shop.wix.entities["menu"].values()] == [True]
    mapped = {(m.pos_kind, m.pos_id) for m in shop.mappings.load(TENANT_ID)}
    assert {("ITEM", d) for d in DISHES} | {("MODIFIER_GROUP", "g-size"), ("CATEGORY", "dinner")} <= mapped
    # And the job succeeded, the lock is free, and Flow 5 starts from the snapshot's POS time
    job = shop.jobs.get("job-1")
    assert job is not None and job.status == "succeeded" and shop.jobs.lock_holder(TENANT_ID) is None
    assert shop.cursors.cursors[TENANT_ID] == "2026-01-01T10:00:00.000Z"


def test_a_lost_reply_to_a_bulk_create_is_swept_before_the_batch_is_sent_again(shop: Shop) -> None:
    # Given Wix applying the items bulk create but its answer never arriving (a timeout)
    shop.wix.faults.append(Fault("bulk_create", "item", lost=True))
    # When the import runs (the step tries the batch again itself, after a backoff)
    _run(shop, "job-lost")
    # Then the orphans of the lost call were deleted before the resend: each dish exists once, and is mapped once
    assert [c for c in shop.wix.calls if c == ("bulk_create", "item")] == [("bulk_create", "item")] * 2
    assert shop.wix.named("item") == sorted(DISHES)
    assert shop.jobs.get("job-lost").status == "succeeded"  # type: ignore[union-attr]
    items = [m for m in shop.mappings.load(TENANT_ID) if m.pos_kind == "ITEM"]
    assert sorted(m.wix_id for m in items) == sorted(shop.wix.entities["item"])


def test_a_crash_between_a_batch_and_its_journal_entry_creates_nothing_twice(shop: Shop) -> None:
    # Given the process dying after Wix created the items but before their journal entry was written
    shop.blobs.fail_put = lambda key: "/journal/item/" in key
    job_id = "job-crash"
    _run(shop, job_id, STEPS[:7])
    # When CreateItems runs again
    _retried(shop, job_id, "CreateItems")
    _run(shop, job_id, STEPS[8:])
    # Then the in-flight batch was swept and sent once more: no duplicate dish on the site
    assert shop.wix.named("item") == sorted(DISHES)
    assert shop.jobs.get(job_id).status == "succeeded"  # type: ignore[union-attr]


def test_a_429_waits_for_wix_s_window_and_the_batch_is_not_in_doubt(shop: Shop) -> None:
    # Given Wix answering the first items bulk create 429 (the minute's budget spent)
    shop.wix.faults.append(Fault("bulk_create", "item", throttled=True))
    # When the import runs
    _run(shop, "job-429")
    # Then the step waited Wix's window once and sent the batch again: no doubt, no sweep, each dish once
    assert shop.sleeps == [flow.THROTTLED_WAIT_S]
    job = shop.jobs.get("job-429")
    assert job is not None and job.status == "succeeded" and not job.in_doubt
    assert shop.wix.named("item") == sorted(DISHES)


def test_a_menu_edited_on_wix_meanwhile_is_re_read_on_its_409_and_still_hidden_at_publish(shop: Shop) -> None:
    # Given a visible menu of an earlier import (mapped), edited on Wix after ResolveTarget read its revision
    old = shop.wix.add("menu", name="Old dinner", visible=True, businessLocationId="loc-1")
    shop.mappings.entries[TENANT_ID] = [
        CatalogMapping(pos_kind="CATEGORY", pos_id="old", wix_id=old["id"], wix_kind="menu", content_hash="h",
                       wix_entities=(f"menu/{old['id']}",))
    ]  # fmt: skip
    job_id = "job-409"
    _run(shop, job_id, STEPS[:10])
    old_menu = shop.wix.entities["menu"][old["id"]]
    old_menu["revision"] = str(int(old_menu["revision"]) + 1)  # someone renamed it in the Wix dashboard
    # When Publish hides it with the revision it read (Wix: 409 for that menu)
    _run(shop, job_id, ("Publish",))
    # Then Publish re-read it and hid it: the new menu is the only one shown
    assert [m["name"] for m in shop.wix.entities["menu"].values() if m.get("visible")] == ["Dinner"]
    assert shop.wix.calls.count(("bulk_update", "menu")) == 3  # show the new, hide the old (409), hide it again
    # And Cleanup deletes the old one
    _run(shop, job_id, ("Cleanup",))
    assert shop.jobs.get(job_id).status == "succeeded"  # type: ignore[union-attr]
    assert old["id"] not in shop.wix.entities["menu"]


def test_a_failure_after_publish_showed_the_new_menus_rolls_back_to_the_site_as_it_was(shop: Shop) -> None:
    # Given a visible menu of an earlier import with its mapping, and a mapping table failing at Publish's commit
    old = shop.wix.add("menu", name="Old dinner", visible=True, businessLocationId="loc-1")
    previous = [CatalogMapping(pos_kind="CATEGORY", pos_id="old", wix_id=old["id"], wix_kind="menu",
                               content_hash="h", wix_entities=(f"menu/{old['id']}",))]  # fmt: skip
    shop.mappings.entries[TENANT_ID] = list(previous)
    job_id = "job-rollback"
    _run(shop, job_id, STEPS[:10])
    shop.mappings.fail_replace = True
    # When Publish fails after its visibility switch, and the workflow's Catch runs Rollback
    with pytest.raises(TransientError):
        flow.publish(shop.deps(), job_id)
    flow.rollback(shop.deps(), job_id, {"Error": "TransientError", "Cause": "the mapping table is unavailable"})
    # Then every entity the job created is gone, the old menu is shown again and still mapped, the job failed
    assert shop.wix.named("item") == [] and shop.wix.named("section") == []
    assert [(m["name"], m["visible"]) for m in shop.wix.entities["menu"].values()] == [("Old dinner", True)]
    assert shop.mappings.load(TENANT_ID) == previous
    job = shop.jobs.get(job_id)
    assert job is not None and job.status == "failed" and shop.jobs.lock_holder(TENANT_ID) is None
