"""A catalog import (publish) job: what an operator starts, follows and reads back, and what the workflow records.

The record lives in the mappings table (posbridge.store.catalog_jobs); large things (snapshot, plan, journal) live in
S3 under `key_prefix`. camelCase on the wire (admin API, CLI), snake_case in code.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from pydantic.alias_generators import to_camel

JobStatus = Literal["running", "succeeded", "failed"]
JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")  # also a valid Step Functions execution name
ERRORS_KEPT = 100  # per-entity errors kept on the record; error_count counts them all


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="forbid")


class ImportOptions(_Wire):
    """What an operator may choose per import (POST body of /admin/tenants/{instanceId}/catalog-imports)."""

    menu_name: str = Field(default="Menu", min_length=1, max_length=500, description="the one menu of a catalog "
                           "without menu categories")  # fmt: skip
    uncategorized_name: str = Field(default="Other", min_length=1, max_length=500)
    location_id: str | None = Field(default=None, description="Wix business location; default: the default one")
    # Strict: what the OpenAPI document says (an integer, a boolean), not what pydantic could coerce ("3", 1.0, 0).
    max_rejected: StrictInt = Field(default=10, ge=0, description="entities Wix may reject before the import fails")
    hide_other_menus: StrictBool = Field(
        default=True, description="also hide visible menus of the location that posbridge did not create"
    )


class EntityError(_Wire):
    """One entity Wix rejected (recorded and skipped) or could not be built because what it needs was rejected."""

    kind: str  # Wix kind: variant, modifier, modifierGroup, item, section, menu
    key: str  # plan key, e.g. item:<posItemId>
    name: str = ""
    code: str
    message: str = ""


class Progress(_Wire):
    done: int = 0  # created (or, for "cleanup", deleted)
    total: int = 0
    rejected: int = 0  # Wix refused it: recorded and skipped
    skipped: int = 0  # not built because something it needs was rejected


class Inflight(_Wire):
    """The bulk create being sent: if the step dies before journaling its answer, the batch is in doubt."""

    kind: str
    batch: int
    at: str  # ISO time the call was about to be made
    names: list[str]


class ImportJob(_Wire):
    job_id: str
    instance_id: str
    status: JobStatus = "running"
    step: str = "Requested"
    options: ImportOptions = Field(default_factory=ImportOptions)
    started_at: str
    updated_at: str
    heartbeat_at: str
    finished_at: str | None = None
    execution_arn: str | None = None
    reason: str | None = None  # why it failed (or what is left to do)
    warnings: list[str] = Field(default_factory=list)
    progress: dict[str, Progress] = Field(default_factory=dict)  # by Wix kind, plus "cleanup"
    errors: list[EntityError] = Field(default_factory=list)
    error_count: int = 0
    issues_count: int = 0  # POS catalog entities skipped, split or shortened (issues.json in S3)
    location_id: str | None = None
    snapshot_as_of: str | None = None  # the POS time the snapshot is complete up to: the sync cursor after Publish
    inflight: Inflight | None = None
    in_doubt: bool = False  # some bulk create had an unknown outcome: sweep before publishing
    swept: bool = False
    publish_started: bool = False
    mapping_started: bool = False
    published: bool = False
    rolled_back: bool = False
    cleanup_batches: dict[str, int] = Field(default_factory=dict)
    version: int = 0  # optimistic concurrency on the record

    @property
    def key_prefix(self) -> str:
        return f"catalog-imports/{self.instance_id}/{self.job_id}/"

    def totals(self) -> tuple[int, int]:
        """(done, total) over the entities to create, for a progress bar."""
        kinds = [p for k, p in self.progress.items() if k != "cleanup"]
        return sum(p.done + p.rejected + p.skipped for p in kinds), sum(p.total for p in kinds)

    def view(self) -> dict[str, object]:
        """The admin API's answer: the record without the workflow's internals."""
        done, total = self.totals()
        body = self.model_dump(
            mode="json",
            by_alias=True,
            exclude={"inflight", "swept", "publish_started", "mapping_started", "cleanup_batches", "version"},
        )
        body["done"], body["total"] = done, total
        return body


class ImportAlreadyRunning(Exception):
    def __init__(self, instance_id: str, running_job_id: str | None) -> None:
        super().__init__(
            f"a catalog import is already running for tenant {instance_id}"
            + (f": job {running_job_id}" if running_job_id else "")
            + "; wait for it to finish (GET /admin/tenants/<instanceId>/catalog-imports/<jobId>) and start again"
        )
        self.instance_id = instance_id
        self.running_job_id = running_job_id


class JobConflict(Exception):
    """The record changed since it was read (another writer, e.g. the health check)."""
