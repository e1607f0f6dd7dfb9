"""Flow 4: the draft catalog publish. A POS catalog becomes Wix menus without a customer ever seeing a half-built one.

Wix Menus (New) has no drafts and every write is live, so posbridge owns the draft. One function per step of the
seed flow, run in order by the Step Functions workflow (statemachine/catalog_publish.asl.json):

  LoadPosCatalog   POS catalog -> canonical model -> snapshot.json in S3 (the job and the tenant lock are taken first)
  ResolveLocation  the Wix business location (the import's option, else the tenant's setting, else the default)
  ResolveTarget    the location's menus and the current mapping: which menus Publish hides, which old entities
                   Cleanup deletes (target.json; previous-mapping.json and previous-layout.json for Rollback)
  CreateDraft      the plan: every entity to build, within Wix's limits (plan.json; see flows/catalog_plan.py)
  CreateVariants, CreateModifiers, CreateModifierGroups, CreateItems, CreateSections, CreateMenus
                   bulk creates of 100, in Wix's recommended order; menus hidden, so nothing new is reachable yet
  Publish          the visibility switch: new menus shown, then (only once one is visible) old ones hidden, in
                   bulk updates (the "archive"); then the mapping committed, and once it is, the tenant's catalog
                   sync cursor set to the snapshot's POS time (Flow 5 then reads only what changed since it)
  Cleanup          the old entities deleted (never one a live menu still uses); the job succeeded, the lock freed
  Rollback         (on any failure before Publish committed) every entity this job created deleted, old menus shown
                   again if Publish had hidden them, the previous mapping and layout names restored, the job failed
                   with the reason

Exactly once under retries. Bulk creates are not idempotent at Wix, so each batch is journaled: before the call the
job records the batch as in flight (kind, number, time, names); after it the per-entity answers go to S3
(journal/<kind>/<n>.json). A batch whose answer never arrived (timeout, 5xx, a crash before journaling) is in doubt:
before it is sent again, entities of that kind with those names created since the call and not journaled are
deleted; and a job that had any doubt sweeps every kind once more before Publish. Creates go through a client that
does not retry by itself, so no retry happens below this journal. Everything else is idempotent by nature (deletes
tolerate 404, updates carry revisions and re-read on 409, mapping writes are puts).

One rejected entity is recorded on the job and skipped (and what needs it is skipped with it); more Wix rejections
than the job's `max_rejected` fail the import. Steps heartbeat the job after every batch; the scheduled health check
(heal_stuck_jobs) fails a job that went silent, rolls it back and frees its tenant.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from posbridge.domain.catalog import Catalog, LayoutOptions, PosKind
from posbridge.domain.catalog_job import (
    ERRORS_KEPT,
    JOB_ID,
    EntityError,
    ImportAlreadyRunning,
    ImportJob,
    ImportOptions,
    Inflight,
    JobConflict,
    Progress,
)
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.errors import PermanentError, TransientError
from posbridge.flows.catalog_plan import BUILD_ORDER, Plan, PlanNode, build_plan, resolve
from posbridge.ports.pos import CatalogSources
from posbridge.ports.stores import BlobStore, CatalogJobStore, CatalogMappingStore, CatalogSyncCursor, TenantReader
from posbridge.ports.wix import BULK_MAX, Outcome, Rejected, WixKind, WixMenus, WixMenusApi
from posbridge.ports.work import Executions

DELETE_ORDER: tuple[WixKind, ...] = ("menu", "section", "item", "modifierGroup", "modifier", "variant")
CREATE_STEPS: dict[WixKind, str] = {
    "variant": "CreateVariants",
    "modifier": "CreateModifiers",
    "modifierGroup": "CreateModifierGroups",
    "item": "CreateItems",
    "section": "CreateSections",
    "menu": "CreateMenus",
}
DEPENDENCY = "DEPENDENCY_REJECTED"
THROTTLED_WAIT_S = 20.0  # a bulk create answered 429 waits this long (Wix counts requests per minute) ...
THROTTLED_WAITS = 3  # ... this many times per batch before it counts as a failed attempt


# --- ports ------------------------------------------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    jobs: CatalogJobStore
    blobs: BlobStore
    mappings: CatalogMappingStore
    tenants: TenantReader
    catalogs: CatalogSources
    wix: WixMenus
    cursors: CatalogSyncCursor
    clock: Callable[[], datetime] = _utcnow
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    batch_size: int = BULK_MAX
    budget_s: float = 90.0  # work per invocation before a step hands back ("more") to the state machine
    create_attempts: int = 3  # attempts of one bulk create inside a step (Step Functions retries the step on top)
    sweep_margin_s: float = 60.0  # clock skew tolerated between posbridge and Wix when sweeping by creation time


class JobAbandoned(PermanentError):
    """The job stopped running under this step (e.g. the health check failed it): stop touching Wix."""


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def new_job_id(now: datetime) -> str:
    return f"ci-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"


# --- the step context ---------------------------------------------------------------------------------------------


class Step:
    """One invocation of one step on one running job: heartbeats, budget and the job's S3 documents."""

    def __init__(self, deps: Deps, job_id: str, name: str) -> None:
        self.deps = deps
        self.name = name
        self.deadline = deps.monotonic() + deps.budget_s
        self.worked = False  # at least one batch per invocation, whatever the budget
        self._target: dict[str, Any] | None = None
        job = deps.jobs.get(job_id)
        if job is None:
            raise PermanentError("unknown_job", f"catalog import {job_id} does not exist")
        if job.status != "running":
            raise JobAbandoned("job_not_running", f"catalog import {job_id} is {job.status}: {job.reason or ''}")
        self.job = job
        self.update(lambda j: setattr(j, "step", name))

    @property
    def api(self) -> WixMenusApi:
        return self.deps.wix.reads(self.job.instance_id)

    def update(self, change: Callable[[ImportJob], None]) -> None:
        """Apply `change` and save with a heartbeat; on a concurrent write, re-read and re-apply (a few times)."""
        for _ in range(5):
            change(self.job)
            now = iso(self.deps.clock())
            self.job.heartbeat_at = self.job.updated_at = now
            try:
                self.deps.jobs.save(self.job)
                return
            except JobConflict:
                fresh = self.deps.jobs.get(self.job.job_id)
                if fresh is None or fresh.status != "running":
                    raise JobAbandoned(
                        "job_abandoned",
                        f"catalog import {self.job.job_id} was stopped: {fresh.reason if fresh else ''}",
                    ) from None
                self.job = fresh
        raise TransientError(f"catalog import {self.job.job_id}: the job record keeps changing")

    def out_of_time(self) -> bool:
        return self.worked and self.deps.monotonic() >= self.deadline

    def protected(self, kind: str) -> set[str]:
        """Ids a sweep must never delete: the entities of the previous import (the live catalog)."""
        if self._target is None:
            self._target = self.deps.blobs.get_json(self.key("target.json")) or {"owned": {}}
        return set(self._target["owned"].get(kind, []))

    def target(self) -> dict[str, Any]:
        """ResolveTarget's target.json, read once per step (sweeps and Cleanup use it too)."""
        if self._target is None:
            self._target = self.get("target.json")
        return self._target

    def key(self, name: str) -> str:
        return self.job.key_prefix + name

    def get(self, name: str) -> Any:
        value = self.deps.blobs.get_json(self.key(name))
        if value is None:
            raise PermanentError("missing_document", f"{self.key(name)} is missing: an earlier step did not run")
        return value

    def plan(self) -> Plan:
        return Plan.model_validate(self.get("plan.json"))


