"""Tenants in the mappings table (PK = TENANT#<instanceId>, SK = TENANT): the only place tenants touch DynamoDB."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3

from posbridge.domain.tenant import Tenant

_SK = "TENANT"


def tenant_pk(instance_id: str) -> str:
    return f"TENANT#{instance_id}"


class TenantStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @cached_property
    def _table(self) -> Any:
        return boto3.resource("dynamodb").Table(self._table_name)

    def get(self, instance_id: str) -> Tenant | None:
        item = self._table.get_item(Key={"PK": tenant_pk(instance_id), "SK": _SK}, ConsistentRead=True).get("Item")
        return None if item is None else Tenant.model_validate(item["tenant"])

    def put(self, tenant: Tenant) -> None:
        self._table.put_item(
            Item={"PK": tenant_pk(tenant.instance_id), "SK": _SK, "tenant": tenant.model_dump(mode="json")}
        )
