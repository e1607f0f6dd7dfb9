"""Wix orders of a site that has not connected a POS yet, in the mappings table (ids and times only, no buyer data):

    PK TENANT#<instanceId>  SK AWAITPOS#WIX#<wixOrderId>  -> since (the order's update time in its event), recorded_at,
                                                             expires_at (TTL: AWAITING_KEEP after it was recorded)

Once the site is connected, the reconciliation starts its Wix search at the oldest `since`, so these orders go through
Flow 1 like any missed order, and forgets each record once the order's work is done (flows/reconcile.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key

from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk

AWAITING_PREFIX = "AWAITPOS#WIX#"
# As long as the DLQ kept such orders before (its MessageRetentionPeriod): a site connected within two weeks gets them.
AWAITING_KEEP = timedelta(days=14)


class AwaitingPosOrders(TableStore):
    def record(self, tenant_id: str, wix_order_id: str, since: str | None) -> None:
        now = datetime.now(UTC)
        recorded_at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self._table.put_item(
            Item={
                "PK": tenant_pk(tenant_id),
                "SK": f"{AWAITING_PREFIX}{wix_order_id}",
                "since": since or recorded_at,
                "recorded_at": recorded_at,
                "expires_at": int((now + AWAITING_KEEP).timestamp()),
            }
        )

    def waiting(self, tenant_id: str) -> dict[str, str]:
        """Wix order id -> since, of every order still waiting (records past their TTL excluded: DynamoDB deletes
        expired items only eventually)."""
        now = datetime.now(UTC).timestamp()
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(tenant_pk(tenant_id)) & Key("SK").begins_with(AWAITING_PREFIX),
            "ConsistentRead": True,
        }
        found: dict[str, str] = {}
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                if float(item.get("expires_at", now + 1)) > now:
                    found[str(item["SK"]).removeprefix(AWAITING_PREFIX)] = str(item["since"])
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def forget(self, tenant_id: str, wix_order_ids: list[str]) -> None:
        with self._table.batch_writer() as batch:
            for wix_order_id in wix_order_ids:
                batch.delete_item(Key={"PK": tenant_pk(tenant_id), "SK": f"{AWAITING_PREFIX}{wix_order_id}"})
