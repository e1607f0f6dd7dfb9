"""The incremental catalog sync's per-tenant state, in the mappings table.

    PK TENANT#<instanceId>  SK CATALOGSYNC#STATE
        cursor       the POS catalog time up to which every change reached Wix (Square `updated_at`, RFC 3339);
                     a catalog import's Publish sets it to its snapshot's time (Square `latest_time`)
        inflight     {kind, names, at}: a bulk create sent whose mapping is not saved yet (a crash here is swept)
        last         the last sync's summary (outcome, counts, Wix calls, Wix edits), for operators

The cursor only moves forward (a conditional write), and only after a sync wrote everything it found (or an import
published its snapshot).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk

SK = "CATALOGSYNC#STATE"


class CatalogSyncState(TableStore):
    def get(self, tenant_id: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"PK": tenant_pk(tenant_id), "SK": SK}, ConsistentRead=True).get("Item")
        return dict(item or {})

    def advance(self, tenant_id: str, cursor: str, summary: dict[str, Any] | None = None) -> None:
        """Set the cursor to `cursor` unless it is already later (RFC 3339 UTC strings compare in time order), and
        the last sync's summary (when given: an import's Publish has none)."""
        names: dict[str, str] = {"#c": "cursor"}
        values: dict[str, Any] = {":c": cursor}
        update = "SET #c = :c"
        if summary is not None:
            names["#l"], values[":l"], update = "last", summary, update + ", #l = :l"
        try:
            self._table.update_item(
                Key={"PK": tenant_pk(tenant_id), "SK": SK},
                UpdateExpression=update,
                ConditionExpression="attribute_not_exists(#c) OR #c <= :c",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def record(self, tenant_id: str, summary: dict[str, Any]) -> None:
        """The last sync's summary, cursor untouched."""
        self._table.update_item(
            Key={"PK": tenant_pk(tenant_id), "SK": SK},
            UpdateExpression="SET #l = :l",
            ExpressionAttributeNames={"#l": "last"},
            ExpressionAttributeValues={":l": summary},
        )

    def set_inflight(self, tenant_id: str, inflight: dict[str, Any] | None) -> None:
        if inflight is None:
            self._table.update_item(
                Key={"PK": tenant_pk(tenant_id), "SK": SK},
                UpdateExpression="REMOVE inflight",
            )
            return
        self._table.update_item(
            Key={"PK": tenant_pk(tenant_id), "SK": SK},
            UpdateExpression="SET inflight = :i",
            ExpressionAttributeValues={":i": inflight},
        )
