"""Wix Restaurants Menus (New) and Locations, as the catalog publish uses them (wix-api.md sections 5 and 7).

Every request here is the one the official SDK module builds for the same call (tests/contracts prove it against
`@wix/auto_sdk_restaurants_*`, `build/cjs/meta.js`; answers against `build/cjs/meta.d.ts`). Facts encoded here: bulk
create / update / delete take at most 100 entities and answer per entity (`results[]{<x>Metadata{id, originalIndex,
success, error}, <entity>}`, the key names differ per entity and call: ENTITIES), so a call can partly succeed; updates
need the current `revision` (409 when stale); a field mask travels as one comma-joined string (proto3 JSON FieldMask,
`transformSDKFieldMaskToRESTFieldMask` in @wix/sdk-runtime); bulk deletes carry their ids in the query string
(`?ids=a&ids=b`, `toURLSearchParams`), never in a body; menus have no bulk delete; queries page with a cursor, up to 500
a page. Writes go live at once: callers decide what is visible when.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from posbridge.errors import TransientError
from posbridge.ports.wix import BULK_MAX, NAME_MAX, NO_BULK_DELETE, Outcome, Rejected, WixKind
from posbridge.wix.client import WixClients
from posbridge.wix.errors import WixApiError
from posbridge.wix.rate_limit import DynamoRateLimiter, RateLimiter
from posbridge.wix.tokens import TokenCache

if TYPE_CHECKING:
    from posbridge.config import WixApiSettings

QUERY_MAX = 500


class WixHttp(Protocol):
    """What posbridge.wix.client.WixClient offers (and a test double can)."""

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Entity:
    """One Menus entity type: its routes and the key names of its bulk answers, as its SDK module spells them."""

    kind: WixKind
    plural: str  # list key: "modifierGroups"
    base: str  # documented base path
    collection: str  # URL segment: "modifier-groups"
    bulk_segment: str  # bulk update/delete segment (Wix spells modifier groups "modifiers-groups" there)
    sdk: str  # the official module this row is read from (its build/cjs/meta.d.ts and meta.js)
    created: tuple[str, str]  # bulk create result: (metadata key, entity key), meta.d.ts BulkCreate*Result
    updated: tuple[str, str]  # bulk update result: (metadata key, entity key), meta.d.ts Bulk*Result
    mask: str | None  # the field mask's key in a bulk update entry (Masked*); None: the type has none
    id_param: str  # single delete: the SDK sends the path id again as this query parameter (Delete*Request)

    @property
    def one(self) -> str:
        return f"{self.base}/{self.collection}"

    @property
    def name_max(self) -> int:
        return NAME_MAX[self.kind]  # kept in the port: the catalog plan checks names against it

    @property
    def has_bulk_delete(self) -> bool:
        return self.kind not in NO_BULK_DELETE


_SDK = "@wix/auto_sdk_restaurants_"
ENTITIES: dict[WixKind, Entity] = {
    e.kind: e
    for e in (
        # MaskedVariant is `{variant}` only: meta.js transforms a `variants.fieldMask` the REST type lacks, so the
        # whole variant goes back with its revision (its one writable field is its name).
        Entity("variant", "variants", "/restaurants/item-variants/v1", "variants", "variants",
               _SDK + "item-variants", ("itemMetadata", "variant"), ("itemMetadata", "variant"), None, "variantId"),
        Entity("modifier", "modifiers", "/restaurants/item-modifiers/v1", "modifiers", "modifiers",
               _SDK + "item-modifiers", ("itemMetadata", "modifier"), ("itemMetadata", "modifier"), "mask",
               "modifierId"),
        Entity("modifierGroup", "modifierGroups", "/restaurants/item-modifier-group/v1", "modifier-groups",
               "modifiers-groups", _SDK + "item-modifier-groups", ("itemMetadata", "modifierGroup"),
               ("itemMetadata", "modifierGroup"), "mask", "modifierGroupId"),
        Entity("item", "items", "/restaurants/menus-item/v1", "items", "items",
               _SDK + "items", ("itemMetadata", "item"), ("itemMetadata", "item"), "mask", "itemId"),
        # Sections: a created section comes back under `item`, an updated one under `section` with `sectionMetadata`.
        Entity("section", "sections", "/restaurants/menus-section/v1", "sections", "sections",
               _SDK + "sections", ("itemMetadata", "item"), ("sectionMetadata", "section"), "mask", "sectionId"),
        # Menus: `menuMetadata` in both bulk answers, and no bulk delete in the module (deleteMenu, one at a time:
        # ports/wix.py NO_BULK_DELETE).
        Entity("menu", "menus", "/restaurants/menus-menu/v1", "menus", "menus",
               _SDK + "menus", ("menuMetadata", "menu"), ("menuMetadata", "menu"), "mask", "menuId"),
    )
}  # fmt: skip

# Bulk*Delete*Result is `{itemMetadata}` for every kind that has a bulk delete (no entity comes back).
BULK_DELETE_RESULT = ("itemMetadata", "")
LOCATIONS_PATH = "/locations/v1/locations"


_INDEX = re.compile(r"^[A-Za-z]+\[(\d+)\]")


class MenusApi:
    """Thin, typed wrappers; every call is one request (the client handles tokens, rate limit and retries)."""

    def __init__(self, client: WixHttp) -> None:
        self._client = client

    # --- writes ---------------------------------------------------------------------------------------------------

    def bulk_create(self, kind: WixKind, entities: list[dict[str, Any]]) -> list[Outcome]:
        """Create up to 100 entities; raises Rejected when Wix refuses the call as a whole."""
        e = ENTITIES[kind]
        _check_size(entities)
        body = {e.plural: entities, "returnEntity": True}
        answer = self._write("POST", f"{e.base}/bulk/{e.collection}/create", body, e)
        return _outcomes(answer, e.created, kind, len(entities))

    def bulk_update(self, kind: WixKind, updates: list[tuple[dict[str, Any], list[str]]]) -> list[Outcome]:
        """`(entity with id + revision, mask)` pairs; a stale revision fails only its entity (409 per entity).

        The mask names the fields to write; a kind whose update type has no mask (variants) is sent whole."""
        e = ENTITIES[kind]
        _check_size(updates)
        entries = [_masked(e, entity, mask) for entity, mask in updates]
        body = {e.plural: entries, "returnEntity": True}
        answer = self._write("POST", f"{e.base}/bulk/{e.bulk_segment}/update", body, e)
        return _outcomes(answer, e.updated, kind, len(updates))

    def delete_many(self, kind: WixKind, ids: list[str]) -> list[Outcome]:
        """Delete up to 100 entities; one already gone counts as deleted. Menus go one call each (no bulk route)."""
        e = ENTITIES[kind]
        _check_size(ids)
        if not e.has_bulk_delete:
            return [self._delete_one(e, i, entity_id) for i, entity_id in enumerate(ids)]
        answer = self._client.request("DELETE", f"{e.base}/bulk/{e.bulk_segment}/delete", params={"ids": ids})
        outcomes = _outcomes(answer, BULK_DELETE_RESULT, kind, len(ids))
        return [Outcome(o.index, True, ids[o.index]) if not o.ok and o.code == "NOT_FOUND" else o for o in outcomes]

    def _delete_one(self, e: Entity, index: int, entity_id: str) -> Outcome:
        try:
            self._client.request("DELETE", f"{e.one}/{entity_id}", params={e.id_param: entity_id})
        except WixApiError as exc:
            if exc.status != 404:
                return Outcome(index, False, entity_id, code=exc.code, message=str(exc))
        return Outcome(index, True, entity_id)

    def _write(self, method: str, path: str, body: dict[str, Any], e: Entity) -> dict[str, Any]:
        try:
            return self._client.request(method, path, body)
        except WixApiError as exc:
            if exc.status != 400:
                raise
            indexes = _violation_indexes(exc.body, e.plural)
            raise Rejected(indexes, f"Wix refused {method} {path}: {exc.code}", exc.code) from exc

    # --- reads ----------------------------------------------------------------------------------------------------

    def query(self, kind: WixKind, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every entity matching `filter`, page by page (500 a page)."""
        e = ENTITIES[kind]
        found: list[dict[str, Any]] = []
        query: dict[str, Any] = {"cursorPaging": {"limit": QUERY_MAX}}
        if filter:
            query["filter"] = filter
        while True:
            page = self._client.request("POST", f"{e.one}/query", {"query": query})
            entities = page.get(e.plural) or []
            found += [x for x in entities if isinstance(x, dict)]
            cursor = ((page.get("pagingMetadata") or {}).get("cursors") or {}).get("next")
            if not cursor or not entities:
                return found
            query = {"cursorPaging": {"limit": QUERY_MAX, "cursor": cursor}}

    def by_ids(self, kind: WixKind, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), QUERY_MAX):
            found += self.query(kind, {"id": {"$in": ids[start : start + QUERY_MAX]}})
        return found

    def list_locations(self) -> list[dict[str, Any]]:
        """Active (not archived) business locations of the site (offset paging, an older API)."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self._client.request(
                "GET",
                LOCATIONS_PATH,
                params={"includeArchived": "false", "paging.limit": 1000, "paging.offset": offset},
            )
            locations = [x for x in page.get("locations") or [] if isinstance(x, dict)]
            found += locations
            if not (page.get("pagingMetadata") or {}).get("hasNext") or not locations:
                return found
            offset += len(locations)


def _check_size(entries: list[Any]) -> None:
    if not 1 <= len(entries) <= BULK_MAX:
        raise ValueError(f"a bulk call takes 1 to {BULK_MAX} entities, not {len(entries)}")


def _masked(e: Entity, entity: dict[str, Any], mask: list[str]) -> dict[str, Any]:
    """One bulk update entry: the entity, and its mask as one comma-joined string where the type has a mask."""
    if e.mask is None:
        return {e.kind: entity}
    return {e.kind: entity, e.mask: ",".join(mask)}


def _outcomes(answer: dict[str, Any], keys: tuple[str, str], kind: WixKind, sent: int) -> list[Outcome]:
    """Per-entity outcomes by original index; `keys` = (metadata key, entity key) of this call's results. A result
    Wix leaves out (undetailed failure) is an unknown outcome: TransientError, so the caller treats the batch as in
    doubt."""
    meta_key, entity_key = keys
    by_index: dict[int, Outcome] = {}
    for position, result in enumerate(answer.get("results") or []):
        result = result if isinstance(result, dict) else {}
        meta = result.get(meta_key) or {}
        index = meta.get("originalIndex", position)
        if not isinstance(index, int) or not 0 <= index < sent:
            continue
        found = result.get(entity_key) if entity_key else None
        entity = found if isinstance(found, dict) else None
        if meta.get("success"):
            revision = entity.get("revision") if entity else None
            by_index[index] = Outcome(
                index, True, str(meta.get("id") or (entity or {}).get("id") or ""), _text(revision), entity
            )
        else:
            error = meta.get("error") or {}
            by_index[index] = Outcome(
                index, False, meta.get("id"), code=str(error.get("code") or "UNKNOWN"),
                message=str(error.get("description") or error.get("message") or "")[:300],
            )  # fmt: skip
    if len(by_index) != sent:
        raise TransientError(f"Wix answered {len(by_index)} of {sent} bulk results for {kind}: outcome unknown")
    return [by_index[i] for i in range(sent)]


def _violation_indexes(body: dict[str, Any], plural: str) -> set[int]:
    """`plural[3].name` -> 3, from a validationError body."""
    violations = ((body.get("details") or {}).get("validationError") or {}).get("fieldViolations") or []
    indexes = set()
    for violation in violations:
        field = str((violation or {}).get("field") or "")
        if field.startswith(plural + "["):
            match = _INDEX.match(field)
            if match:
                indexes.add(int(match.group(1)))
    return indexes


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class MenusApis:
    """The WixMenus port of the catalog publish, over posbridge.wix.client: one token cache, one connection pool
    and the shared rate limit for both kinds of client.

    `reads` retries 429/5xx/timeouts in the client (reads, revision-checked updates and deletes are safe to repeat);
    `creates` sends each bulk create once (max_attempts=1): an unknown outcome is the catalog journal's to resolve,
    because a create repeated below it could leave duplicates."""

    def __init__(
        self,
        settings: WixApiSettings,
        *,
        limiter: RateLimiter | None = None,
        timeout: httpx.Timeout | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        options: dict[str, Any] = {"tokens": TokenCache(), "http": httpx.Client()}
        if timeout is not None:
            options["timeout"] = timeout
        if sleep is not None:
            options["sleep"] = sleep
        limit = limiter if limiter is not None else DynamoRateLimiter(settings.mappings_table)
        args = (settings.wix_api_base_url, settings.wix_app_id, settings.wix_app_secret_name, limit)
        self._reads = WixClients(*args, max_attempts=max_attempts, **options)
        self._creates = WixClients(*args, max_attempts=1, **options)

    def reads(self, instance_id: str) -> MenusApi:
        return MenusApi(self._reads.for_instance(instance_id))

    def creates(self, instance_id: str) -> MenusApi:
        return MenusApi(self._creates.for_instance(instance_id))
