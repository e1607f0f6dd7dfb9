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

The package by job: job.py (the job record, its lock, the step context, start and finish), build.py (LoadPosCatalog to
the Create<Kind> steps, with the journal), publish.py, cleanup.py, rollback.py (with the health check). The steps the
workflow runs are re-exported here.
"""

from posbridge.domain.catalog_job import ImportOptions
from posbridge.flows.catalog_publish.build import (
    create_draft,
    create_entities,
    load_pos_catalog,
    resolve_location,
    resolve_target,
    wix_entities_by_kind,
)
from posbridge.flows.catalog_publish.cleanup import cleanup
from posbridge.flows.catalog_publish.job import (
    CREATE_STEPS,
    DELETE_ORDER,
    THROTTLED_WAIT_S,
    THROTTLED_WAITS,
    Deps,
    JobAbandoned,
    Step,
    _new_job,
    _utcnow,
    describe_error,
    iso,
    new_job_id,
    start_import,
)
from posbridge.flows.catalog_publish.publish import build_mapping, publish
from posbridge.flows.catalog_publish.rollback import heal_stuck_jobs, rollback, undo

__all__ = [
    "CREATE_STEPS",
    "DELETE_ORDER",
    "THROTTLED_WAITS",
    "THROTTLED_WAIT_S",
    "Deps",
    "ImportOptions",
    "JobAbandoned",
    "Step",
    "_new_job",
    "_utcnow",
    "build_mapping",
    "cleanup",
    "create_draft",
    "create_entities",
    "describe_error",
    "heal_stuck_jobs",
    "iso",
    "load_pos_catalog",
    "new_job_id",
    "publish",
    "resolve_location",
    "resolve_target",
    "rollback",
    "start_import",
    "undo",
    "wix_entities_by_kind",
]
