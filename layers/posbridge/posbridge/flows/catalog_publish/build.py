"""Flow 4, building the draft: LoadPosCatalog, ResolveLocation, ResolveTarget, CreateDraft and the Create<Kind> steps,
with the journal that makes each bulk create happen once (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from posbridge.domain.catalog import Catalog, LayoutOptions
from posbridge.domain.catalog_job import (
    ERRORS_KEPT,
    JOB_ID,
    EntityError,
    ImportAlreadyRunning,
    ImportJob,
    ImportOptions,
    Inflight,
    Progress,
)
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.errors import PermanentError, TransientError
from posbridge.flows.catalog_plan import BUILD_ORDER, Plan, PlanNode, build_plan, resolve
from posbridge.flows.catalog_publish.job import (
    CREATE_STEPS,
    DELETE_ORDER,
    DEPENDENCY,
    THROTTLED_WAIT_S,
    THROTTLED_WAITS,
    Deps,
    Step,
    _new_job,
    _parse,
    iso,
)
from posbridge.ports.wix import BULK_MAX, Outcome, Rejected, WixKind, WixMenusApi

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
