"""Which tenant a POS webhook is for, and the list of tenants the scheduled reconciliation walks.

POS webhooks name the POS account (Square: `merchant_id`, and the order's `location_id`), not the Wix site. Tenant
registration (TenantStore.put) keeps, in the same transaction as the tenant:

    PK POSMERCHANT#<provider>#<merchantId>  SK LOCATION#<locationId>  -> instance_id   (one tenant per POS location)
    PK TENANTS                              SK <instanceId>           -> instance_id   (the tenant directory)

A POS location belongs to one tenant at a time: connecting a second Wix site to it is refused (PosLocationTaken),
because its orders could not be routed to one site.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from posbridge.domain.tenant import PosConnection, Tenant
from posbridge.domain.tenant_records import PosLink
from posbridge.store.table import TableStore

DIRECTORY_PK = "TENANTS"


class PosLocationTaken(Exception):
    """The POS location is already connected to another tenant."""


def merchant_pk(provider: str, merchant_id: str) -> str:
    return f"POSMERCHANT#{provider}#{merchant_id}"


def location_sk(location_id: str) -> str:
    return f"LOCATION#{location_id}"


def link_writes(table_name: str, tenant: Tenant, previous: Tenant | None) -> list[dict[str, Any]]:
    """Transaction items that point the tenant's POS location (and the directory) at it, dropping a former link."""
    pos = tenant.pos
    writes: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table_name,
                "Item": {
                    "PK": merchant_pk(pos.provider, pos.merchant_id),
                    "SK": location_sk(pos.location_id),
                    "instance_id": tenant.instance_id,
                },
                # Free, or already ours: a second site never takes over a connected location.
                "ConditionExpression": "attribute_not_exists(PK) OR instance_id = :me",
                "ExpressionAttributeValues": {":me": tenant.instance_id},
            }
        },
        {
            "Put": {
                "TableName": table_name,
                "Item": {"PK": DIRECTORY_PK, "SK": tenant.instance_id, "instance_id": tenant.instance_id},
            }
        },
    ]
    if previous is not None and _moved(previous.pos, pos):
        old = previous.pos
        writes.append(
            {
                "Delete": {
                    "TableName": table_name,
                    "Key": {"PK": merchant_pk(old.provider, old.merchant_id), "SK": location_sk(old.location_id)},
                    "ConditionExpression": "attribute_not_exists(PK) OR instance_id = :me",
                    "ExpressionAttributeValues": {":me": tenant.instance_id},
                }
            }
        )
    return writes


def _moved(old: PosConnection, new: PosConnection) -> bool:
    return (old.provider, old.merchant_id, old.location_id) != (new.provider, new.merchant_id, new.location_id)


class PosLinks(TableStore):
    """Reads the links (the webhook ingest and the reconciliation); TenantStore writes them."""

    def tenants_for(self, provider: str, merchant_id: str) -> list[PosLink]:
        """The tenants connected to this POS account, one per location (usually one)."""
        items = self._table.query(
            KeyConditionExpression=Key("PK").eq(merchant_pk(provider, merchant_id)) & Key("SK").begins_with("LOCATION#")
        ).get("Items", [])
        return [PosLink(str(i["SK"]).removeprefix("LOCATION#"), str(i["instance_id"])) for i in items]

    def all_tenants(self) -> list[str]:
        """Every registered tenant's instance id (the directory), for the scheduled reconciliation."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("PK").eq(DIRECTORY_PK)}
        while True:
            page = self._table.query(**kwargs)
            ids += [str(i["instance_id"]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
