"""Catalog import jobs and the one-import-per-tenant lock, in the mappings table.

    PK CATALOGIMPORT#<jobId>      SK JOB                       -> the job (JSON in `doc`); `version` guards writes
    PK TENANT#<instanceId>        SK CATALOGIMPORT#LOCK        -> job_id of the tenant's running import
    PK TENANT#<instanceId>        SK CATALOGIMPORT#PENDING_CLEANUP -> job_id + S3 key of old entities a failed Cleanup
                                                                  left (the next import deletes them)
    PK CATALOGIMPORT#ACTIVE       SK <jobId>                   -> instance_id: the running jobs, for the health check

Starting a job writes its record and active entry, then takes the lock only if it is absent, so two starts for one
tenant can never both run (the loser is kept, failed, with the reason). Finishing releases the lock only if it still
names this job.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from posbridge.domain.catalog_job import ImportAlreadyRunning, ImportJob, JobConflict
from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk

LOCK_SK = "CATALOGIMPORT#LOCK"
PENDING_CLEANUP_SK = "CATALOGIMPORT#PENDING_CLEANUP"
ACTIVE_PK = "CATALOGIMPORT#ACTIVE"


def job_pk(job_id: str) -> str:
    return f"CATALOGIMPORT#{job_id}"


class CatalogJobs(TableStore):
    # --- lifecycle ------------------------------------------------------------------------------------------------

    def start(self, job: ImportJob) -> None:
        """Write a new running job, list it as active, then take the tenant's lock (only if nobody holds it).

        No transaction (moto copies every table for one; DynamoDB bills it twice): if the lock is held, the job is
        kept as failed with the reason and ImportAlreadyRunning raised; if the process dies between the writes, the
        job is active without the lock, and the health check fails it once it is silent."""
        job.version = 1
        try:
            self._table.put_item(Item=self._item(job), ConditionExpression="attribute_not_exists(PK)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise ImportAlreadyRunning(job.instance_id, job.job_id) from exc  # this very job exists already
        self._table.put_item(Item={"PK": ACTIVE_PK, "SK": job.job_id, "instance_id": job.instance_id})
        try:
            self._table.put_item(
                Item={
                    "PK": tenant_pk(job.instance_id),
                    "SK": LOCK_SK,
                    "job_id": job.job_id,
                    "acquired_at": job.started_at,
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            refused = ImportAlreadyRunning(job.instance_id, self.lock_holder(job.instance_id))
            job.status, job.reason, job.finished_at = "failed", str(refused), job.started_at
            self.save(job)
            self._table.delete_item(Key={"PK": ACTIVE_PK, "SK": job.job_id})
            raise refused from exc

    def get(self, job_id: str) -> ImportJob | None:
        item = self._table.get_item(Key={"PK": job_pk(job_id), "SK": "JOB"}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        job = ImportJob.model_validate_json(str(item["doc"]))
        job.version = int(item["version"])
        return job

    def save(self, job: ImportJob) -> None:
        """Write the job if nobody else did since it was read (JobConflict otherwise); bumps its version."""
        expected = job.version
        job.version = expected + 1
        try:
            self._table.put_item(
                Item=self._item(job),
                ConditionExpression="#v = :expected",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":expected": expected},
            )
        except ClientError as exc:
            job.version = expected
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise JobConflict(f"job {job.job_id} changed since it was read") from exc
            raise

    def release(self, job: ImportJob) -> None:
        """Drop the job from the active list and free its tenant's lock if the lock is still its own."""
        try:
            self._table.delete_item(
                Key={"PK": tenant_pk(job.instance_id), "SK": LOCK_SK},
                ConditionExpression="job_id = :job",
                ExpressionAttributeValues={":job": job.job_id},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        self._table.delete_item(Key={"PK": ACTIVE_PK, "SK": job.job_id})

    def lock_holder(self, instance_id: str) -> str | None:
        item = self._table.get_item(Key={"PK": tenant_pk(instance_id), "SK": LOCK_SK}, ConsistentRead=True).get("Item")
        return None if item is None else str(item["job_id"])

    def active(self) -> list[str]:
        """Ids of the jobs that have not finished (as far as their records know)."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": ACTIVE_PK},
            "ConsistentRead": True,
        }
        while True:
            page = self._table.query(**kwargs)
            ids += [str(item["SK"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- old entities left by a Cleanup that did not finish -------------------------------------------------------

    def set_pending_cleanup(self, instance_id: str, job_id: str, key: str) -> None:
        self._table.put_item(
            Item={"PK": tenant_pk(instance_id), "SK": PENDING_CLEANUP_SK, "job_id": job_id, "key": key}
        )

    def pending_cleanup(self, instance_id: str) -> tuple[str, str] | None:
        item = self._table.get_item(
            Key={"PK": tenant_pk(instance_id), "SK": PENDING_CLEANUP_SK}, ConsistentRead=True
        ).get("Item")
        return None if item is None else (str(item["job_id"]), str(item["key"]))

    def clear_pending_cleanup(self, instance_id: str, job_id: str) -> None:
        try:
            self._table.delete_item(
                Key={"PK": tenant_pk(instance_id), "SK": PENDING_CLEANUP_SK},
                ConditionExpression="job_id = :job",
                ExpressionAttributeValues={":job": job_id},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _item(self, job: ImportJob) -> dict[str, Any]:
        return {
            "PK": job_pk(job.job_id),
            "SK": "JOB",
            "instance_id": job.instance_id,
            "status": job.status,
            "heartbeat_at": job.heartbeat_at,
            "version": job.version,
            "doc": job.model_dump_json(),
        }
