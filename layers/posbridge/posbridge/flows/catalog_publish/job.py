"""Flow 4's job: its record, the lock, the step context every step runs in, starting and finishing an import."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from posbridge.domain.catalog_job import (
    ImportJob,
    ImportOptions,
    JobConflict,
)
from posbridge.errors import PermanentError, TransientError
from posbridge.flows.catalog_plan import Plan
from posbridge.ports.pos import CatalogSources
from posbridge.ports.stores import BlobStore, CatalogJobStore, CatalogMappingStore, CatalogSyncCursor, TenantReader
from posbridge.ports.wix import BULK_MAX, WixKind, WixMenus, WixMenusApi
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


# --- finishing ---------------------------------------------------------------------------------------


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
