"""Flow 4, Rollback (every entity this job created deleted, the previous state restored) and the health check that
fails, rolls back and frees a job gone silent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from posbridge.domain.catalog_job import (
    ImportJob,
)
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.errors import PermanentError, TransientError
from posbridge.flows.catalog_plan import BUILD_ORDER, Plan
from posbridge.flows.catalog_publish.build import _delete
from posbridge.flows.catalog_publish.job import DELETE_ORDER, Deps, _finish, _parse, describe_error, iso
from posbridge.flows.catalog_publish.publish import _flip, _start_sync_at_snapshot
from posbridge.ports.wix import BULK_MAX
from posbridge.ports.work import Executions

# --- Rollback -------------------------------------------------------------------------------------------------------


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
