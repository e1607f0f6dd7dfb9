"""The Square catalog reader (square-api.md, "Catalog"): the CatalogSource port (ports/pos.py) for one seller
location, over SquareClient.

It reads the live catalog (Search Catalog Objects, page by page), some items and modifier lists by id (Batch Retrieve
Catalog Objects with related objects), the `IN_STOCK` inventory counts of tracked variations (Inventory API
BatchRetrieveInventoryCounts; developer.squareup.com/docs/inventory-api/monitor-sold-out-status-on-item-variation) and
what changed after a time (Search Catalog with `begin_time`, deleted objects included, and the counts changed since).
catalog_mapper.py turns what it reads into the canonical catalog.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from posbridge.domain.catalog import Catalog, CatalogChanges, LayoutOptions, source_group
from posbridge.errors import PermanentError
from posbridge.pos.square.catalog_mapper import to_catalog, to_partial_catalog, tracks_inventory
from posbridge.pos.square.client import SquareClient

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # SearchCatalogObjects' maximum page size
RETRIEVE_LIMIT = 1000  # BatchRetrieveCatalogObjects' maximum object ids per request
OBJECT_TYPES = ("ITEM", "CATEGORY", "MODIFIER_LIST")  # variations and modifiers come nested in their parents
# BatchRetrieveInventoryCounts (squareup: InventoryClient.batch_get_counts)
INVENTORY_COUNTS_PATH = "/v2/inventory/counts/batch-retrieve"
COUNT_IDS_PER_REQUEST = 1000  # Square documents no maximum for catalog_object_ids: kept to the catalog's own batch size


def fetch_catalog_objects(client: SquareClient) -> tuple[list[dict[str, Any]], str | None]:
    """Every live ITEM (variations nested), CATEGORY and MODIFIER_LIST (modifiers nested), page by page, and the
    first page's `latest_time`: the catalog's last update when the read began. Every object read reflects at least
    that time, and any change made after it (during the paging too) is newer than it, so a Search Catalog with that
    `begin_time` (exclusive) finds it. Square's clock, not ours: no skew between posbridge and Square to allow for."""
    objects: list[dict[str, Any]] = []
    cursor: str | None = None
    as_of: str | None = None
    while True:
        body: dict[str, Any] = {"object_types": list(OBJECT_TYPES), "limit": SEARCH_LIMIT}
        if cursor:
            body["cursor"] = cursor
        page = client.post("/v2/catalog/search", body)
        found = page.get("objects") or []
        if not isinstance(found, list):
            raise PermanentError("square_unexpected_response", "Square's catalog search answer has no object list.")
        if cursor is None and isinstance(page.get("latest_time"), str):
            as_of = page["latest_time"]
        objects += [o for o in found if isinstance(o, dict)]
        cursor = page.get("cursor")
        if not cursor:
            return objects, as_of


def fetch_counts(
    client: SquareClient,
    location_id: str,
    *,
    variation_ids: Iterable[str] | None = None,
    updated_after: str | None = None,
) -> list[dict[str, Any]]:
    """`IN_STOCK` inventory counts at the location (BatchRetrieveInventoryCounts, square/inventory/raw_client.py
    `batch_get_counts`: catalog_object_ids, location_ids, updated_after, states, cursor), of these variations or of
    every one whose count changed after `updated_after` (exclusive: "calculated_at value after the given time")."""
    base: dict[str, Any] = {"location_ids": [location_id], "states": ["IN_STOCK"]}
    if updated_after:
        base["updated_after"] = updated_after
    chunks: list[dict[str, Any]] = [base]
    if variation_ids is not None:
        ids = sorted(set(variation_ids))
        chunks = [
            {**base, "catalog_object_ids": ids[start : start + COUNT_IDS_PER_REQUEST]}
            for start in range(0, len(ids), COUNT_IDS_PER_REQUEST)
        ]
    counts: list[dict[str, Any]] = []
    for body in chunks:
        while True:
            page = client.post(INVENTORY_COUNTS_PATH, body)
            found = page.get("counts") or []
            if not isinstance(found, list):
                raise PermanentError("square_unexpected_response", "Square's inventory answer has no count list.")
            counts += [c for c in found if isinstance(c, dict)]
            cursor = page.get("cursor")
            if not cursor:
                break
            body = {**body, "cursor": cursor}
    return counts