# --- starting -----------------------------------------------------------------------------------------------------


def start_import(
    tenants: TenantReader,
    jobs: CatalogJobStore,
    executions: Executions,
    instance_id: str,
    options: ImportOptions,
    clock: Callable[[], datetime] = _utcnow,
) -> ImportJob:
    """The admin API's rule: a registered, active tenant; one import at a time (ImportAlreadyRunning otherwise).
    The job and the tenant lock are taken first, then the execution is started under the job's id."""
    tenant = tenants.get(instance_id)
    if tenant is None:
        raise PermanentError("unknown_tenant", f"no tenant is registered for instance {instance_id}")
    if tenant.status != "active":
        raise PermanentError("tenant_not_active", f"tenant {instance_id} is {tenant.status}")
    now = clock()
    job = _new_job(new_job_id(now), instance_id, options, now)
    jobs.start(job)
    try:
        arn = executions.start(job.job_id, {"instanceId": instance_id, "options": options.model_dump(by_alias=True)})
    except Exception as exc:
        _finish_job(jobs, clock, job, "failed", f"the workflow could not be started: {type(exc).__name__}")
        raise TransientError(f"the catalog publish workflow could not be started for {instance_id}") from exc
    return _save(jobs, clock, job, lambda j: setattr(j, "execution_arn", j.execution_arn or arn))


def _new_job(job_id: str, instance_id: str, options: ImportOptions, now: datetime) -> ImportJob:
    stamp = iso(now)
    return ImportJob(
        job_id=job_id, instance_id=instance_id, options=options, started_at=stamp, updated_at=stamp, heartbeat_at=stamp
    )


def _save(
    jobs: CatalogJobStore, clock: Callable[[], datetime], job: ImportJob, change: Callable[[ImportJob], None]
) -> ImportJob:
    """Apply `change` and save; on a concurrent write, re-read and re-apply (a few times)."""
    for _ in range(5):
        change(job)
        job.updated_at = iso(clock())
        try:
            jobs.save(job)
            return job
        except JobConflict:
            fresh = jobs.get(job.job_id)
            if fresh is None:
                raise
            job = fresh
    raise TransientError(f"catalog import {job.job_id}: the job record keeps changing")


# --- LoadPosCatalog -----------------------------------------------------------------------------------------------


def load_pos_catalog(
    deps: Deps, job_id: str, request: dict[str, Any], execution_arn: str | None = None
) -> dict[str, Any]:
    """Take the job (a manual execution creates it here, under the same lock), then snapshot the POS catalog."""
    if not JOB_ID.match(job_id):
        raise PermanentError("invalid_job_id", "the execution name must be 1-80 letters, digits, '-' or '_'")
    instance_id = request.get("instanceId")
    if not isinstance(instance_id, str) or not instance_id:
        raise PermanentError("invalid_input", "the execution input needs an instanceId")
    options = ImportOptions.model_validate(request.get("options") or {})
    job = deps.jobs.get(job_id)
    if job is None:
        job = _new_job(job_id, instance_id, options, deps.clock())
        job.execution_arn = execution_arn
        try:
            deps.jobs.start(job)
        except ImportAlreadyRunning as exc:  # the job is kept, failed, with this reason
            raise PermanentError("import_already_running", str(exc)) from exc
    elif job.instance_id != instance_id:
        raise PermanentError("invalid_input", f"job {job_id} belongs to another tenant")
    step = Step(deps, job_id, "LoadPosCatalog")
    if execution_arn and not step.job.execution_arn:
        step.update(lambda j: setattr(j, "execution_arn", execution_arn))
    tenant = deps.tenants.get(instance_id)
    if tenant is None:
        raise PermanentError("unknown_tenant", f"no tenant is registered for instance {instance_id}")
    if tenant.status != "active":
        raise PermanentError("tenant_not_active", f"tenant {instance_id} is {tenant.status}")
    layout = LayoutOptions(menu_name=step.job.options.menu_name, uncategorized_name=step.job.options.uncategorized_name)
    catalog = deps.catalogs.for_tenant(tenant).load_catalog(layout)
    deps.blobs.put_json(step.key("snapshot.json"), catalog.model_dump(mode="json"))

    def record(j: ImportJob) -> None:
        j.issues_count = len(catalog.issues)
        j.snapshot_as_of = catalog.as_of  # a re-run's new snapshot replaces both

    step.update(record)
    return {"snapshotKey": step.key("snapshot.json"), "counts": catalog.counts()}


