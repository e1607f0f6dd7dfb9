"""Order mappings, both ways, in the mappings table (single-table design, every key tenant-scoped).

    PK TENANT#<instanceId>  SK ORDER#WIX#<wixOrderId>        -> posOrderId, lines {wixLineId: posLineId}, customers,
                                                                line_sources {wixLineId: "catalog:mapped" | ...}
                                                                pos_payment_id, to_collect_minor (unpaid on Wix)
                                                                wix_payment_status, wix_refunded_minor (refunds on
                                                                Wix), pos_refund_id, pos_refunded_minor (on the POS)
    PK TENANT#<instanceId>  SK ORDER#POS#<posOrderId>        -> wixOrderId, lines {posLineId: wixLineId}
    PK TENANT#<instanceId>  SK CUSTOMER#WIX#<wixContactId>   -> posCustomerId
    PK TENANT#<instanceId>  SK CUSTOMER#POS#<posCustomerId>  -> wixContactIds (a set: the POS matches customers by
                                                                e-mail or phone, so several Wix contacts may meet
                                                                in one POS customer)
    PK TENANT#<instanceId>  SK ORDERSKIP#WIX#<wixOrderId>    -> why an order was not exported (e.g. no restaurant lines)

A pair is written in one transaction, each item conditioned on "absent, or already naming the same partner", so the
mapping is its own duplicate guard: a replay rewrites nothing and a different partner can never overwrite it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from posbridge.aws_errors import transient_cancellations
from posbridge.domain.order_mapping import OrderMapping
from posbridge.errors import TransientError
from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk


class MappingConflict(Exception):
    """A mapping for this id already names a different partner."""


class OrderMappings(TableStore):
    def by_wix_order(self, tenant_id: str, wix_order_id: str) -> OrderMapping | None:
        item = self._table.get_item(
            Key={"PK": tenant_pk(tenant_id), "SK": f"ORDER#WIX#{wix_order_id}"}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        numbers = {  # DynamoDB hands numbers back as Decimal
            name: int(item[name]) if item.get(name) is not None else None
            for name in ("pos_version", "to_collect_minor", "wix_refunded_minor", "pos_refunded_minor")
        }
        return OrderMapping.model_validate({**item, **numbers})

    def by_pos_order(self, tenant_id: str, pos_order_id: str) -> OrderMapping | None:
        """The mapping read from its POS side (lines come back Wix -> POS, as on the Wix side)."""
        item = self._table.get_item(
            Key={"PK": tenant_pk(tenant_id), "SK": f"ORDER#POS#{pos_order_id}"}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return OrderMapping(
            wix_order_id=str(item["wix_order_id"]),
            pos_order_id=str(item["pos_order_id"]),
            lines={str(wix): str(pos) for pos, wix in (item.get("lines") or {}).items()},
            created_at=str(item.get("created_at", "")),
            origin=item.get("origin", "wix"),
        )

    def wix_order_for_pos(self, tenant_id: str, pos_order_id: str) -> str | None:
        item = self._table.get_item(
            Key={"PK": tenant_pk(tenant_id), "SK": f"ORDER#POS#{pos_order_id}"}, ConsistentRead=True
        ).get("Item")
        return None if item is None else str(item["wix_order_id"])

    def save(self, tenant_id: str, mapping: OrderMapping) -> None:
        """Write the order (and customer) mapping both ways in one transaction; a replay is a no-op."""
        pk = tenant_pk(tenant_id)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        wix_side = {**mapping.model_dump(exclude_none=True), "created_at": mapping.created_at or now}
        pos_side = {
            "wix_order_id": mapping.wix_order_id,
            "pos_order_id": mapping.pos_order_id,
            "lines": {pos: wix for wix, pos in mapping.lines.items()},
            "created_at": wix_side["created_at"],
            "origin": mapping.origin,
        }
        puts = [
            _put_once(self._table_name, pk, f"ORDER#WIX#{mapping.wix_order_id}", wix_side),
            _put_once(self._table_name, pk, f"ORDER#POS#{mapping.pos_order_id}", pos_side),
        ]
        if mapping.wix_contact_id and mapping.pos_customer_id:
            # A contact maps to one POS customer, ever; a POS customer collects the contacts that resolved to it.
            puts += [
                _put_same_partner(
                    self._table_name,
                    pk,
                    f"CUSTOMER#WIX#{mapping.wix_contact_id}",
                    "pos_customer_id",
                    mapping.pos_customer_id,
                ),
                {
                    "Update": {
                        "TableName": self._table_name,
                        "Key": {"PK": pk, "SK": f"CUSTOMER#POS#{mapping.pos_customer_id}"},
                        "UpdateExpression": "ADD wix_contact_ids :contact",
                        "ExpressionAttributeValues": {":contact": {mapping.wix_contact_id}},
                    }
                },
            ]
        try:
            self._client.transact_write_items(TransactItems=puts)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons", [])
            busy = transient_cancellations(exc)
            if busy:  # nothing was written: the same write succeeds later (the message comes back)
                order = mapping.wix_order_id
                raise TransientError(f"mapping write of order {order} cancelled: {', '.join(busy)}") from exc
            if not _is_replay(reasons, mapping):
                raise MappingConflict(f"order {mapping.wix_order_id} is already mapped to another POS record") from exc

    def record_wix_refund(self, tenant_id: str, wix_order_id: str, payment_status: str, refunded_minor: int) -> bool:
        """Record on the order's mapping what Wix says it refunded in all. Refunds only grow, so a duplicate or a stale
        event (delivered after a later one) changes nothing: False then, and when the order has no mapping."""
        try:
            self._table.update_item(
                Key={"PK": tenant_pk(tenant_id), "SK": f"ORDER#WIX#{wix_order_id}"},
                UpdateExpression="SET wix_payment_status = :status, wix_refunded_minor = :refunded",
                ConditionExpression="attribute_exists(SK) AND "
                "(attribute_not_exists(wix_refunded_minor) OR wix_refunded_minor < :refunded)",
                ExpressionAttributeValues={":status": payment_status, ":refunded": refunded_minor},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def record_pos_refund(self, tenant_id: str, wix_order_id: str, refund_id: str | None, refunded_minor: int) -> None:
        """Record on the order's mapping the POS refund of its payment (the same values again on a replay; nothing
        when the order has no mapping)."""
        values: dict[str, Any] = {":refunded": refunded_minor}
        expression = "SET pos_refunded_minor = :refunded"
        if refund_id is not None:
            values[":refund"] = refund_id
            expression += ", pos_refund_id = :refund"
        try:
            self._table.update_item(
                Key={"PK": tenant_pk(tenant_id), "SK": f"ORDER#WIX#{wix_order_id}"},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(SK)",  # never a half-written mapping
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def record_skip(self, tenant_id: str, wix_order_id: str, reason: str) -> None:
        self._table.put_item(
            Item={
                "PK": tenant_pk(tenant_id),
                "SK": f"ORDERSKIP#WIX#{wix_order_id}",
                "reason": reason,
                "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )

    def skip_reason(self, tenant_id: str, wix_order_id: str) -> str | None:
        item = self._table.get_item(Key={"PK": tenant_pk(tenant_id), "SK": f"ORDERSKIP#WIX#{wix_order_id}"}).get("Item")
        return None if item is None else str(item["reason"])


def _put_once(table: str, pk: str, sk: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """Put only if absent; on failure DynamoDB returns the existing item so a replay can be told from a conflict."""
    return {
        "Put": {
            "TableName": table,
            "Item": {"PK": pk, "SK": sk, **attributes},
            "ConditionExpression": "attribute_not_exists(SK)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _put_same_partner(table: str, pk: str, sk: str, partner_attribute: str, partner: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": {"PK": pk, "SK": sk, partner_attribute: partner},
            "ConditionExpression": "attribute_not_exists(SK) OR #partner = :partner",
            "ExpressionAttributeNames": {"#partner": partner_attribute},
            "ExpressionAttributeValues": {":partner": partner},
        }
    }


def _is_replay(reasons: list[dict[str, Any]], mapping: OrderMapping) -> bool:
    """True when every failed condition met the very pair being written (a duplicate delivery), not another one."""
    failed = [r for r in reasons if r.get("Code") not in (None, "None")]
    if not failed:
        return False
    for reason in failed:
        old = reason.get("Item") or {}
        pos_id = (old.get("pos_order_id") or {}).get("S")
        wix_id = (old.get("wix_order_id") or {}).get("S")
        if reason.get("Code") != "ConditionalCheckFailed" or (pos_id, wix_id) != (
            mapping.pos_order_id,
            mapping.wix_order_id,
        ):
            return False
    return True
