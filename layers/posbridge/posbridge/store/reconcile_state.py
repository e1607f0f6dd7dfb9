"""Per-tenant state of the reconciliation and of the Wix site lookups, in the mappings table:

    PK TENANT#<instanceId>  SK CURSOR#RECONCILE   -> wix_since, pos_since (ISO-8601 UTC), passed_at
    PK TENANT#<instanceId>  SK WIX#SITE           -> location_id, operation_id, expires_at (epoch seconds)

Cursors only move forward (a condition on each), so two overlapping passes can never rewind one another.
"""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from posbridge.domain.order_sync import Cursors, SiteIds
from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk

CURSOR_SK = "CURSOR#RECONCILE"
SITE_SK = "WIX#SITE"


class ReconcileState(TableStore):
    # -- cursors ---------------------------------------------------------------------------------------------------

    def cursors(self, tenant_id: str) -> Cursors:
        item = self._table.get_item(Key={"PK": tenant_pk(tenant_id), "SK": CURSOR_SK}, ConsistentRead=True).get("Item")
        if item is None:
            return Cursors()
        return Cursors(item.get("wix_since"), item.get("pos_since"), item.get("passed_at"))

    def advance(self, tenant_id: str, cursors: Cursors) -> bool:
        """Store both cursors after a fully successful pass; False if a later pass already stored later ones."""
        sets, conditions, values = ["passed_at = :now"], [], {":now": datetime.now(UTC).isoformat(timespec="seconds")}
        for name, value in (("wix_since", cursors.wix_since), ("pos_since", cursors.pos_since)):
            if value is None:
                continue
            sets.append(f"{name} = :{name}")
            conditions.append(f"(attribute_not_exists({name}) OR {name} <= :{name})")
            values[f":{name}"] = value
        try:
            self._table.update_item(
                Key={"PK": tenant_pk(tenant_id), "SK": CURSOR_SK},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=" AND ".join(conditions) or "attribute_not_exists(PK) OR attribute_exists(PK)",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- Wix site lookups (shared by every warm function; each also keeps them in memory) ---------------------------

    def site_ids(self, tenant_id: str, now: float) -> SiteIds | None:
        item = self._table.get_item(Key={"PK": tenant_pk(tenant_id), "SK": SITE_SK}).get("Item")
        if item is None or float(item.get("expires_at", 0)) <= now:
            return None
        return SiteIds(str(item["location_id"]), str(item["operation_id"]))

    def remember_site_ids(self, tenant_id: str, ids: SiteIds, expires_at: float) -> None:
        self._table.put_item(
            Item={
                "PK": tenant_pk(tenant_id),
                "SK": SITE_SK,
                "location_id": ids.location_id,
                "operation_id": ids.operation_id,
                "expires_at": int(expires_at),
            }
        )