# --- ResolveLocation ----------------------------------------------------------------------------------------------


def resolve_location(deps: Deps, job_id: str) -> dict[str, Any]:
    step = Step(deps, job_id, "ResolveLocation")
    locations = step.api.list_locations()
    tenant = deps.tenants.get(step.job.instance_id)
    wanted = step.job.options.location_id or (tenant.settings.wix_location_id if tenant else None)
    if wanted:
        found = next((loc for loc in locations if loc.get("id") == wanted), None)
        if found is None:
            raise PermanentError("unknown_location", f"location {wanted} is not an active location of the site")
    else:
        found = next((loc for loc in locations if loc.get("default")), locations[0] if locations else None)
        if found is None:
            raise PermanentError("no_location", "the Wix site has no active business location")
    location_id = str(found["id"])
    step.update(lambda j: setattr(j, "location_id", location_id))
    return {"locationId": location_id}


# --- ResolveTarget ------------------------------------------------------------------------------------------------


def wix_entities_by_kind(mappings: list[CatalogMapping]) -> dict[str, set[str]]:
    owned: dict[str, set[str]] = {kind: set() for kind in DELETE_ORDER}
    for m in mappings:
        for entity in m.wix_entities:
            kind, _, wix_id = entity.partition("/")
            owned.setdefault(kind, set()).add(wix_id)
    return owned


def resolve_target(deps: Deps, job_id: str) -> dict[str, Any]:
    """What the new catalog replaces: the location's visible menus Publish hides, the old entities Cleanup deletes."""
    step = Step(deps, job_id, "ResolveTarget")
    job = step.job
    previous = deps.mappings.load(job.instance_id)
    owned = wix_entities_by_kind(previous)
    pending = deps.jobs.pending_cleanup(job.instance_id)
    if pending is not None:
        left = deps.blobs.get_json(pending[1]) or {}
        for kind, ids in (left.get("owned") or {}).items():
            owned.setdefault(kind, set()).update(ids)
    menus = step.api.query("menu")
    here = [m for m in menus if m.get("businessLocationId") in (None, job.location_id)]
    hide = [
        {"id": m["id"], "revision": m.get("revision")}
        for m in here
        if m.get("visible", True) and (m["id"] in owned["menu"] or job.options.hide_other_menus)
    ]
    deps.blobs.put_json(step.key("previous-mapping.json"), [m.model_dump(mode="json") for m in previous])
    layout = deps.mappings.layout(job.instance_id)
    deps.blobs.put_json(step.key("previous-layout.json"), {"layout": list(layout) if layout else None})
    target = {
        "locationId": job.location_id,
        "hide": hide,
        "owned": {kind: sorted(ids) for kind, ids in owned.items()},
        "pendingCleanupJob": pending[0] if pending else None,
    }
    deps.blobs.put_json(step.key("target.json"), target)
    return {
        "targetKey": step.key("target.json"),
        "menusToHide": len(hide),
        "oldEntities": sum(map(len, owned.values())),
    }


# --- CreateDraft --------------------------------------------------------------------------------------------------


def create_draft(deps: Deps, job_id: str) -> dict[str, Any]:
    step = Step(deps, job_id, "CreateDraft")
    catalog = Catalog.model_validate(step.get("snapshot.json"))
    plan = build_plan(catalog)
    if not plan.nodes["menu"]:
        raise PermanentError("nothing_to_publish", "the POS catalog has no item that can go on a menu")
    deps.blobs.put_json(step.key("plan.json"), plan.model_dump(mode="json"))
    deps.blobs.put_json(step.key("issues.json"), [i.model_dump(mode="json") for i in plan.issues])
    totals = plan.totals()

    def record(j: ImportJob) -> None:
        j.progress = {kind: Progress(total=n) for kind, n in totals.items()}
        j.issues_count = len(plan.issues)

    step.update(record)
    return {"planKey": step.key("plan.json"), "totals": totals}


# --- Create<Kind> ---------------------------------------------------------------------------------------------------


def _created(step: Step, through: WixKind | None) -> dict[str, dict[str, Any]]:
    """key -> {id, revision} of everything created up to and including the `through` step (None: nothing yet).

    Each Create<Kind> step ends by writing created/<kind>.json: the previous one's content plus its own, so a step
    reads one document whatever its place in the build order."""
    return {} if through is None else dict(step.get(f"created/{through}.json"))


def _journal(step: Step, kind: str) -> dict[int, dict[str, Any]]:
    """Batch number -> {key: {id, revision} | {error: {code, message}}}, for every batch of `kind` answered so far."""
    prefix = step.key(f"journal/{kind}/")
    found: dict[int, dict[str, Any]] = {}
    for key in step.deps.blobs.list_keys(prefix):
        number = key[len(prefix) :].split(".")[0]
        if number.isdigit():
            found[int(number)] = step.deps.blobs.get_json(key) or {}
    return found


