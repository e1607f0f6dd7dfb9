"""What Flows 2 and 3 remember per POS order, next to the order mappings (store/orders.py):

    PK TENANT#<instanceId>  SK ORDERSYNC#POS#<posOrderId>
        -> wix_order_id, wix_fulfillment_id, wix_status, wix_canceled,
           applied_version / applied_updated_at (the POS position last applied to Wix), stale_dropped (a counter)
    PK TENANT#<instanceId>  SK ORDERSKIP#POS#<posOrderId>   -> why a POS order is not imported (e.g. canceled)
    PK TENANT#<instanceId>  SK PARKED#<WIX|POS>#<orderId>    -> reason, recorded_at, expires_at (the DLQ's retention):
                                                                the order's work was parked in the DLQ, so the
                                                                reconciliation leaves it to the redrive

The sync record is written only forward (a condition on the applied position), so two workers can never move an
order's Wix status backwards, and a replay rewrites the same values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from posbridge.domain.order_sync import Known, PosOrderSync
from posbridge.domain.pos_order import PosPosition
from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk


def sync_sk(pos_order_id: str) -> str:
    return f"ORDERSYNC#POS#{pos_order_id}"


def skip_sk(pos_order_id: str) -> str:
    return f"ORDERSKIP#POS#{pos_order_id}"


def parked_sk(side: str, order_id: str) -> str:
    return f"PARKED#{side}#{order_id}"


PARKED_KEEP = timedelta(days=14)  # the work DLQ's MessageRetentionPeriod (template.yaml): after it, nothing to redrive


def stamp(moment: datetime) -> str:
    """One spelling for every stored time (UTC, microseconds), so stored times also compare as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class OrderSyncStore(TableStore):
    def get(self, tenant_id: str, pos_order_id: str) -> PosOrderSync | None:
        item = self._table.get_item(
            Key={"PK": tenant_pk(tenant_id), "SK": sync_sk(pos_order_id)}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _sync(item)

    def record(self, tenant_id: str, sync: PosOrderSync) -> bool:
        """Store the sync record unless a newer position is already stored; False when it was (nothing written).

        The same position may be written again (a replay writes the same values); the stale counter is kept."""
        values: dict[str, Any] = {
            ":order": sync.pos_order_id,
            ":wix": sync.wix_order_id,
            ":status": sync.wix_status,
            ":canceled": sync.wix_canceled,
            ":at": stamp(sync.position.updated_at),
            ":now": stamp(datetime.now(UTC)),
        }
        sets = [
            "pos_order_id = :order",
            "wix_order_id = :wix",
            "wix_status = :status",
            "wix_canceled = :canceled",
            "applied_updated_at = :at",
            "recorded_at = :now",
        ]
        if sync.wix_fulfillment_id is not None:
            sets.append("wix_fulfillment_id = :fulfillment")
            values[":fulfillment"] = sync.wix_fulfillment_id
        if sync.position.version is not None:
            sets.append("applied_version = :version")
            values[":version"] = sync.position.version
            condition = (
                "attribute_not_exists(SK) OR attribute_not_exists(applied_version) OR applied_version <= :version"
            )
        else:
            condition = "attribute_not_exists(SK) OR applied_updated_at <= :at"
        try:
            self._table.update_item(
                Key={"PK": tenant_pk(tenant_id), "SK": sync_sk(sync.pos_order_id)},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def count_stale(self, tenant_id: str, pos_order_id: str) -> None:
        """One more out-of-order update dropped for this order (shown by the admin API)."""
        try:
            self._table.update_item(
                Key={"PK": tenant_pk(tenant_id), "SK": sync_sk(pos_order_id)},
                UpdateExpression="ADD stale_dropped :one",
                ConditionExpression="attribute_exists(SK)",
                ExpressionAttributeValues={":one": 1},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def record_skip(self, tenant_id: str, pos_order_id: str, reason: str) -> None:
        self._table.put_item(
            Item={
                "PK": tenant_pk(tenant_id),
                "SK": skip_sk(pos_order_id),
                "reason": reason,
                "recorded_at": stamp(datetime.now(UTC)),
            }
        )

    def skip_reason(self, tenant_id: str, pos_order_id: str) -> str | None:
        item = self._table.get_item(
            Key={"PK": tenant_pk(tenant_id), "SK": skip_sk(pos_order_id)}, ConsistentRead=True
        ).get("Item")
        return None if item is None else str(item["reason"])

    def record_parked(self, tenant_id: str, side: str, order_id: str, reason: str) -> None:
        """The order's work (side WIX: Flow 1, POS: Flows 2 and 3) was parked in the DLQ with this reason."""
        now = datetime.now(UTC)
        self._table.put_item(
            Item={
                "PK": tenant_pk(tenant_id),
                "SK": parked_sk(side, order_id),
                "reason": reason,
                "recorded_at": stamp(now),
                "expires_at": int((now + PARKED_KEEP).timestamp()),
            }
        )

    def known(self, tenant_id: str, pos_order_ids: Iterable[str]) -> dict[str, Known]:
        """For each id with a sync record, a skip or parked work: what is known (batched reads; unknown ids are
        absent)."""
        ids = sorted(set(pos_order_ids))
        keys = [sync_sk(i) for i in ids] + [skip_sk(i) for i in ids] + [parked_sk("POS", i) for i in ids]
        found: dict[str, Known] = {}
        for item in self._batch_get_sks(tenant_pk(tenant_id), keys):
            sk = str(item["SK"])
            order_id = sk.rsplit("#", 1)[1]
            was = found.get(order_id, Known())
            if sk.startswith("ORDERSKIP#"):
                found[order_id] = replace(was, skipped=True)
            elif sk.startswith("PARKED#"):
                found[order_id] = replace(was, parked=True)
            else:
                found[order_id] = replace(was, position=_sync(item).position)
        return found

    def known_wix_orders(self, tenant_id: str, wix_order_ids: Iterable[str]) -> set[str]:
        """The Wix orders Flow 1 already handled: exported (ORDER#WIX#), skipped (ORDERSKIP#WIX#) or parked in the
        DLQ (PARKED#WIX#)."""
        ids = sorted(set(wix_order_ids))
        keys = [f"ORDER#WIX#{i}" for i in ids] + [f"ORDERSKIP#WIX#{i}" for i in ids]
        keys += [parked_sk("WIX", i) for i in ids]
        items = self._batch_get_sks(tenant_pk(tenant_id), keys)
        return {str(item["SK"]).rsplit("#", 1)[1] for item in items}


def _sync(item: dict[str, Any]) -> PosOrderSync:
    version = item.get("applied_version")
    return PosOrderSync(
        pos_order_id=str(item["pos_order_id"]),
        wix_order_id=str(item["wix_order_id"]),
        position=PosPosition(
            version=int(version) if version is not None else None, updated_at=item["applied_updated_at"]
        ),
        wix_fulfillment_id=item.get("wix_fulfillment_id"),
        wix_status=item.get("wix_status"),
        wix_canceled=bool(item.get("wix_canceled", False)),
        stale_dropped=int(item.get("stale_dropped", 0)),
    )
