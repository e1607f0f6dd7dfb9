"""Flow 4, Cleanup: the old entities deleted (never one a live menu still uses); the job succeeded, the lock freed."""

from __future__ import annotations

from typing import Any

from posbridge.domain.catalog_job import (
    ImportJob,
    Progress,
)
from posbridge.errors import PermanentError
from posbridge.flows.catalog_publish.build import _delete
from posbridge.flows.catalog_publish.job import DELETE_ORDER, Deps, Step, _finish
from posbridge.ports.wix import BULK_MAX, Outcome, WixMenusApi

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