def create_entities(deps: Deps, job_id: str, kind: WixKind) -> dict[str, Any]:
    """One Create<Kind> step: the plan's entities of `kind`, 100 per bulk call, journaled per batch.

    Returns {"more": true} when the time budget ran out with batches left: the state machine calls it again."""
    step = Step(deps, job_id, CREATE_STEPS[kind])
    plan = step.plan()
    position = BUILD_ORDER.index(kind)
    previous = _created(step, BUILD_ORDER[position - 1] if position else None)
    created = {k: v["id"] for k, v in previous.items()}
    journal = _journal(step, kind)
    known = {r["id"] for batch in journal.values() for r in batch.values() if "id" in r}
    work: list[tuple[PlanNode, dict[str, Any]]] = []
    skipped: dict[str, dict[str, Any]] = {}
    for node in plan.nodes.get(kind, []):
        body, missing = resolve(node, created)
        if body is None:
            skipped[node.key] = {"error": {"code": DEPENDENCY, "message": f"needs {', '.join(missing[:5])}"}}
        else:
            work.append((node, body))
    names = {n.key: n.name for n in plan.nodes.get(kind, [])}
    if skipped or journal:
        _record_batch(step, kind, journal, skipped, names)
    batches = [work[i : i + deps.batch_size] for i in range(0, len(work), deps.batch_size)]
    for number, batch in enumerate(batches):
        if number in journal:
            continue
        if step.out_of_time():
            return {"kind": kind, "more": True, **_progress(step, kind)}
        inflight = step.job.inflight
        if inflight is not None and inflight.kind == kind and inflight.batch == number:
            _sweep(step, kind, inflight.names, inflight.at, known)  # the answer to this batch never arrived
        results = _send_batch(step, kind, number, batch, known)
        step.worked = True
        deps.blobs.put_json(step.key(f"journal/{kind}/{number:05d}.json"), results)
        journal[number] = results
        known |= {r["id"] for r in results.values() if "id" in r}
        _record_batch(step, kind, journal, skipped, names)
    done = {key: r for batch in journal.values() for key, r in batch.items() if "id" in r}
    deps.blobs.put_json(step.key(f"created/{kind}.json"), previous | done)
    rejected = sum(p.rejected for p in step.job.progress.values())
    if rejected > step.job.options.max_rejected:
        raise PermanentError(
            "too_many_rejections",
            f"Wix rejected {rejected} entities, more than the {step.job.options.max_rejected} this import allows",
        )
    return {"kind": kind, "more": False, **_progress(step, kind)}


def _progress(step: Step, kind: str) -> dict[str, int]:
    p = step.job.progress.get(kind, Progress())
    return {"done": p.done, "rejected": p.rejected, "skipped": p.skipped, "total": p.total}


def _record_batch(
    step: Step, kind: str, journal: dict[int, dict[str, Any]], skipped: dict[str, Any], names: dict[str, str]
) -> None:
    """Progress and errors recomputed from the journal (so a re-run never counts twice); clears the in-flight mark."""
    results = [r for batch in journal.values() for r in batch.values()]
    failed = {k: r for batch in journal.values() for k, r in batch.items() if "error" in r}

    def change(j: ImportJob) -> None:
        total = j.progress.get(kind, Progress()).total
        j.progress[kind] = Progress(
            done=sum(1 for r in results if "id" in r), rejected=len(failed), skipped=len(skipped), total=total
        )
        j.inflight = None
        seen = {e.key for e in j.errors}
        for key, result in (failed | skipped).items():
            if key not in seen and len(j.errors) < ERRORS_KEPT:
                error = result["error"]
                j.errors.append(
                    EntityError(
                        kind=kind, key=key, name=names.get(key, ""), code=error["code"], message=error["message"]
                    )
                )
        j.error_count = sum(p.rejected + p.skipped for k, p in j.progress.items() if k != "cleanup")

    step.update(change)


def _send_batch(
    step: Step, kind: WixKind, number: int, batch: list[tuple[PlanNode, dict[str, Any]]], known: set[str]
) -> dict[str, dict[str, Any]]:
    """Create one batch; a 400 naming entities rejects those and re-sends the rest, one that names none is halved
    until the culprit stands alone; an unknown outcome is swept, then tried again (a few times)."""
    results: dict[str, dict[str, Any]] = {}
    queue = [batch]
    creates = step.deps.wix.creates(step.job.instance_id)
    attempts = throttled_waits = 0
    while queue:
        group = queue.pop(0)
        if not group:
            continue
        names = [node.name for node, _ in group]
        at = iso(step.deps.clock())
        step.update(_mark(Inflight(kind=kind, batch=number, at=at, names=names)))
        try:
            outcomes = creates.bulk_create(kind, [body for _, body in group])
        except Rejected as exc:
            if exc.indexes:
                for index in sorted(exc.indexes):
                    if index < len(group):
                        results[group[index][0].key] = _error(exc.code, str(exc))
                queue.insert(0, [g for i, g in enumerate(group) if i not in exc.indexes])
            elif len(group) == 1:
                results[group[0][0].key] = _error(exc.code, str(exc))
            else:
                half = len(group) // 2
                queue[:0] = [group[:half], group[half:]]
            continue
        except TransientError as exc:
            if _throttled(exc) and throttled_waits < THROTTLED_WAITS:
                # 429: Wix refused the call unread (nothing to sweep); its minute window must pass first.
                throttled_waits += 1
                step.deps.sleep(THROTTLED_WAIT_S)
                queue.insert(0, group)
                continue
            attempts += 1
            step.update(lambda j: setattr(j, "in_doubt", True))
            _sweep(step, kind, names, at, known)
            if attempts >= step.deps.create_attempts:
                raise
            step.deps.sleep(min(2.0, 0.2 * 2**attempts))
            queue.insert(0, group)
            continue
        for (node, _), outcome in zip(group, outcomes, strict=True):
            results[node.key] = _result(outcome)
    return results


