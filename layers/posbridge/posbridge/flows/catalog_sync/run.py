"""Flow 5's vocabulary (its ports, results and limits) and the state one sync run works on (diff.py reads it,
writes.py writes through it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.domain.tenant import Tenant
from posbridge.errors import TransientError
from posbridge.flows.catalog_plan import PlanNode
from posbridge.ports.pos import CatalogSources
from posbridge.ports.stores import CatalogMappingStore, CatalogSyncCursor, ImportLocks, TenantReader
from posbridge.ports.wix import NO_BULK_DELETE, Outcome, WixKind, WixMenus, WixMenusApi

CREATE_KINDS: tuple[WixKind, ...] = ("variant", "modifier", "modifierGroup", "item")
CONFLICTS = frozenset({"REVISION_MISMATCH", "CONFLICT", "ALREADY_EXISTS"})  # a per-entity 409
SWEEP_MARGIN = timedelta(seconds=60)
# What an update may change, per kind (the fields the plan's bodies and references hold).
MASKS: dict[WixKind, tuple[str, ...]] = {
    "variant": ("name",),
    "modifier": ("name", "inStock"),
    "modifierGroup": ("name", "rule", "modifiers"),
    "item": ("name", "description", "orderSettings", "priceInfo", "priceVariants", "modifierGroups"),
    "section": ("name", "description", "itemIds"),
    "menu": ("name", "description", "sectionIds"),
}


class SyncDeferred(TransientError):
    """The tenant's catalog import is running: try again later (the import itself reads the whole catalog)."""


# --- ports ------------------------------------------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SyncPorts:
    tenants: TenantReader
    catalogs: CatalogSources
    mappings: CatalogMappingStore
    locks: ImportLocks
    state: CatalogSyncCursor
    wix: WixMenus
    start_publish: Callable[[str], str]  # instance id -> the started import's job id
    max_changes: int = 500  # more entity writes than this: the draft publish instead
    clock: Callable[[], datetime] = _utcnow


@dataclass
class WixEdit:
    """An entity changed in Wix since the bridge last wrote it (its revision moved)."""

    kind: str
    wix_id: str
    pos_kind: str
    pos_id: str
    fields: list[str]
    kept: str  # "pos": overwritten with the POS; "wix": the Wix edit kept


@dataclass
class SyncResult:
    outcome: str  # up_to_date | synced | partial | publish_started | no_catalog | ignored
    changes: dict[str, int] = field(default_factory=dict)  # "<create|update|delete>:<kind>" -> entities
    wix_calls: int = 0
    wix_edits: list[WixEdit] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    cursor: str | None = None
    reason: str = ""
    job_id: str | None = None
    seconds: float = 0.0
    read: str = ""  # "changes": only what changed was read (POS and mapping); "catalog": the whole of both

    def summary(self) -> dict[str, Any]:
        """For the state record and logs: ids and counts only."""
        data = asdict(self)
        data["wix_edits"] = data["wix_edits"][:20]
        data["errors"] = data["errors"][:20]
        data["seconds"] = str(round(self.seconds, 3))
        return data


class _Counting:
    """Counts the Wix calls a sync makes (every MenusApi call is one request, queries one per page)."""

    def __init__(self, api: WixMenusApi) -> None:
        self.api = api
        self.calls = 0

    def bulk_create(self, kind: WixKind, entities: list[dict[str, Any]]) -> list[Outcome]:
        self.calls += 1
        return self.api.bulk_create(kind, entities)

    def bulk_update(self, kind: WixKind, updates: list[tuple[dict[str, Any], list[str]]]) -> list[Outcome]:
        self.calls += 1
        return self.api.bulk_update(kind, updates)

    def delete_many(self, kind: WixKind, ids: list[str]) -> list[Outcome]:
        self.calls += len(ids) if kind in NO_BULK_DELETE else 1
        return self.api.delete_many(kind, ids)

    def query(self, kind: WixKind, flt: dict[str, Any]) -> list[dict[str, Any]]:
        found = self.api.query(kind, flt)
        self.calls += max(1, -(-len(found) // 500))
        return found

    def by_ids(self, kind: WixKind, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            found += self.query(kind, {"id": {"$in": ids[start : start + 500]}})
        return found


class _RunState:
    """One sync of one tenant: the mapping as it was, the Wix clients (counted) and the result so far."""

    def __init__(
        self,
        ports: SyncPorts,
        tenant: Tenant,
        api: _Counting,
        creates: _Counting,
        mapping: list[CatalogMapping],
        partial: bool = False,
    ) -> None:
        self.ports = ports
        self.tenant = tenant
        self.tid = tenant.instance_id
        self.api = api
        self.creates = creates
        self.old: dict[tuple[str, str], CatalogMapping] = {(m.pos_kind, m.pos_id): m for m in mapping}
        self.partial = partial  # the plan and mapping cover only what changed (no menus or sections)
        self.result = SyncResult("synced")


def _provisional(node: PlanNode, outcome: Outcome) -> CatalogMapping:
    """The mapping of an entity just created, before the sync ends: an empty hash, so a re-run updates it rather
    than creating it again."""
    assert outcome.id is not None
    return CatalogMapping(
        pos_kind=node.pos_kind,
        pos_id=node.pos_id,
        wix_id=outcome.id,
        wix_kind=node.kind,
        revision=outcome.revision,
        content_hash="",
        wix_entities=(f"{node.kind}/{outcome.id}",),
        wix_variant_id=outcome.id if node.kind == "variant" else None,
    )


def _split(key: str) -> tuple[str, str]:
    kind, _, pos_id = key.partition("#")
    return kind, pos_id


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
