"""Tenants in the mappings table (PK = TENANT#<instanceId>, SK = TENANT): the only place tenants touch DynamoDB."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from posbridge.domain.tenant import Tenant
from posbridge.store.pos_links import PosLocationTaken, link_writes
from posbridge.store.table import TableStore

TENANT_SK = "TENANT"


def tenant_pk(instance_id: str) -> str:
    return f"TENANT#{instance_id}"


def tenant_item(tenant: Tenant) -> dict[str, Any]:
    """The tenant's TENANT item (also written by LifecycleStore.remove_tenant)."""
    return {"PK": tenant_pk(tenant.instance_id), "SK": TENANT_SK, "tenant": tenant.model_dump(mode="json")}


def tenant_of(item: dict[str, Any]) -> Tenant:
    """The tenant a TENANT item holds (also read by LifecycleStore.directory_page)."""
    return Tenant.model_validate(item["tenant"])


class TenantStore(TableStore):
    def get(self, instance_id: str) -> Tenant | None:
        key = {"PK": tenant_pk(instance_id), "SK": TENANT_SK}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return None if item is None else tenant_of(item)

    def put(self, tenant: Tenant) -> None:
        """The tenant and its POS link (store/pos_links.py) in one transaction; PosLocationTaken if another tenant
        is connected to that POS location."""
        writes = [{"Put": {"TableName": self._table_name, "Item": tenant_item(tenant)}}]
        writes += link_writes(self._table_name, tenant, self.get(tenant.instance_id))
        try:
            self._table.meta.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if not any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise
            raise PosLocationTaken(
                f"POS location {tenant.pos.location_id} is already connected to another Wix site"
            ) from None