def _throttled(exc: TransientError) -> bool:
    """The create client's single attempt was answered 429 (posbridge.http_retry names the status it gave up on)."""
    return "HTTP 429" in str(exc)


def _mark(inflight: Inflight) -> Callable[[ImportJob], None]:
    def change(j: ImportJob) -> None:
        j.inflight = inflight

    return change


def _result(outcome: Outcome) -> dict[str, Any]:
    if outcome.ok and outcome.id:
        return {"id": outcome.id, "revision": outcome.revision}
    return _error(outcome.code or "UNKNOWN", outcome.message)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message[:300]}}


def _sweep(step: Step, kind: WixKind, names: list[str], at: str, known: set[str]) -> int:
    """Delete entities of `kind` named like the in-doubt batch, created since it was sent, that no journal knows."""
    if not names:
        return 0
    since = _parse(at) - timedelta(seconds=step.deps.sweep_margin_s)
    api = step.api
    found = api.query(kind, {"name": {"$in": sorted(set(names))}, "createdDate": {"$gte": iso(since)}})
    keep = known | step.protected(kind)
    orphans = [e["id"] for e in found if e.get("id") and e["id"] not in keep]
    _delete(api, kind, orphans, strict=True)
    return len(orphans)


def _sweep_all(step: Step, plan: Plan) -> int:
    """Before Publish, after any doubt: every kind, every planned name, since the job started."""
    removed = 0
    for kind in BUILD_ORDER:
        journal = _journal(step, kind)
        known = {r["id"] for batch in journal.values() for r in batch.values() if "id" in r}
        names = sorted({n.name for n in plan.nodes.get(kind, [])})
        for start in range(0, len(names), BULK_MAX):
            removed += _sweep(step, kind, names[start : start + BULK_MAX], step.job.started_at, known)
    return removed


def _delete(api: WixMenusApi, kind: WixKind, ids: list[str], strict: bool) -> list[Outcome]:
    """Delete in bulk calls of 100; with `strict`, an entity Wix would not delete is a TransientError (try again)."""
    failed: list[Outcome] = []
    for start in range(0, len(ids), BULK_MAX):
        failed += [o for o in api.delete_many(kind, ids[start : start + BULK_MAX]) if not o.ok]
    if failed and strict:
        raise TransientError(f"Wix did not delete {len(failed)} {kind} entities: {failed[0].code}")
    return failed


# --- Publish ------------------------------------------------------------------------------------------------------


def publish(deps: Deps, job_id: str) -> dict[str, Any]:
    """The one visible moment: new menus shown, then the old hidden; then the mapping committed."""
    step = Step(deps, job_id, "Publish")
    plan = step.plan()
    target = step.target()
    if step.job.in_doubt and not step.job.swept:
        _sweep_all(step, plan)
        step.update(lambda j: setattr(j, "swept", True))
    created = _created(step, BUILD_ORDER[-1])
    new_menus = [created[n.key] for n in plan.nodes["menu"] if n.key in created]
    if not new_menus:
        raise PermanentError("nothing_to_publish", "no menu of the new catalog could be created")
    api = step.api
    old = {m["id"]: m.get("revision") for m in target["hide"]}
    revisions = {m["id"]: m.get("revision") for m in new_menus} | old
    visible = {m["id"]: False for m in new_menus} | dict.fromkeys(old, True)
    if step.job.publish_started:  # a retry: what is visible now, at which revision
        current = {m["id"]: m for m in api.by_ids("menu", list(revisions))}
        revisions = {i: m.get("revision") for i, m in current.items()}
        visible = {i: bool(m.get("visible", True)) for i, m in current.items()}
    step.update(lambda j: setattr(j, "publish_started", True))

    shown, failed = _flip(api, [m["id"] for m in new_menus if not visible.get(m["id"])], True, revisions)
    live = [m["id"] for m in new_menus if visible.get(m["id"]) or m["id"] in shown]
    if not live:
        raise TransientError(f"no new menu could be made visible ({failed[0] if failed else 'unknown'})")
    hidden, not_hidden = _flip(api, [i for i in old if visible.get(i)], False, revisions)
    warnings = [f"menu {m['id']} could not be shown: {m['code']}" for m in failed]
    warnings += [f"old menu {m['id']} could not be hidden: {m['code']}" for m in not_hidden]
    for menu in new_menus:
        if menu["id"] in shown:
            menu["revision"] = shown[menu["id"]]
    mapping = build_mapping(plan, created)

    def committing(j: ImportJob) -> None:
        j.mapping_started = True
        j.warnings = [*j.warnings, *(w for w in warnings if w not in j.warnings)]

    step.update(committing)
    deps.mappings.replace(step.job.instance_id, mapping)
    deps.mappings.save_layout(step.job.instance_id, step.job.options.menu_name, step.job.options.uncategorized_name)
    deps.blobs.put_json(step.key("unused.json"), _unused(plan, created))
    step.update(lambda j: setattr(j, "published", True))
    _start_sync_at_snapshot(deps, step.job)
    return {"shown": len(live), "hidden": len(hidden), "mapped": len(mapping)}