def quantities(counts: Iterable[dict[str, Any]], location_id: str) -> dict[str, Decimal]:
    """Variation id -> its `IN_STOCK` quantity at the location (InventoryCount.quantity: a decimal string)."""
    found: dict[str, Decimal] = {}
    for count in counts:
        if (
            count.get("catalog_object_type") != "ITEM_VARIATION"
            or count.get("state") != "IN_STOCK"
            or count.get("location_id") != location_id
            or not isinstance(count.get("catalog_object_id"), str)
        ):
            continue
        try:
            found[count["catalog_object_id"]] = Decimal(str(count.get("quantity")))
        except InvalidOperation:
            continue
    return found


def tracked_variation_ids(objects: Iterable[dict[str, Any]], location_id: str) -> list[str]:
    """Variations (nested in their items) whose inventory Square tracks at the location."""
    return [
        var["id"]
        for obj in objects
        if isinstance(obj, dict) and obj.get("type") == "ITEM"
        for var in (obj.get("item_data") or {}).get("variations") or []
        if isinstance(var, dict) and isinstance(var.get("id"), str) and tracks_inventory(var, location_id)
    ]


class SquareCatalogSource:
    """The POS catalog port for Square: one seller location."""

    def __init__(self, client: SquareClient, location_id: str) -> None:
        self._client = client
        self._location_id = location_id

    def __repr__(self) -> str:
        return f"SquareCatalogSource(location_id={self._location_id!r})"

    def load_catalog(self, options: LayoutOptions) -> Catalog:
        objects, as_of = fetch_catalog_objects(self._client)
        counts = self._counts(objects)
        return to_catalog(objects, self._location_id, options, counts=counts).model_copy(update={"as_of": as_of})

    def load_items(self, item_ids: Iterable[str], group_ids: Iterable[str], options: LayoutOptions) -> Catalog:
        """Just these items and modifier lists, with the lists the items use (no menus): Batch Retrieve with related
        objects. Deleted or absent ones are simply not in the answer. A derived group's list is read for it."""
        lists_asked = {source_group(g) for g in group_ids}
        objects = self._retrieve(sorted(set(item_ids) | lists_asked))
        seen = {o.get("id") for o in objects}
        lists = {
            info.get("modifier_list_id")
            for o in objects
            if o.get("type") == "ITEM"
            for info in (o.get("item_data") or {}).get("modifier_list_info") or []
            if isinstance(info, dict)
        }
        missing = sorted(i for i in lists if isinstance(i, str) and i not in seen)
        if missing:  # a list the items use that was not among the related objects: asked for by id
            objects += self._retrieve(missing)
        return to_partial_catalog(objects, self._location_id, options, counts=self._counts(objects))

    def _counts(self, objects: list[dict[str, Any]]) -> dict[str, Decimal]:
        """The IN_STOCK counts of the tracked variations among these objects (no call when none is tracked)."""
        tracked = tracked_variation_ids(objects, self._location_id)
        if not tracked:
            return {}
        return quantities(self._read_counts(variation_ids=tracked), self._location_id)

    def _read_counts(self, **query: Any) -> list[dict[str, Any]]:
        """fetch_counts; a token without INVENTORY_READ (Square: 403 INSUFFICIENT_SCOPES) reads none, so a seller
        connected before counts were read keeps syncing, stock then following `sold_out` alone (Square's own
        signal; the counts only make it sooner)."""
        try:
            return fetch_counts(self._client, self._location_id, **query)
        except PermanentError as exc:
            if exc.reason != "square_insufficient_scopes":
                raise
            log.warning("Square inventory counts are not readable (INVENTORY_READ not granted): sold_out alone decides")
            return []

    def _retrieve(self, ids: list[str], related: bool = True) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        for start in range(0, len(ids), RETRIEVE_LIMIT):
            body = {"object_ids": ids[start : start + RETRIEVE_LIMIT], "include_related_objects": related}
            page = self._client.post("/v2/catalog/batch-retrieve", body)
            for key in ("objects", "related_objects"):
                objects += [o for o in page.get(key) or [] if isinstance(o, dict)]
        return objects

    def changes_since(self, begin_time: str | None) -> CatalogChanges:
        """What changed after `begin_time` (None: everything), deleted objects included: Search Catalog with
        `begin_time`, as catalog.version.updated asks (it names only the catalog's new updated_at). A variation or
        modifier is traced to its item or list; over one page of changes, or one whose parent is not named, the
        answer says `whole`: only the whole catalog can tell what they touched.

        Inventory counts changed after `begin_time` at the location are changes too (inventory.count.updated names
        counts, not catalog objects, and moves no catalog version by itself): their variations are traced to their
        items with one Batch Retrieve. The latest change, catalog or count, is the next cursor (both are Square's
        server times)."""
        body: dict[str, Any] = {
            "object_types": [*OBJECT_TYPES, "ITEM_VARIATION", "MODIFIER"],
            "include_deleted_objects": True,
            "limit": SEARCH_LIMIT,
        }
        if begin_time:
            body["begin_time"] = begin_time
        latest: str | None = None
        found: list[dict[str, Any]] = []
        while True:
            page = self._client.post("/v2/catalog/search", body)
            objects = [o for o in page.get("objects") or [] if isinstance(o, dict) and isinstance(o.get("id"), str)]
            found += objects
            for obj in objects:
                latest = _later(latest, obj.get("updated_at"))
            cursor = page.get("cursor")
            if not cursor or not objects:
                break
            body["cursor"] = cursor
        scope: dict[str, set[str]] = {kind: set() for kind in CHANGE_KINDS.values()}
        whole = len(found) > SEARCH_LIMIT
        for obj in found:
            kind = CHANGE_KINDS.get(str(obj.get("type")))
            if kind is None:
                continue
            scope[kind].add(obj["id"])
            if kind in PARENTS:
                parent_kind, data_key, link = PARENTS[kind]
                parent = (obj.get(data_key) or {}).get(link)
                if isinstance(parent, str):
                    scope[parent_kind].add(parent)
                else:
                    whole = True
        counted = 0
        catalog_items = set(scope["items"])
        if begin_time:  # without a cursor everything is read anyway, counts included
            counts = self._read_counts(updated_after=begin_time)
            counted = len(counts)
            for count in counts:
                latest = _later(latest, count.get("calculated_at"))
            restocked = sorted(set(quantities(counts, self._location_id)) - scope["variations"])
            if len(restocked) > SEARCH_LIMIT:
                whole = True
            elif restocked:
                for variation in self._retrieve(restocked, related=False):
                    item_id = (variation.get("item_variation_data") or {}).get("item_id")
                    if variation.get("type") == "ITEM_VARIATION" and isinstance(item_id, str):
                        scope["variations"].add(variation["id"])
                        scope["items"].add(item_id)
        return CatalogChanges(
            count=len(found) + counted,
            latest=latest,
            items=frozenset(scope["items"]),
            variations=frozenset(scope["variations"]),
            modifier_groups=frozenset(scope["modifier_groups"]),
            modifiers=frozenset(scope["modifiers"]),
            categories=frozenset(scope["categories"]),
            counted_items=frozenset(scope["items"] - catalog_items),
            whole=whole,
        )


CHANGE_KINDS = {
    "ITEM": "items",
    "ITEM_VARIATION": "variations",
    "MODIFIER_LIST": "modifier_groups",
    "MODIFIER": "modifiers",
    "CATEGORY": "categories",
}
PARENTS = {  # a child's kind -> its parent's kind, where the child names it
    "variations": ("items", "item_variation_data", "item_id"),
    "modifiers": ("modifier_groups", "modifier_data", "modifier_list_id"),
}


def _later(latest: str | None, stamp: Any) -> str | None:
    if isinstance(stamp, str) and (latest is None or _utc(stamp) > _utc(latest)):
        return stamp
    return latest


def _utc(stamp: str) -> datetime:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
