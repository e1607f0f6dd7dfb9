"""Tenants in the mappings table (PK = TENANT#<instanceId>, SK = TENANT): the only place tenants touch DynamoDB.

The item carries a revision (`version`, absent on items written before it: revision 0). Every write of a tenant is
conditioned on the revision it was read at and bumps it, so of two writers that read the same revision (a pause and an
uninstall) the second fails with StaleWrite and decides again on what the first wrote.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from posbridge.domain.tenant import Tenant
from posbridge.errors import StaleWrite
from posbridge.store.pos_links import PosLocationTaken, link_writes
from posbridge.store.table import TableStore

TENANT_SK = "TENANT"


def tenant_pk(instance_id: str) -> str:
    return f"TENANT#{instance_id}"


def tenant_put(table_name: str, tenant: Tenant, stored: Tenant | None) -> dict[str, Any]:
    """The transaction item that writes the tenant if it is still at the revision it was read at (`tenant.version`;
    when it was not read from the store, `stored`'s, the writer's own read), and bumps the revision (also used by
    LifecycleStore.remove_tenant)."""
    expected = tenant.version if tenant.version is not None else (stored.version or 0) if stored else None
    item = {
        "PK": tenant_pk(tenant.instance_id),
        "SK": TENANT_SK,
        "tenant": tenant.model_dump(mode="json"),
        "version": (expected or 0) + 1,
    }
    put: dict[str, Any] = {"TableName": table_name, "Item": item}
    if expected is None:  # not stored when read
        put["ConditionExpression"] = "attribute_not_exists(PK)"
    elif expected == 0:  # not stored, or stored before revisions
        put["ConditionExpression"] = "attribute_not_exists(version)"
    else:
        put["ConditionExpression"] = "version = :read"
        put["ExpressionAttributeValues"] = {":read": expected}
    return {"Put": put}


def tenant_of(item: dict[str, Any]) -> Tenant:
    """The tenant a TENANT item holds, at its revision (also read by LifecycleStore.directory_page)."""
    return Tenant.model_validate({**item["tenant"], "version": int(item.get("version", 0))})


def stale_tenant_write(exc: ClientError, instance_id: str) -> StaleWrite | None:
    """StaleWrite if the transaction failed on the tenant item's revision (its first item)."""
    reasons = exc.response.get("CancellationReasons") or []
    if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
        return StaleWrite(f"tenant {instance_id} changed since it was read")
    return None


class TenantStore(TableStore):
    def get(self, instance_id: str) -> Tenant | None:
        key = {"PK": tenant_pk(instance_id), "SK": TENANT_SK}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return None if item is None else tenant_of(item)

    def put(self, tenant: Tenant) -> None:
        """The tenant and its POS link (store/pos_links.py) in one transaction; StaleWrite if the tenant changed
        since it was read, PosLocationTaken if another tenant is connected to that POS location."""
        stored = self.get(tenant.instance_id)
        writes = [tenant_put(self._table_name, tenant, stored)]
        writes += link_writes(self._table_name, tenant, stored)
        try:
            self._table.meta.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            stale = stale_tenant_write(exc, tenant.instance_id)
            if stale is not None:
                raise stale from None
            reasons = exc.response.get("CancellationReasons") or []
            if not any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise
            raise PosLocationTaken(
                f"POS location {tenant.pos.location_id} is already connected to another Wix site"
            ) from None
