"""In-memory fakes of the catalog publish's ports (Flow 4), for unit tests without the devstack.

FakeMenus keeps Wix Menus entities as Wix answers them where the flow reads them (id, revision, name, createdDate,
visible, sectionIds/itemIds) and can fail one call before it reaches "Wix" or after it applied (a lost reply)."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from posbridge.domain.catalog import DERIVED_SEPARATOR, Catalog, CatalogChanges, LayoutOptions, PosKind
from posbridge.domain.catalog_job import ImportAlreadyRunning, ImportJob, JobConflict
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.domain.tenant import Tenant
from posbridge.errors import TransientError
from posbridge.flows import catalog_publish as flow
from posbridge.flows.catalog_sync import SyncPorts
from posbridge.ports.wix import Outcome, WixKind

KINDS: tuple[WixKind, ...] = ("variant", "modifier", "modifierGroup", "item", "section", "menu")


class FakeJobs:
    def __init__(self) -> None:
        self.docs: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.locks: dict[str, str] = {}
        self.running: set[str] = set()
        self.pending: dict[str, tuple[str, str]] = {}

    def start(self, job: ImportJob) -> None:
        if job.job_id in self.docs:
            raise ImportAlreadyRunning(job.instance_id, job.job_id)
        job.version = 1
        self._put(job)
        self.running.add(job.job_id)
        if job.instance_id in self.locks:
            refused = ImportAlreadyRunning(job.instance_id, self.locks[job.instance_id])
            job.status, job.reason, job.finished_at = "failed", str(refused), job.started_at
            self.save(job)
            self.running.discard(job.job_id)
            raise refused
        self.locks[job.instance_id] = job.job_id

    def get(self, job_id: str) -> ImportJob | None:
        if job_id not in self.docs:
            return None
        job = ImportJob.model_validate_json(self.docs[job_id])
        job.version = self.versions[job_id]
        return job

    def save(self, job: ImportJob) -> None:
        if self.versions.get(job.job_id) != job.version:
            raise JobConflict(f"job {job.job_id} changed since it was read")
        job.version += 1
        self._put(job)

    def _put(self, job: ImportJob) -> None:
        self.docs[job.job_id], self.versions[job.job_id] = job.model_dump_json(), job.version

    def release(self, job: ImportJob) -> None:
        if self.locks.get(job.instance_id) == job.job_id:
            del self.locks[job.instance_id]
        self.running.discard(job.job_id)

    def active(self) -> list[str]:
        return sorted(self.running)

    def lock_holder(self, instance_id: str) -> str | None:
        return self.locks.get(instance_id)

    def set_pending_cleanup(self, instance_id: str, job_id: str, key: str) -> None:
        self.pending[instance_id] = (job_id, key)

    def pending_cleanup(self, instance_id: str) -> tuple[str, str] | None:
        return self.pending.get(instance_id)

    def clear_pending_cleanup(self, instance_id: str, job_id: str) -> None:
        if self.pending.get(instance_id, ("", ""))[0] == job_id:
            del self.pending[instance_id]


@dataclass
class FakeBlobs:
    objects: dict[str, str] = field(default_factory=dict)
    fail_put: Callable[[str], bool] = lambda _key: False  # a crash right before this write

    def put_json(self, key: str, value: Any) -> None:
        if self.fail_put(key):
            self.fail_put = lambda _key: False
            raise TransientError(f"injected: the process died before writing {key}")
        self.objects[key] = json.dumps(value)

    def get_json(self, key: str) -> Any | None:
        return json.loads(self.objects[key]) if key in self.objects else None

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))


@dataclass
class FakeMappings:
    entries: dict[str, list[CatalogMapping]] = field(default_factory=dict)
    layouts: dict[str, tuple[str, str]] = field(default_factory=dict)
    fail_replace: bool = False

    def load(self, tenant_id: str) -> list[CatalogMapping]:
        return list(self.entries.get(tenant_id, []))

    def replace(self, tenant_id: str, new: list[CatalogMapping]) -> None:
        if self.fail_replace:
            self.fail_replace = False
            raise TransientError("injected: the mapping table is unavailable")
        self.entries[tenant_id] = list(new)

    def get(self, tenant_id: str, keys: list[tuple[PosKind, str]]) -> list[CatalogMapping]:
        wanted = set(keys)
        return [m for m in self.load(tenant_id) if (m.pos_kind, m.pos_id) in wanted]

    def derived_groups(self, tenant_id: str, group_id: str) -> list[CatalogMapping]:
        prefix = f"{group_id}{DERIVED_SEPARATOR}"
        return [m for m in self.load(tenant_id) if m.pos_kind == "MODIFIER_GROUP" and m.pos_id.startswith(prefix)]

    def put(self, tenant_id: str, entries: list[CatalogMapping]) -> None:
        replaced = {(m.pos_kind, m.pos_id) for m in entries}
        kept = [m for m in self.load(tenant_id) if (m.pos_kind, m.pos_id) not in replaced]
        self.entries[tenant_id] = kept + list(entries)

    def remove(self, tenant_id: str, entries: list[CatalogMapping]) -> None:
        gone = {(m.pos_kind, m.pos_id) for m in entries}
        self.entries[tenant_id] = [m for m in self.load(tenant_id) if (m.pos_kind, m.pos_id) not in gone]

    def save_layout(self, tenant_id: str, menu_name: str, uncategorized_name: str) -> None:
        self.layouts[tenant_id] = (menu_name, uncategorized_name)

    def layout(self, tenant_id: str) -> tuple[str, str] | None:
        return self.layouts.get(tenant_id)

    def restore_layout(self, tenant_id: str, layout: tuple[str, str] | None) -> None:
        if layout is None:
            self.layouts.pop(tenant_id, None)
        else:
            self.layouts[tenant_id] = layout


@dataclass
class FakeTenants:
    tenants: dict[str, Tenant]

    def get(self, instance_id: str) -> Tenant | None:
        return self.tenants.get(instance_id)


@dataclass
class FakeSource:
    catalog: Catalog
    changes: CatalogChanges = field(default_factory=CatalogChanges)  # what changes_since answers (Flow 5)

    def load_catalog(self, options: LayoutOptions) -> Catalog:
        return self.catalog

    def load_items(self, item_ids: Any, group_ids: Any, options: LayoutOptions) -> Catalog:
        raise NotImplementedError  # the tests' changes are `whole`: the sync reads the whole catalog

    def changes_since(self, begin_time: str | None) -> CatalogChanges:
        return self.changes


@dataclass
class FakeCatalogs:
    source: FakeSource

    def for_tenant(self, tenant: Tenant) -> FakeSource:
        return self.source


@dataclass
class FakeCursors:
    cursors: dict[str, str] = field(default_factory=dict)
    inflight: dict[str, dict[str, Any]] = field(default_factory=dict)
    summaries: list[dict[str, Any]] = field(default_factory=list)

    def get(self, tenant_id: str) -> dict[str, Any]:
        return {"cursor": self.cursors.get(tenant_id), "inflight": self.inflight.get(tenant_id)}

    def advance(self, tenant_id: str, cursor: str, summary: dict[str, Any] | None = None) -> None:
        if cursor > self.cursors.get(tenant_id, ""):
            self.cursors[tenant_id] = cursor
        if summary is not None:
            self.summaries.append(summary)

    def record(self, tenant_id: str, summary: dict[str, Any]) -> None:
        self.summaries.append(summary)

    def set_inflight(self, tenant_id: str, inflight: dict[str, Any] | None) -> None:
        if inflight is None:
            self.inflight.pop(tenant_id, None)
        else:
            self.inflight[tenant_id] = inflight


@dataclass
class Fault:
    """Fail the `nth` call of `method` on `kind`: before Wix sees it, after it applied (`lost`), or with a 429."""

    method: str  # bulk_create | bulk_update | delete_many
    kind: WixKind
    nth: int = 1
    lost: bool = False
    throttled: bool = False
    seen: int = 0


class FakeMenus:
    """One site's Wix Menus, shared by the reads and the creates clients (WixMenus and WixMenusApi)."""

    def __init__(self, location_id: str = "loc-1") -> None:
        self.location_id = location_id
        self.entities: dict[WixKind, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, WixKind]] = []
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)

    # --- WixMenus ---
    def reads(self, instance_id: str) -> FakeMenus:
        return self

    def creates(self, instance_id: str) -> FakeMenus:
        return self

    # --- control ---
    def add(self, kind: WixKind, **fields: Any) -> dict[str, Any]:
        entity = {"id": f"{kind}-{next(self._ids)}", "revision": "1", "createdDate": self._now(), **fields}
        self.entities[kind][entity["id"]] = entity
        return entity

    def named(self, kind: WixKind) -> list[str]:
        return sorted(e["name"] for e in self.entities[kind].values())

    def _now(self) -> str:
        return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def _fault(self, method: str, kind: WixKind) -> Fault | None:
        self.calls.append((method, kind))
        for fault in self.faults:
            if fault.method == method and fault.kind == kind:
                fault.seen += 1
                if fault.seen == fault.nth:
                    self.faults.remove(fault)
                    if fault.throttled:
                        raise TransientError("Wix answered HTTP 429 (rate limit)")
                    if not fault.lost:
                        raise TransientError(f"injected: Wix {method} {kind} unavailable")
                    return fault
        return None

    # --- WixMenusApi ---
    def bulk_create(self, kind: WixKind, entities: list[dict[str, Any]]) -> list[Outcome]:
        fault = self._fault("bulk_create", kind)
        outcomes = []
        for index, body in enumerate(entities):
            entity = self.add(kind, **copy.deepcopy(body))
            outcomes.append(Outcome(index, True, entity["id"], entity["revision"], copy.deepcopy(entity)))
        if fault is not None:
            raise TransientError(f"injected: the answer to a {kind} bulk create was lost")
        return outcomes

    def bulk_update(self, kind: WixKind, updates: list[tuple[dict[str, Any], list[str]]]) -> list[Outcome]:
        fault = self._fault("bulk_update", kind)
        outcomes = []
        for index, (patch, mask) in enumerate(updates):
            current = self.entities[kind].get(patch["id"])
            if current is None:
                outcomes.append(Outcome(index, False, patch["id"], code="NOT_FOUND"))
            elif patch.get("revision") != current["revision"]:
                outcomes.append(Outcome(index, False, patch["id"], code="REVISION_MISMATCH"))  # Wix's per-entity 409
            else:
                current.update({name: patch[name] for name in mask})
                current["revision"] = str(int(current["revision"]) + 1)
                outcomes.append(Outcome(index, True, current["id"], current["revision"], copy.deepcopy(current)))
        if fault is not None:
            raise TransientError(f"injected: the answer to a {kind} bulk update was lost")
        return outcomes

    def delete_many(self, kind: WixKind, ids: list[str]) -> list[Outcome]:
        self._fault("delete_many", kind)
        for entity_id in ids:
            self.entities[kind].pop(entity_id, None)  # one already gone counts as deleted
        return [Outcome(index, True, entity_id) for index, entity_id in enumerate(ids)]

    def query(self, kind: WixKind, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(e) for e in self.entities[kind].values() if _matches(e, filter or {})]

    def by_ids(self, kind: WixKind, ids: list[str]) -> list[dict[str, Any]]:
        return self.query(kind, {"id": {"$in": ids}})

    def list_locations(self) -> list[dict[str, Any]]:
        return [{"id": self.location_id, "default": True}]