def _start_sync_at_snapshot(deps: Deps, job: ImportJob) -> None:
    """The mapping now says what Wix shows: the POS catalog as of the snapshot. Flow 5 can start from there (changes
    made later, during the import too, are newer and come back to it) instead of reading the whole catalog.

    Only once `published` is recorded: before that a Rollback can restore the previous mapping, which the cursor must
    still describe. Never backwards (a conditional write; a re-run writes the same value)."""
    if job.published and job.snapshot_as_of:
        deps.cursors.advance(job.instance_id, job.snapshot_as_of)


def _flip(
    api: WixMenusApi, ids: list[str], visible: bool, revisions: dict[str, Any]
) -> tuple[dict[str, str | None], list[dict[str, str]]]:
    """Set `visible` on menus (100 per call). A failure (a stale revision, mostly) is re-read: done if the menu is
    already as wanted, else tried once more with its current revision; a menu that no longer exists is left alone.
    Returns ({id: new revision}, failures)."""
    done: dict[str, str | None] = {}
    failed: list[dict[str, str]] = []
    for start in range(0, len(ids), BULK_MAX):
        chunk = ids[start : start + BULK_MAX]
        retry: list[str] = []
        for menu_id, outcome in zip(chunk, _update_visible(api, chunk, visible, revisions), strict=True):
            if outcome.ok:
                done[menu_id] = outcome.revision
            elif outcome.code != "NOT_FOUND":
                retry.append(menu_id)
        if not retry:
            continue
        current = {m["id"]: m for m in api.by_ids("menu", retry)}
        again = [i for i in retry if i in current and bool(current[i].get("visible", True)) != visible]
        done |= {i: current[i].get("revision") for i in retry if i in current and i not in again}
        fresh = {i: current[i].get("revision") for i in again}
        for menu_id, outcome in zip(again, _update_visible(api, again, visible, fresh), strict=True):
            if outcome.ok:
                done[menu_id] = outcome.revision
            else:
                failed.append({"id": menu_id, "code": outcome.code})
    return done, failed


def _update_visible(api: WixMenusApi, ids: list[str], visible: bool, revisions: dict[str, Any]) -> list[Outcome]:
    if not ids:
        return []
    return api.bulk_update(
        "menu", [({"id": i, "revision": revisions.get(i), "visible": visible}, ["visible"]) for i in ids]
    )


def build_mapping(plan: Plan, created: dict[str, dict[str, Any]]) -> list[CatalogMapping]:
    """Every POS entity that made it to Wix -> its Wix id(s), revision and content hash."""
    mapping: list[CatalogMapping] = []
    categories: dict[str, list[PlanNode]] = {}
    for kind in BUILD_ORDER:
        for node in plan.nodes.get(kind, []):
            if node.key not in created:
                continue
            if node.pos_kind == "CATEGORY":
                categories.setdefault(node.pos_id, []).append(node)
            elif node.pos_kind != "ITEM_VARIATION":
                own = _mapping(plan, node.pos_kind, node.pos_id, [node], created)
                if node.kind == "item":
                    own = own.model_copy(update={"placement": plan.placements.get(node.pos_id)})
                mapping.append(own)
    for pos_id, nodes in categories.items():
        nodes.sort(key=lambda n: (n.kind != "menu", n.key))
        mapping.append(_mapping(plan, "CATEGORY", pos_id, nodes, created))
    for entry in plan.variations:
        item = created.get(entry.item_key)
        if item is None:
            continue
        variant = created.get(entry.variant_key) if entry.variant_key else None
        if entry.variant_key and variant is None:
            continue
        main = variant or item
        mapping.append(
            CatalogMapping(
                pos_kind="ITEM_VARIATION",
                pos_id=entry.pos_id,
                wix_id=main["id"],
                wix_kind="variant" if variant else "item",
                revision=main.get("revision"),
                content_hash=plan.hashes.get(f"ITEM_VARIATION#{entry.pos_id}", ""),
                wix_entities=(f"variant/{variant['id']}",) if variant else (),
                wix_item_id=item["id"],
                wix_menu_id=(created.get(entry.menu_key or "") or {}).get("id"),
                wix_section_id=(created.get(entry.section_key or "") or {}).get("id"),
                wix_variant_id=variant["id"] if variant else None,
                variant_hash=plan.hashes.get(f"VARIANT#{entry.pos_id}"),
                price_hash=plan.hashes.get(f"PRICE#{entry.pos_id}"),
            )
        )
    return mapping


def _mapping(
    plan: Plan, pos_kind: PosKind, pos_id: str, nodes: list[PlanNode], created: dict[str, dict[str, Any]]
) -> CatalogMapping:
    main = created[nodes[0].key]
    return CatalogMapping(
        pos_kind=pos_kind,
        pos_id=pos_id,
        wix_id=main["id"],
        wix_kind=nodes[0].kind,
        revision=main.get("revision"),
        content_hash=plan.hashes.get(f"{pos_kind}#{pos_id}", ""),
        wix_entities=tuple(f"{n.kind}/{created[n.key]['id']}" for n in nodes),
    )


