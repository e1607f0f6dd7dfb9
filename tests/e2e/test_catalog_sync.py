"""Flow 5 on the devstack: after a catalog import, POS catalog edits reach the Wix sandbox through the incremental
sync, touching only what changed (the Wix sandbox's `calls` counters count every request)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devstack.app import Devstack
from posbridge.domain.catalog import LayoutOptions
from posbridge.errors import TransientError
from posbridge.flows import catalog_publish
from posbridge.flows.catalog_sync import SyncDeferred, SyncPorts, SyncResult, sync_catalog
from posbridge.store.catalog_sync_state import CatalogSyncState
from tests.catalog_support import Restaurant, import_catalog, make_deps, wait_for
from tests.unit.catalog_fakes import STEPS, run_step

WRITE_ROUTES = ("/bulk/", "DELETE ")


def sync_ports(
    deps: catalog_publish.Deps, state: CatalogSyncState, start_publish: Callable[[str], str], **overrides: Any
) -> SyncPorts:
    """The catalog sync's ports over the catalog publish's dependencies (the devstack's table and sandboxes)."""
    return SyncPorts(
        tenants=deps.tenants,
        catalogs=deps.catalogs,
        mappings=deps.mappings,
        locks=deps.jobs,
        state=state,
        wix=deps.wix,
        start_publish=start_publish,
        **overrides,
    )


class Synced:
    """A restaurant whose sample catalog was imported (`during_import` runs right after its snapshot was taken), with
    the sync's ports on the devstack. No sync has run yet."""

    def __init__(
        self,
        devstack: Devstack,
        during_import: Callable[[Synced], None] | None = None,
        before_import: Callable[[Synced], None] | None = None,
        **overrides: Any,
    ) -> None:
        self.restaurant = Restaurant.connect(devstack)
        self.objects = {o.get("item_data", o.get("category_data", {})).get("name"): o for o in self.restaurant.seed()}
        if before_import is not None:
            before_import(self)
        self.deps = make_deps(devstack)
        job_id = import_catalog(self.deps, self.restaurant.instance_id, steps=STEPS[:1])  # LoadPosCatalog
        if during_import is not None:
            during_import(self)
        import_catalog(self.deps, self.restaurant.instance_id, job_id, STEPS[1:])
        assert devstack.stack is not None
        self.state = CatalogSyncState(devstack.stack.output("MappingsTableName"))
        self.published: list[str] = []
        self.ports = sync_ports(
            self.deps,
            self.state,
            lambda instance_id: self.published.append(instance_id) or "job-x",  # type: ignore[func-returns-value]
            **overrides,
        )
        self.cursor = self.state.get(self.restaurant.instance_id).get("cursor")  # where the import left it

    def sync(self, full: bool = False) -> SyncResult:
        return sync_catalog(self.ports, self.restaurant.instance_id, full=full)

    def variation(self, item: str, n: int = 0) -> str:
        return str(self.objects[item]["item_data"]["variations"][n]["id"])

    def wix_item(self, name: str) -> dict[str, Any]:
        return next(i for i in self.restaurant.wix_state()["items"] if i["name"] == name)

    def writes(self) -> Counter[str]:
        calls = self.restaurant.wix_state()["calls"]
        return Counter({k: v for k, v in calls.items() if any(w in k for w in WRITE_ROUTES)})

    def delete_on_pos(self, object_id: str) -> None:
        r = self.restaurant
        r.http.post(
            f"{r.devstack.pos_url}/v2/catalog/batch-delete",
            json={"object_ids": [object_id]},
            headers={"Authorization": f"Bearer {r.token}", "Square-Version": "2025-10-16"},
        ).raise_for_status()

    def pos_reads(self) -> Counter[str]:
        return Counter(self._pos_state()["calls"])

    def pos_catalog(self) -> list[dict[str, Any]]:
        return list(self._pos_state()["catalog"])

    def _pos_state(self) -> dict[str, Any]:
        r = self.restaurant
        return dict(r.http.get(f"{r.devstack.pos_url}/_sandbox/merchants/{r.merchant_id}/state").json())

    def edit_on_pos(self, name: str, **item_data: Any) -> None:
        """The seller changes an item's own fields (Square BatchUpsertCatalogObjects with its current version)."""
        current = next(o for o in self.pos_catalog() if o["id"] == self.objects[name]["id"])
        data = {**current["item_data"], **item_data}
        data["variations"] = [
            o
            for o in self.pos_catalog()
            if o["type"] == "ITEM_VARIATION" and o["item_variation_data"]["item_id"] == current["id"]
            and not o["is_deleted"]
        ]  # fmt: skip
        self.restaurant.upsert([{**current, "item_data": data}])

    def count(self, variation_id: str, quantity: int) -> None:
        """The seller records a stock count (the sandbox sends inventory.count.updated)."""
        r = self.restaurant
        url = f"{r.devstack.pos_url}/_sandbox/merchants/{r.merchant_id}/inventory"
        r.http.post(url, json={"variationId": variation_id, "quantity": quantity}).raise_for_status()

    def control(self, path: str, body: dict[str, Any]) -> None:
        r = self.restaurant
        url = f"{r.devstack.pos_url}/_sandbox/merchants/{r.merchant_id}/catalog/{path}"
        r.http.post(url, json=body).raise_for_status()


@pytest.fixture
def synced(devstack: Devstack) -> Synced:
    return Synced(devstack)


def test_an_import_leaves_the_sync_cursor_at_its_snapshot_so_the_first_sync_reads_nothing_more(
    synced: Synced,
) -> None:
    # Given a freshly imported catalog: the import set the tenant's cursor to its snapshot's POS time
    assert synced.cursor
    before, reads = synced.writes(), synced.pos_reads()
    # When the first sync runs with nothing changed on the POS
    first = synced.sync()
    # Then it asks the POS what changed (one catalog search, one inventory count read), reads no catalog, touches
    # nothing on Wix, keeps the cursor
    assert first.outcome == "up_to_date" and first.wix_calls == 0, first
    assert synced.pos_reads() - reads == Counter({"POST /v2/catalog/search": 1,
                                                  "POST /v2/inventory/counts/batch-retrieve": 1})  # fmt: skip
    assert synced.writes() == before
    assert synced.state.get(synced.restaurant.instance_id)["cursor"] == synced.cursor


def test_a_pos_edit_made_while_the_import_runs_reaches_wix_at_the_next_sync(devstack: Devstack) -> None:
    # Given an import whose snapshot was taken before the POS changed the cheeseburger's price (13.50 -> 15.99)
    def edit(s: Synced) -> None:
        s.restaurant.set_price(s.variation("Cheeseburger"), 1599)

    synced = Synced(devstack, during_import=edit)
    assert synced.wix_item("Cheeseburger")["priceInfo"]["price"] == "13.50"  # published from the snapshot
    before = synced.writes()
    # When the next sync runs
    result = synced.sync()
    # Then it finds the edit among the changes since the snapshot and writes it in one call
    assert result.outcome == "synced" and result.read == "changes", result
    assert result.changes == {"update:item": 1} and result.wix_calls == 1
    assert synced.writes() - before == Counter({"POST /restaurants/menus-item/v1/bulk/items/update": 1})
    assert synced.wix_item("Cheeseburger")["priceInfo"]["price"] == "15.99"
    assert synced.sync().outcome == "up_to_date"


def test_a_price_change_is_one_bulk_update_call(synced: Synced) -> None:
    # Given the cheeseburger at 13.50 on Wix, just imported (no sync has run since)
    before = synced.writes()
    reads = synced.pos_reads()
    # When the POS changes its price
    synced.restaurant.set_price(synced.variation("Cheeseburger"), 1475)
    result = synced.sync()
    # Then exactly one Wix call updated the item's price, and a second sync is a no-op
    assert result.outcome == "synced", result
    assert result.changes == {"update:item": 1}
    assert result.wix_calls == 1
    assert synced.writes() - before == Counter({"POST /restaurants/menus-item/v1/bulk/items/update": 1})
    assert synced.wix_item("Cheeseburger")["priceInfo"]["price"] == "14.75"
    assert synced.sync().outcome == "up_to_date"
    # And only what changed was read: the changes (catalog and counts, once per sync), then that item (not the whole
    # POS catalog, nor the whole mapping); it tracks no inventory, so no count of it is read
    assert result.read == "changes"
    assert synced.pos_reads() - reads == Counter({"POST /v2/catalog/search": 2, "POST /v2/catalog/batch-retrieve": 1,
                                                  "POST /v2/inventory/counts/batch-retrieve": 2})  # fmt: skip


def test_a_price_change_on_an_item_with_several_prices_is_one_call_on_the_item(synced: Synced) -> None:
    # Given the Caesar salad in two sizes (Small 7.00, Large 11.00): a Wix item with two variants
    before = synced.writes()
    # When the POS changes the large size's price
    synced.restaurant.set_price(synced.variation("Caesar Salad", 1), 1250)
    result = synced.sync()
    # Then one call rewrote the item's price variants; the variants (which hold only their names) were left alone
    assert result.outcome == "synced" and result.read == "changes", result
    assert result.changes == {"update:item": 1} and result.wix_calls == 1
    assert synced.writes() - before == Counter({"POST /restaurants/menus-item/v1/bulk/items/update": 1})
    prices = [v["priceInfo"]["price"] for v in synced.wix_item("Caesar Salad")["priceVariants"]["variants"]]
    assert prices == ["7.00", "12.50"]
    # And renaming that size rewrites its variant only
    synced.control("rename", {"objectId": synced.variation("Caesar Salad", 1), "name": "Sharing"})
    renamed = synced.sync()
    assert renamed.changes == {"update:variant": 1} and renamed.wix_calls == 1, renamed
    assert "Sharing" in {v["name"] for v in synced.restaurant.wix_state()["variants"]}
    assert synced.sync().outcome == "up_to_date"


def test_a_rename_is_one_call_and_leaves_the_section_alone(synced: Synced) -> None:
    # Given the salmon listed in Mains, between other dishes
    mains = next(s for s in synced.restaurant.wix_state()["sections"] if s["name"] == "Mains")
    before = synced.writes()
    # When the POS renames it (which also moves it to the end of Square's listing order)
    synced.control("rename", {"objectId": synced.objects["Grilled Salmon"]["id"], "name": "Wild Salmon"})
    result = synced.sync()
    # Then one call renamed the item; the section kept its order and was not written
    assert result.outcome == "synced" and result.read == "changes", result
    assert result.changes == {"update:item": 1} and result.wix_calls == 1
    assert synced.writes() - before == Counter({"POST /restaurants/menus-item/v1/bulk/items/update": 1})
    state = synced.restaurant.wix_state()
    assert next(s for s in state["sections"] if s["id"] == mains["id"])["itemIds"] == mains["itemIds"]
    assert any(i["name"] == "Wild Salmon" for i in state["items"])


def test_a_size_added_then_removed_on_the_pos_is_synced_from_the_changes_alone(synced: Synced) -> None:
    # Given lemonade in two sizes on Wix
    lemonade = synced.objects["Lemonade"]["id"]
    # When the POS adds a third size
    synced.restaurant.upsert([{"type": "ITEM_VARIATION", "id": "#lemonade-xl", "item_variation_data": {
        "item_id": lemonade, "name": "Jug", "ordinal": 5, "pricing_type": "FIXED_PRICING",
        "price_money": {"amount": 900, "currency": "USD"}}}])  # fmt: skip
    added = synced.sync()
    # Then its variant is created and the item lists it, reading only what changed
    assert added.outcome == "synced" and added.read == "changes", added
    assert added.changes == {"create:variant": 1, "update:item": 1}
    jug = next(v for v in synced.restaurant.wix_state()["variants"] if v["name"] == "Jug")
    listed = synced.wix_item("Lemonade")["priceVariants"]["variants"]
    assert [v["priceInfo"]["price"] for v in listed] == ["3.50", "4.50", "9.00"] and listed[2]["variantId"] == jug["id"]
    # When the POS deletes that size again
    jug_pos = next(o["id"] for o in synced.pos_catalog() if o.get("item_variation_data", {}).get("name") == "Jug")
    synced.delete_on_pos(jug_pos)
    removed = synced.sync()
    # Then the item stops listing it first, then the variant is deleted
    assert removed.outcome == "synced" and removed.read == "changes", removed
    assert removed.changes == {"update:item": 1, "delete:variant": 1}
    assert len(synced.wix_item("Lemonade")["priceVariants"]["variants"]) == 2
    assert all(v["id"] != jug["id"] for v in synced.restaurant.wix_state()["variants"])
    assert synced.sync().outcome == "up_to_date"


def test_sold_out_round_trip_flips_in_stock_within_one_sync(synced: Synced) -> None:
    # Given the salmon in stock on Wix
    assert synced.wix_item("Grilled Salmon")["orderSettings"]["inStock"] is True
    # When the POS marks it sold out, then back in stock, with a sync after each
    synced.control("sold-out", {"variationId": synced.variation("Grilled Salmon"), "soldOut": True})
    first = synced.sync()
    out = synced.wix_item("Grilled Salmon")["orderSettings"]["inStock"]
    synced.control("sold-out", {"variationId": synced.variation("Grilled Salmon"), "soldOut": False})
    second = synced.sync()
    # Then each sync flipped orderSettings.inStock with one call
    assert out is False and synced.wix_item("Grilled Salmon")["orderSettings"]["inStock"] is True
    assert first.wix_calls == 1 and second.wix_calls == 1


def test_a_rename_and_a_new_item_in_a_category_reach_wix(synced: Synced) -> None:
    # When the POS renames an item and adds one to Desserts
    synced.control("rename", {"objectId": synced.objects["Tiramisu"]["id"], "name": "Tiramisu classico"})
    desserts = synced.objects["Desserts"]["id"]
    synced.restaurant.upsert([
        {"type": "ITEM", "id": "#panna", "item_data": {
            "name": "Panna Cotta", "categories": [{"id": desserts}],
            "variations": [{"type": "ITEM_VARIATION", "id": "#panna-r", "item_variation_data": {
                "item_id": "#panna", "name": "Regular", "pricing_type": "FIXED_PRICING",
                "price_money": {"amount": 650, "currency": "USD"}}}]}},
    ])  # fmt: skip
    result = synced.sync()
    # Then: one item create, one item update, one section update
    assert result.outcome == "synced", result
    assert result.changes == {"create:item": 1, "update:item": 1, "update:section": 1}
    assert result.wix_calls == 3
    assert result.read == "catalog"  # a new item changes its section's list: only the whole catalog tells it
    state = synced.restaurant.wix_state()
    panna = next(i for i in state["items"] if i["name"] == "Panna Cotta")
    section = next(s for s in state["sections"] if s["name"] == "Desserts")
    assert panna["id"] in section["itemIds"] and panna["priceInfo"]["price"] == "6.50"
    assert any(i["name"] == "Tiramisu classico" for i in state["items"])
    assert synced.sync().outcome == "up_to_date"


def test_an_item_deleted_on_the_pos_is_unlinked_then_deleted_on_wix(synced: Synced) -> None:
    # Given the risotto listed in Mains
    risotto = synced.wix_item("Mushroom Risotto")["id"]
    r = synced.restaurant
    # When the POS deletes it
    r.http.post(
        f"{r.devstack.pos_url}/v2/catalog/batch-delete",
        json={"object_ids": [synced.objects["Mushroom Risotto"]["id"]]},
        headers={"Authorization": f"Bearer {r.token}", "Square-Version": "2025-10-16"},
    ).raise_for_status()
    result = synced.sync()
    # Then the section no longer lists it and the item is gone, in that order
    assert result.outcome == "synced", result
    assert result.changes == {"update:section": 1, "delete:item": 1}
    state = r.wix_state()
    assert all(risotto not in s["itemIds"] for s in state["sections"])
    assert all(i["id"] != risotto for i in state["items"])
    assert synced.sync().outcome == "up_to_date"


def test_a_stale_revision_refreshes_the_entity_reports_the_wix_edit_and_retries_once(synced: Synced) -> None:
    # Given someone renamed the cheeseburger in the Wix dashboard (its revision moved)
    item = synced.wix_item("Cheeseburger")
    api = synced.deps.wix.reads(synced.restaurant.instance_id)
    api.bulk_update("item", [({"id": item["id"], "revision": item["revision"], "name": "Burger!"}, ["name"])])
    # When the POS changes its price and the sync runs
    synced.restaurant.set_price(synced.variation("Cheeseburger"), 1500)
    result = synced.sync()
    # Then the 409 was answered by a re-read and one retry; the Wix edit is reported; the POS won (default policy)
    assert result.outcome == "synced", result
    assert [(e.kind, e.pos_kind, e.kept) for e in result.wix_edits] == [("item", "ITEM", "pos")]
    assert "name" in result.wix_edits[0].fields
    assert result.wix_calls == 3  # update (409), re-read, update
    fresh = synced.wix_item("Cheeseburger")
    assert fresh["priceInfo"]["price"] == "15.00"


def test_a_burst_of_changes_over_the_threshold_starts_the_publish_instead(devstack: Devstack) -> None:
    # Given a tenant whose threshold is 2 entity writes
    synced = Synced(devstack, max_changes=2)
    before = synced.writes()
    # When three prices change at once
    for name in ("Cheeseburger", "Grilled Salmon", "Mushroom Risotto"):
        synced.restaurant.set_price(synced.variation(name), 999)
    result = synced.sync()
    # Then nothing is written in place: the publish workflow is started and the cursor stays
    assert result.outcome == "publish_started" and synced.published == [synced.restaurant.instance_id]
    assert synced.writes() == before
    assert synced.state.get(synced.restaurant.instance_id)["cursor"] == synced.cursor


def test_a_sync_waits_while_the_tenant_imports(synced: Synced) -> None:
    # Given an import holding the tenant's lock
    job = catalog_publish._new_job("lock-test-" + synced.restaurant.instance_id[-6:], synced.restaurant.instance_id,
                                   catalog_publish.ImportOptions(), catalog_publish._utcnow())  # fmt: skip
    synced.deps.jobs.start(job)
    synced.restaurant.set_price(synced.variation("Cheeseburger"), 1111)
    # When a sync runs, it is deferred (the message comes back later) and writes nothing
    with pytest.raises(SyncDeferred):
        synced.sync()
    synced.deps.jobs.release(job)
    assert synced.sync().changes == {"update:item": 1}


def test_a_sync_overtaken_by_an_import_leaves_the_cursor_to_the_import(synced: Synced) -> None:
    # Given a price change on the POS, and an import that takes the tenant's lock while the sync is writing it
    instance_id = synced.restaurant.instance_id
    synced.restaurant.set_price(synced.variation("Cheeseburger"), 1212)
    job = catalog_publish._new_job("overtake-" + instance_id[-6:], instance_id, catalog_publish.ImportOptions(),
                                   catalog_publish._utcnow())  # fmt: skip
    holders = iter([None, job.job_id])  # free when the sync starts, held when it is done
    synced.ports = dataclasses.replace(synced.ports, locks=_Locks(lambda _instance_id: next(holders)))
    # When the sync runs
    result = synced.sync()
    # Then it writes the change but leaves the cursor where it was: the import's Publish sets it from its snapshot
    assert result.outcome == "synced" and result.changes == {"update:item": 1}, result
    assert synced.state.get(instance_id)["cursor"] == synced.cursor


@dataclasses.dataclass
class _Locks:
    lock_holder: Callable[[str], str | None]


def test_drift_made_in_wix_is_repaired_by_the_reconciliation(synced: Synced) -> None:
    # Given someone changed a price directly in Wix (no POS change, so no webhook)
    item = synced.wix_item("Grilled Salmon")
    api = synced.deps.wix.reads(synced.restaurant.instance_id)
    api.bulk_update("item", [({"id": item["id"], "revision": item["revision"], "priceInfo": {"price": "1.00"}},
                              ["priceInfo"])])  # fmt: skip
    # When a webhook-driven sync runs, it sees nothing; the reconciliation does
    assert synced.sync().outcome == "up_to_date"
    result = synced.sync(full=True)
    # Then the POS price is back and the drift was reported
    assert result.outcome == "synced", result
    assert synced.wix_item("Grilled Salmon")["priceInfo"]["price"] == "24.00"
    assert result.changes == {"update:item": 1}
    assert synced.sync(full=True).changes == {}


def test_a_sync_that_fails_half_way_reruns_without_duplicates(synced: Synced) -> None:
    # Given a new item on the POS, and a Wix that loses the answer to the item create
    desserts = synced.objects["Desserts"]["id"]
    synced.restaurant.upsert([
        {"type": "ITEM", "id": "#sorbet", "item_data": {
            "name": "Sorbet", "categories": [{"id": desserts}],
            "variations": [{"type": "ITEM_VARIATION", "id": "#sorbet-r", "item_variation_data": {
                "item_id": "#sorbet", "name": "Regular", "pricing_type": "FIXED_PRICING",
                "price_money": {"amount": 550, "currency": "USD"}}}]}},
    ])  # fmt: skip
    from tests.catalog_support import Sabotage

    sabotage = Sabotage(lambda m, p: "bulk/items/create" in p, lost_answer=True)
    synced.deps.wix.sabotage = sabotage  # type: ignore[attr-defined]
    # When the sync fails half-way (the item exists on Wix, the bridge never heard) and runs again
    with pytest.raises(TransientError):
        synced.sync()
    synced.deps.wix.sabotage = None  # type: ignore[attr-defined]
    result = synced.sync()
    # Then there is exactly one Sorbet, listed in Desserts, and the cursor moved on
    assert result.outcome == "synced", result
    state = synced.restaurant.wix_state()
    sorbets = [i for i in state["items"] if i["name"] == "Sorbet"]
    assert len(sorbets) == 1
    assert sorbets[0]["id"] in next(s for s in state["sections"] if s["name"] == "Desserts")["itemIds"]
    assert synced.sync().outcome == "up_to_date"


def _signed_catalog_event(synced: Synced, event_id: str, updated_at: str) -> tuple[bytes, str]:
    r = synced.restaurant
    body = json.dumps({
        "merchant_id": r.merchant_id, "type": "catalog.version.updated", "event_id": event_id,
        "created_at": updated_at, "data": {"type": "catalog_version",
                                           "object": {"catalog_version": {"updated_at": updated_at}}},
    }).encode()  # fmt: skip
    key = "sig-" + r.token.removeprefix("tok-")
    url = r.devstack.square_webhook_url
    signature = base64.b64encode(hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()).decode()
    return body, signature


def test_a_webhook_burst_for_one_change_is_one_sync_and_reaches_wix(synced: Synced) -> None:
    # Given the Square sandbox notifying the bridge's webhook route
    r = synced.restaurant
    url = f"{r.devstack.pos_url}/_sandbox/merchants/{r.merchant_id}/notification-url"
    r.http.put(url, json={"notificationUrl": r.devstack.square_webhook_url}).raise_for_status()
    searches = Counter(r.http.get(f"{r.devstack.pos_url}/_sandbox/merchants/{r.merchant_id}/state").json()["calls"])
    before = synced.writes()
    # When the POS changes a price (the sandbox sends catalog.version.updated) and three more notifications for the
    # same catalog version arrive (Square's duplicates under new event ids)
    started = time.monotonic()
    synced.restaurant.set_price(synced.variation("Grilled Salmon"), 2600)
    state = r.http.get(f"{r.devstack.pos_url}/_sandbox/merchants/{r.merchant_id}/state").json()
    updated_at = next(o for o in state["catalog"] if o["id"] == synced.variation("Grilled Salmon"))["updated_at"]
    for n in range(3):
        body, signature = _signed_catalog_event(synced, f"dup-{n}-{r.instance_id}", updated_at)
        answer = httpx.post(
            r.devstack.square_webhook_url,
            content=body,
            headers={"Content-Type": "application/json", "x-square-hmacsha256-signature": signature},
        )
        assert answer.status_code == 200 and answer.json()["status"] == "queued"
    # Then the price reaches Wix, with one bulk update, and exactly one sync ran (two catalog searches: the probe
    # and the catalog read)
    wait_for(lambda: synced.wix_item("Grilled Salmon")["priceInfo"]["price"] == "26.00", timeout_s=20)
    elapsed = time.monotonic() - started
    time.sleep(1.5)  # what another queued sync would need to run
    assert synced.writes() - before == Counter({"POST /restaurants/menus-item/v1/bulk/items/update": 1})
    # moto forgets a FIFO dedup id once its message is deleted (SQS keeps it 5 minutes), so a duplicate arriving after
    # the sync may run one more: it must then be a no-op (one catalog search, no Wix call). Searches: 2 for the sync
    # (probe + catalog read) and at most 1 per late duplicate.
    after = Counter(r.http.get(f"{r.devstack.pos_url}/_sandbox/merchants/{r.merchant_id}/state").json()["calls"])
    assert 2 <= after["POST /v2/catalog/search"] - searches["POST /v2/catalog/search"] <= 2 + 3
    assert synced.state.get(r.instance_id)["last"]["outcome"] in ("synced", "up_to_date")
    assert elapsed < 10


def test_a_forged_catalog_webhook_is_refused_and_queues_nothing(synced: Synced) -> None:
    body, _ = _signed_catalog_event(synced, "forged-1", "2030-01-01T00:00:00Z")
    answer = httpx.post(synced.restaurant.devstack.square_webhook_url, content=body,
                        headers={"x-square-hmacsha256-signature": "AAAA"})  # fmt: skip
    assert answer.status_code == 401 and answer.json()["message"]


def test_the_devstack_runs_the_catalog_reconciliation_on_demand(synced: Synced) -> None:
    # Given drift made in Wix (a rename nobody told the POS about)
    item = synced.wix_item("Lemonade")
    api = synced.deps.wix.reads(synced.restaurant.instance_id)
    api.bulk_update("item", [({"id": item["id"], "revision": item["revision"], "name": "Lemon water"}, ["name"])])
    # When the scheduled function is invoked on demand, as the devstack does
    stack = synced.restaurant.devstack.stack
    assert stack is not None
    event = {"reconcile": True, "instanceId": synced.restaurant.instance_id}
    payload, error = stack.invoke("CatalogSyncFunction", event)
    # Then the tenant was reconciled and the POS name is back
    assert error is None and payload["tenants"][synced.restaurant.instance_id] == "synced"
    assert any(i["name"] == "Lemonade" for i in synced.restaurant.wix_state()["items"])


def test_an_imports_custom_layout_names_survive_the_next_sync(devstack: Devstack) -> None:
    # Given a catalog without menu categories (one regular category, one item in none), imported with its own names
    # for the single menu and for the section of uncategorized items
    restaurant = Restaurant.connect(devstack, seed=False)
    restaurant.upsert([
        {"type": "CATEGORY", "id": "#drinks", "category_data": {"name": "Cold drinks"}},
        _item("#lemonade", "Lemonade", 350, categories=[{"id": "#drinks"}]),
        _item("#cookie", "Cookie", 200),
    ])  # fmt: skip
    deps = make_deps(devstack)
    job_id = f"t-{uuid.uuid4().hex[:12]}"
    options = {"menuName": "Our Menu", "uncategorizedName": "Extras"}
    catalog_publish.load_pos_catalog(deps, job_id, {"instanceId": restaurant.instance_id, "options": options})
    for step in STEPS[1:]:
        run_step(deps, step, job_id, restaurant.instance_id)
    names = _layout_names(restaurant)
    assert {"Our Menu", "Extras"} <= names
    # When the catalog reconciliation runs
    assert devstack.stack is not None
    ports = sync_ports(deps, CatalogSyncState(devstack.stack.output("MappingsTableName")), lambda _instance_id: "job-x")
    result = sync_catalog(ports, restaurant.instance_id, full=True)  # a plain sync finds nothing new: no plan
    # Then it plans with the import's layout: nothing to write, and the menu and section keep their names
    assert result.outcome == "synced" and result.changes == {} and result.wix_edits == [], result
    assert _layout_names(restaurant) == names


def _item(ref: str, name: str, cents: int, categories: list[dict[str, str]] | None = None) -> dict[str, Any]:
    variation = {
        "type": "ITEM_VARIATION",
        "id": f"{ref}-regular",
        "item_variation_data": {
            "name": "Regular",
            "pricing_type": "FIXED_PRICING",
            "price_money": {"amount": cents, "currency": "USD"},
        },
    }
    data: dict[str, Any] = {"name": name, "variations": [variation]}
    if categories:
        data["categories"] = categories
    return {"type": "ITEM", "id": ref, "item_data": data}


def _layout_names(restaurant: Restaurant) -> set[str]:
    state = restaurant.wix_state()
    return {m["name"] for m in state["menus"] if m.get("visible")} | {s["name"] for s in state["sections"]}


def test_a_modifier_price_change_is_one_call_on_its_group(synced: Synced) -> None:
    # Given the "Extra toppings" group, whose mushrooms cost 1.50
    mushrooms = next(o for o in synced.pos_catalog() if o.get("modifier_data", {}).get("name") == "Mushrooms")
    before = synced.writes()
    # When the POS changes that modifier's price
    data = {**mushrooms["modifier_data"], "price_money": {"amount": 175, "currency": "USD"}}
    synced.restaurant.upsert([{"type": "MODIFIER", "id": mushrooms["id"], "version": mushrooms["version"],
                               "modifier_data": data}])  # fmt: skip
    result = synced.sync()
    # Then one call rewrote the group (Wix keeps modifier prices on the group), reading only what changed
    assert result.outcome == "synced" and result.read == "changes", result
    assert result.changes == {"update:modifierGroup": 1} and result.wix_calls == 1
    route = "POST /restaurants/item-modifier-group/v1/bulk/modifiers-groups/update"
    assert synced.writes() - before == Counter({route: 1})
    group = next(g for g in synced.restaurant.wix_state()["modifierGroups"] if g["name"] == "Extra toppings")
    assert "1.75" in {m.get("additionalChargeInfo", {}).get("additionalCharge") for m in group["modifiers"]}


def test_a_modifier_sold_out_and_back_is_one_call_on_the_modifier(synced: Synced) -> None:
    # Given the "Extra toppings" group, whose olives are in stock on Wix
    def olives() -> dict[str, Any]:
        return next(o for o in synced.pos_catalog() if o.get("modifier_data", {}).get("name") == "Olives")

    def wix_olives() -> dict[str, Any]:
        return next(m for m in synced.restaurant.wix_state()["modifiers"] if m["name"] == "Olives")

    def set_sold_out(sold_out: bool) -> None:  # the seller's switch (ModifierLocationOverrides.sold_out is read-only)
        synced.control("sold-out", {"modifierId": olives()["id"], "soldOut": sold_out})

    assert wix_olives()["inStock"] is True
    route = "POST /restaurants/item-modifiers/v1/bulk/modifiers/update"
    for sold_out in (True, False):
        before = synced.writes()
        # When the POS marks the olives sold out (then back in stock)
        set_sold_out(sold_out)
        result = synced.sync()
        # Then one call rewrote the modifier (Wix keeps stock on the modifier, not on its group)
        assert result.outcome == "synced" and result.read == "changes", result
        assert result.changes == {"update:modifier": 1} and result.wix_calls == 1, result
        assert synced.writes() - before == Counter({route: 1})
        assert wix_olives()["inStock"] is (not sold_out)
    assert synced.sync().outcome == "up_to_date"


def test_a_group_mapped_with_its_modifiers_whole_hash_is_written_once_only_if_they_changed(synced: Synced) -> None:
    # Given the groups mapped as before modifier stock left the group's hash (the whole group, modifiers included)
    tid = synced.restaurant.instance_id
    tenant = synced.deps.tenants.get(tid)
    assert tenant is not None
    source = synced.deps.catalogs.for_tenant(tenant)
    groups = source.load_catalog(LayoutOptions()).modifier_groups
    old = synced.deps.mappings.get(tid, [("MODIFIER_GROUP", g) for g in groups])
    synced.deps.mappings.put(tid, [m.model_copy(update={"content_hash": groups[m.pos_id].content_hash()}) for m in old])
    before = synced.writes()
    # When the reconciliation plans every group, nothing having changed on the POS
    result = synced.sync(full=True)
    # Then no group is written
    assert result.outcome == "synced" and result.changes == {} and synced.writes() == before, result
    # When the POS marks a modifier sold out, then back in stock
    olives = next(o for o in synced.pos_catalog() if o.get("modifier_data", {}).get("name") == "Olives")
    for sold_out, expected in (
        (True, {"update:modifier": 1, "update:modifierGroup": 1}),
        (False, {"update:modifier": 1}),
    ):
        synced.control("sold-out", {"modifierId": olives["id"], "soldOut": sold_out})
        # Then its group is written once more (its old hash cannot tell), and no more after
        assert synced.sync().changes == expected


def test_an_archived_item_never_reaches_wix_and_archiving_or_restoring_it_follows(devstack: Devstack) -> None:
    # Given the salmon archived on the POS before the import (CatalogItem.is_archived)
    synced = Synced(devstack, before_import=lambda s: s.edit_on_pos("Grilled Salmon", is_archived=True))

    def names() -> set[str]:
        return {i["name"] for i in synced.restaurant.wix_state()["items"]}

    # Then the import left it out
    assert "Grilled Salmon" not in names() and "Mushroom Risotto" in names()
    # When the seller restores it, then archives the risotto, with a sync after each
    synced.edit_on_pos("Grilled Salmon", is_archived=False)
    restored = synced.sync()
    synced.edit_on_pos("Mushroom Risotto", is_archived=True)
    archived = synced.sync()
    # Then the salmon came back on the menu and the risotto went away (deleted: an archived item is not for sale)
    assert restored.outcome == "synced" and restored.changes.get("create:item") == 1, restored
    assert archived.outcome == "synced" and archived.changes.get("delete:item") == 1, archived
    assert "Grilled Salmon" in names() and "Mushroom Risotto" not in names()
    mains = next(s for s in synced.restaurant.wix_state()["sections"] if s["name"] == "Mains")
    assert synced.wix_item("Grilled Salmon")["id"] in mains["itemIds"]


def test_a_tracked_dish_counted_to_zero_is_out_of_stock_on_wix_through_the_inventory_webhook(synced: Synced) -> None:
    # Given the lava cake tracked on the POS (a catalog change, synced) and the sandbox notifying the bridge
    r = synced.restaurant
    cake = next(o for o in synced.pos_catalog() if o["id"] == synced.variation("Chocolate Lava Cake"))
    data = {**cake["item_variation_data"], "track_inventory": True}
    r.upsert([{**cake, "item_variation_data": data}])
    assert synced.sync().outcome in ("synced", "up_to_date")
    assert synced.wix_item("Chocolate Lava Cake")["orderSettings"]["inStock"] is True
    url = f"{r.devstack.pos_url}/_sandbox/merchants/{r.merchant_id}/notification-url"
    r.http.put(url, json={"notificationUrl": r.devstack.square_webhook_url}).raise_for_status()
    # When the last one is sold (count 0) and only inventory.count.updated reaches the bridge (the catalog version's
    # webhook is lost: Square retries it, but later)
    r.http.post(f"{r.devstack.pos_url}/_sandbox/webhooks/delivery", json={"drop": 1}).raise_for_status()
    synced.count(cake["id"], 0)
    # Then the queued sync marks the dish out of stock on Wix
    wait_for(lambda: synced.wix_item("Chocolate Lava Cake")["orderSettings"]["inStock"] is False, timeout_s=20)
    deliveries = r.http.get(f"{r.devstack.pos_url}/_sandbox/webhooks/deliveries").json()["deliveries"]
    assert [d["status"] for d in deliveries[-2:]] == [None, 200]  # the catalog webhook dropped, the count's delivered
    assert synced.state.get(r.instance_id)["last"]["outcome"] == "synced"


def test_a_count_change_of_a_dish_on_no_menu_costs_no_whole_read(synced: Synced) -> None:
    # Given tracked merchandise in a reporting category only (on no menu), created on the POS and synced once
    kitchen = synced.objects["Kitchen"]["id"]
    variation = {"name": "Regular", "pricing_type": "FIXED_PRICING", "track_inventory": True,
                 "price_money": {"amount": 1500, "currency": "USD"}}  # fmt: skip
    answer = synced.restaurant.upsert([{"type": "ITEM", "id": "#tote", "item_data": {
        "name": "Tote bag", "categories": [{"id": kitchen}],
        "variations": [{"type": "ITEM_VARIATION", "id": "#tote-v", "item_variation_data": variation}],
    }}])  # fmt: skip
    tote_v = next(m["object_id"] for m in answer["id_mappings"] if m["client_object_id"] == "#tote-v")
    assert synced.sync().outcome == "synced"
    # When one is sold and its count changes
    synced.count(tote_v, 4)
    result = synced.sync()
    # Then the sync read only the changes (a count moves nothing onto a menu) and wrote nothing
    assert (result.outcome, result.read, result.changes, result.wix_calls) == ("synced", "changes", {}, 0), result


def test_an_items_override_of_a_lists_rule_gets_its_own_wix_group(synced: Synced) -> None:
    # Given the pizza's crust group on Wix as the list says (at most one, not required)
    def pizza_groups() -> list[dict[str, Any]]:
        state = synced.restaurant.wix_state()
        wanted = {g["id"] for g in synced.wix_item("Margherita Pizza")["modifierGroups"]}
        return [g for g in state["modifierGroups"] if g["id"] in wanted]

    crust = next(g for g in pizza_groups() if g["name"] == "Crust")
    assert crust["rule"] == {"required": False, "minSelections": 0, "maxSelections": 1}
    # When the seller makes a crust required for the pizza alone (CatalogItemModifierListInfo.min_selected_modifiers)
    pizza = next(o for o in synced.pos_catalog() if o["id"] == synced.objects["Margherita Pizza"]["id"])
    infos = [{**i, "min_selected_modifiers": 1} if i["modifier_list_id"] == crust_list(synced) else i
             for i in pizza["item_data"]["modifier_list_info"]]  # fmt: skip
    synced.edit_on_pos("Margherita Pizza", modifier_list_info=infos)
    result = synced.sync()
    # Then the pizza points at a new crust group with the item's rule, and the list's own group, which no item uses
    # any more, is gone; the crust modifiers are the same Wix modifiers
    assert result.outcome == "synced" and result.read == "catalog", result
    assert result.changes.get("create:modifierGroup") == 1 and result.changes.get("delete:modifierGroup") == 1, result
    required = next(g for g in pizza_groups() if g["name"] == "Crust")
    assert required["rule"] == {"required": True, "minSelections": 1, "maxSelections": 1}
    assert [m["id"] for m in required["modifiers"]] == [m["id"] for m in crust["modifiers"]]
    assert synced.sync().outcome == "up_to_date"


def crust_list(synced: Synced) -> str:
    return str(next(o["id"] for o in synced.pos_catalog() if o.get("modifier_list_data", {}).get("name") == "Crust"))