def _matches(entity: dict[str, Any], flt: dict[str, Any]) -> bool:
    for name, wanted in flt.items():
        value = entity.get(name)
        if isinstance(wanted, dict):
            if "$in" in wanted and value not in wanted["$in"]:
                return False
            if "$gte" in wanted and (value is None or value < wanted["$gte"]):
                return False
        elif value != wanted:
            return False
    return True


@dataclass
class Shop:
    """One tenant's catalog publish over fakes."""

    tenant: Tenant
    catalog: Catalog
    wix: FakeMenus = field(default_factory=FakeMenus)
    jobs: FakeJobs = field(default_factory=FakeJobs)
    blobs: FakeBlobs = field(default_factory=FakeBlobs)
    mappings: FakeMappings = field(default_factory=FakeMappings)
    cursors: FakeCursors = field(default_factory=FakeCursors)
    sleeps: list[float] = field(default_factory=list)
    source: FakeSource | None = None
    publishes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.source = FakeSource(self.catalog)

    def sync_ports(self, max_changes: int = 500) -> SyncPorts:
        """Flow 5's ports over the same fakes (a sync after an import sees what the import left)."""
        assert self.source is not None
        return SyncPorts(
            tenants=FakeTenants({self.tenant.instance_id: self.tenant}),
            catalogs=FakeCatalogs(self.source),
            mappings=self.mappings,
            locks=self.jobs,
            state=self.cursors,
            wix=self.wix,
            start_publish=self._start_publish,
            max_changes=max_changes,
        )

    def _start_publish(self, instance_id: str) -> str:
        self.publishes.append(instance_id)
        return f"job-started-{len(self.publishes)}"

    def deps(self) -> flow.Deps:
        return flow.Deps(
            jobs=self.jobs,
            blobs=self.blobs,
            mappings=self.mappings,
            tenants=FakeTenants({self.tenant.instance_id: self.tenant}),
            catalogs=FakeCatalogs(FakeSource(self.catalog)),  # the import reads the catalog it was given
            wix=self.wix,
            cursors=self.cursors,
            sleep=self.sleeps.append,
        )


STEPS = ("LoadPosCatalog", "ResolveLocation", "ResolveTarget", "CreateDraft", "CreateVariants", "CreateModifiers",
         "CreateModifierGroups", "CreateItems", "CreateSections", "CreateMenus", "Publish", "Cleanup")  # fmt: skip


def run_step(deps: flow.Deps, name: str, job_id: str, instance_id: str) -> dict[str, Any]:
    """One step as the state machine runs it (create steps and Cleanup looped until done)."""
    if name == "LoadPosCatalog":
        return flow.load_pos_catalog(deps, job_id, {"instanceId": instance_id})
    single: dict[str, Callable[[flow.Deps, str], dict[str, Any]]] = {
        "ResolveLocation": flow.resolve_location,
        "ResolveTarget": flow.resolve_target,
        "CreateDraft": flow.create_draft,
        "Publish": flow.publish,
        "Cleanup": flow.cleanup,
    }
    kinds = {v: k for k, v in flow.CREATE_STEPS.items()}
    while True:
        result = single[name](deps, job_id) if name in single else flow.create_entities(deps, job_id, kinds[name])
        if not result.get("more"):
            return result
