"""Tenants in the mappings table (PK = TENANT#<instanceId>, SK = TENANT): the only place tenants touch DynamoDB."""

from __future__ import annotations

from botocore.exceptions import ClientError

from posbridge.domain.tenant import Tenant
from posbridge.store.pos_links import PosLocationTaken, link_writes
from posbridge.store.table import TableStore

_SK = "TENANT"


def tenant_pk(instance_id: str) -> str:
    return f"TENANT#{instance_id}"


class TenantStore(TableStore):
    def get(self, instance_id: str) -> Tenant | None:
        item = self._table.get_item(Key={"PK": tenant_pk(instance_id), "SK": _SK}, ConsistentRead=True).get("Item")
        return None if item is None else Tenant.model_validate(item["tenant"])

    def put(self, tenant: Tenant) -> None:
        """The tenant and its POS link (store/pos_links.py) in one transaction; PosLocationTaken if another tenant
        is connected to that POS location."""
        item = {"PK": tenant_pk(tenant.instance_id), "SK": _SK, "tenant": tenant.model_dump(mode="json")}
        writes = [{"Put": {"TableName": self._table_name, "Item": item}}]
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