def _unused(plan: Plan, created: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Created entities nothing created refers to (their user was rejected): Cleanup deletes them too."""
    # A variant is kept while its item exists, offered or not (a sold-out size waits to be back in stock).
    used = {v.variant_key for v in plan.variations if v.variant_key and v.item_key in created}
    for kind in BUILD_ORDER:
        for node in plan.nodes.get(kind, []):
            if node.key in created:
                used |= {r.key for r in node.refs if r.key in created}
    unused: dict[str, list[str]] = {}
    for kind in BUILD_ORDER:
        if kind == "menu":
            continue
        for node in plan.nodes.get(kind, []):
            if node.key in created and node.key not in used:
                unused.setdefault(kind, []).append(created[node.key]["id"])
    return unused


# --- Cleanup ------------------------------------------------------------------------------------------------------


def cleanup(deps: Deps, job_id: str) -> dict[str, Any]:
    """Delete the old entities (those the previous mapping named) and what this job created but did not use; an
    entity a visible menu still lists (e.g. one the restaurant reused in its own menu) is kept and reported."""
    step = Step(deps, job_id, "Cleanup")
    if not step.job.published:
        raise PermanentError("not_published", "Cleanup runs only after Publish")
    target = step.target()
    doomed = _doomed(step, target)
    api = step.api
    total = sum(len(ids) for ids in doomed.values())
    if total and not step.job.cleanup_batches:
        kept = _still_live(api, doomed)
        if kept:
            doomed = {k: [i for i in ids if i not in kept] for k, ids in doomed.items()}
            step.update(lambda j: j.warnings.append(f"{len(kept)} old entities kept: a visible menu still lists them"))
    done = sum(min(n * BULK_MAX, len(doomed.get(k, []))) for k, n in step.job.cleanup_batches.items())
    for kind in DELETE_ORDER:
        ids = doomed.get(kind, [])
        for number in range(step.job.cleanup_batches.get(kind, 0), (len(ids) + BULK_MAX - 1) // BULK_MAX):
            if step.out_of_time():
                return {"more": True, "done": done, "total": total}
            chunk = ids[number * BULK_MAX : (number + 1) * BULK_MAX]
            failed = _delete(api, kind, chunk, strict=False)
            step.worked = True
            done += len(chunk)

            def advance(
                j: ImportJob, kind: str = kind, number: int = number, failed: list[Outcome] = failed, done: int = done
            ) -> None:
                j.cleanup_batches[kind] = number + 1
                j.progress["cleanup"] = Progress(done=done, total=total, rejected=len(failed))
                j.warnings.extend(f"old {kind} {o.id} not deleted: {o.code}" for o in failed[:5])

            step.update(advance)
    if target.get("pendingCleanupJob"):
        deps.jobs.clear_pending_cleanup(step.job.instance_id, target["pendingCleanupJob"])
    _finish(deps, step.job, "succeeded", None)
    return {"more": False, "done": done, "total": total}


def _doomed(step: Step, target: dict[str, Any]) -> dict[str, list[str]]:
    unused = step.deps.blobs.get_json(step.key("unused.json")) or {}
    doomed: dict[str, list[str]] = {}
    for kind in DELETE_ORDER:
        ids = set(target["owned"].get(kind, [])) | set(unused.get(kind, []))
        doomed[kind] = sorted(ids)
    return doomed


def _still_live(api: WixMenusApi, doomed: dict[str, list[str]]) -> set[str]:
    """Old sections and items that a visible menu (not one Cleanup deletes) still lists."""
    doomed_menus = set(doomed.get("menu", []))
    menus = [m for m in api.query("menu", {"visible": True}) if m.get("id") not in doomed_menus]
    section_ids = sorted({s for m in menus for s in m.get("sectionIds") or []})
    if not section_ids:
        return set()
    sections = [s for s in api.by_ids("section", section_ids) if s.get("visible", True)]
    live = set(section_ids) | {i for s in sections for i in s.get("itemIds") or []}
    return live & (set(doomed.get("section", [])) | set(doomed.get("item", [])))


# --- finishing and Rollback ---------------------------------------------------------------------------------------


def _finish(deps: Deps, job: ImportJob, status: str, reason: str | None, warnings: list[str] | None = None) -> None:
    _finish_job(deps.jobs, deps.clock, job, status, reason, warnings)


def _finish_job(
    jobs: CatalogJobStore,
    clock: Callable[[], datetime],
    job: ImportJob,
    status: str,
    reason: str | None,
    warnings: list[str] | None = None,
) -> None:
    """The job's final state, then its tenant's lock freed (if still its own)."""

    def change(j: ImportJob) -> None:
        j.status = "succeeded" if status == "succeeded" else "failed"
        j.reason = reason
        j.finished_at = j.heartbeat_at = iso(clock())
        j.step = "Done" if status == "succeeded" else j.step
        j.inflight = None
        j.warnings.extend(warnings or [])

    job = _save(jobs, clock, job, change)
    jobs.release(job)


def describe_error(error: dict[str, Any] | None) -> str:
    """Step Functions' Catch output ({Error, Cause: <Lambda error JSON>}) -> one line for the job record."""
    if not error:
        return "failed"
    cause = error.get("Cause")
    message = ""
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
            message = str(parsed.get("errorMessage", "")) if isinstance(parsed, dict) else cause
        except ValueError:
            message = cause
    return f"{error.get('Error', 'Error')}: {message}"[:500]


def rollback(deps: Deps, job_id: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """Undo this job on Wix and in the mapping, then fail it with the reason. After Publish committed, nothing is
    undone: the new menus are live and mapped, so the job succeeds and the old entities wait for the next import."""
    job = deps.jobs.get(job_id)
    if job is None or job.status != "running":
        return {"status": job.status if job else "unknown", "reason": job.reason if job else describe_error(error)}
    reason = describe_error(error)
    if job.published:
        _start_sync_at_snapshot(deps, job)  # in case Publish died between recording `published` and the cursor
        _defer_cleanup(deps, job)
        _finish(deps, job, "succeeded", None, [f"cleanup incomplete ({reason}): the next import deletes what is left"])
        return {"status": "succeeded", "reason": reason}
    undo(deps, job)
    job = deps.jobs.get(job_id) or job
    job.rolled_back = True
    _finish(deps, job, "failed", f"{job.step}: {reason}")
    return {"status": "failed", "reason": f"{job.step}: {reason}"}


def _defer_cleanup(deps: Deps, job: ImportJob) -> None:
    target = deps.blobs.get_json(job.key_prefix + "target.json") or {"owned": {}}
    unused = deps.blobs.get_json(job.key_prefix + "unused.json") or {}
    owned = {k: sorted(set(target["owned"].get(k, [])) | set(unused.get(k, []))) for k in DELETE_ORDER}
    deps.blobs.put_json(job.key_prefix + "leftovers.json", {"owned": owned})
    deps.jobs.set_pending_cleanup(job.instance_id, job.job_id, job.key_prefix + "leftovers.json")


def undo(deps: Deps, job: ImportJob) -> None:
    """Delete every entity the job created (journaled, or swept when in doubt), re-show old menus Publish hid, and
    restore the previous mapping if Publish had begun writing it. Idempotent: run it again after any failure."""
    blobs = deps.blobs
    api = deps.wix.reads(job.instance_id)
    prefix = job.key_prefix
    target = blobs.get_json(prefix + "target.json")
    if job.publish_started and target:
        old = [m["id"] for m in target["hide"]]
        current = {m["id"]: m for m in api.by_ids("menu", old)} if old else {}
        hidden = [i for i, m in current.items() if not m.get("visible", True)]
        _, failed = _flip(api, hidden, True, {i: current[i].get("revision") for i in hidden})
        if failed:
            raise TransientError(f"old menu {failed[0]['id']} could not be shown again: {failed[0]['code']}")
    created: dict[str, set[str]] = {kind: set() for kind in DELETE_ORDER}
    for key in blobs.list_keys(prefix + "journal/"):
        kind = key[len(prefix + "journal/") :].split("/")[0]
        created.setdefault(kind, set()).update(r["id"] for r in (blobs.get_json(key) or {}).values() if "id" in r)
    plan_doc = blobs.get_json(prefix + "plan.json")
    if plan_doc is not None and (job.in_doubt or job.inflight is not None):
        plan = Plan.model_validate(plan_doc)
        since = _parse(job.started_at) - timedelta(seconds=deps.sweep_margin_s)
        for kind in BUILD_ORDER:
            names = sorted({n.name for n in plan.nodes.get(kind, [])})
            for start in range(0, len(names), BULK_MAX):
                flt = {"name": {"$in": names[start : start + BULK_MAX]}, "createdDate": {"$gte": iso(since)}}
                created[kind].update(e["id"] for e in api.query(kind, flt) if e.get("id"))
    old_owned = {i for ids in ((target or {}).get("owned") or {}).values() for i in ids}
    for kind in DELETE_ORDER:
        _delete(api, kind, sorted(created.get(kind, set()) - old_owned), strict=True)
    if job.mapping_started:
        previous = blobs.get_json(prefix + "previous-mapping.json") or []
        deps.mappings.replace(job.instance_id, [CatalogMapping.model_validate(m) for m in previous])
        saved = blobs.get_json(prefix + "previous-layout.json")
        if saved is not None:  # Publish saves its layout names right after the mapping: put the previous ones back
            layout = saved.get("layout")
            deps.mappings.restore_layout(job.instance_id, (str(layout[0]), str(layout[1])) if layout else None)


# --- the health check ---------------------------------------------------------------------------------------------

RUNNING = "RUNNING"


def heal_stuck_jobs(deps: Deps, executions: Executions, stale_after_s: float) -> list[dict[str, str]]:
    """Fail every running job that went silent (no heartbeat for `stale_after_s`) or whose execution ended without
    finishing it: stop the execution, undo what it created, free the tenant. Returns what was healed."""
    healed = []
    now = deps.clock()
    for job_id in deps.jobs.active():
        job = deps.jobs.get(job_id)
        if job is None or job.status != "running":
            if job is not None:
                deps.jobs.release(job)
            continue
        silent_s = (now - _parse(job.heartbeat_at)).total_seconds()
        status = executions.status(job.execution_arn) if job.execution_arn else None
        ended = status is not None and status != RUNNING
        if silent_s < stale_after_s and not ended:
            continue
        if status == RUNNING and job.execution_arn:
            executions.stop(job.execution_arn, "posbridge health check: no heartbeat")
        why = (
            f"the workflow ended ({status}) without finishing the job"
            if ended
            else f"no heartbeat for {int(silent_s)} s in step {job.step}: stopped by the health check"
        )
        if job.published:
            _start_sync_at_snapshot(deps, job)
            _defer_cleanup(deps, job)
            _finish(deps, job, "succeeded", None, [f"cleanup incomplete ({why}): the next import deletes what is left"])
            healed.append({"jobId": job_id, "status": "succeeded", "reason": why})
            continue
        try:
            undo(deps, job)
            rolled_back = True
        except (TransientError, PermanentError) as exc:
            rolled_back = False
            why += f"; rollback incomplete ({type(exc).__name__}): hidden entities may remain"
        job = deps.jobs.get(job_id) or job
        job.rolled_back = rolled_back
        _finish(deps, job, "failed", why)
        healed.append({"jobId": job_id, "status": "failed", "reason": why})
    return healed
