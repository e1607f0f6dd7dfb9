"""Tenant lifecycle records in the mappings table (Wix app installed / removed, pause, purge).

    PK TENANT#<instanceId>  SK INSTALLATION  -> {status: installed|removed, installed_at, removed_at, changed_at}
    PK TENANTS              SK <instanceId>  -> the tenant directory (also written by TenantStore.put)

`GET /admin/tenants` pages through the directory (a Query, sorted by instance id) and reads each page's TENANT and
INSTALLATION items with one BatchGetItem: two requests per page, however many tenants it holds.

An installation without a TENANT item is a restaurant awaiting its POS connection (PUT /admin/tenants/{id}).
The TENANT and INSTALLATION items are kept after the purge as a tombstone, so late events of a removed tenant are
still recognised (and acknowledged) rather than parked as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from posbridge.domain.tenant import Tenant
from posbridge.domain.tenant_records import Installation
from posbridge.store.pos_links import DIRECTORY_PK, PosLinks, location_sk, merchant_pk
from posbridge.store.table import TableStore
from posbridge.store.tenants import TENANT_SK, TenantStore, stale_tenant_write, tenant_of, tenant_pk, tenant_put

INSTALLATION_SK = "INSTALLATION"
_KEPT = frozenset({TENANT_SK, INSTALLATION_SK})  # the tombstone
_BATCH = 25


@dataclass(frozen=True)
class Listed:
    """One directory entry with what is stored of it: the tenant (connected), the installation (Wix side), or both."""

    instance_id: str
    tenant: Tenant | None
    installation: Installation | None


@dataclass(frozen=True)
class DirectoryPage:
    entries: list[Listed]
    last: str | None  # the last instance id of this page when more follow (the next page starts after it)


class LifecycleStore(TableStore):
    def installation(self, instance_id: str) -> Installation | None:
        item = self._table.get_item(Key={"PK": tenant_pk(instance_id), "SK": INSTALLATION_SK}, ConsistentRead=True).get(
            "Item"
        )
        return None if item is None else _installation(instance_id, item)

    def save_installation(self, installation: Installation) -> None:
        """The installation and its directory entry (so `tenants list` shows restaurants awaiting a POS)."""
        item: dict[str, Any] = {"PK": tenant_pk(installation.instance_id), "SK": INSTALLATION_SK}
        item |= {k: v for k, v in vars(installation).items() if k != "instance_id" and v is not None}
        directory = {"PK": DIRECTORY_PK, "SK": installation.instance_id, "instance_id": installation.instance_id}
        with self._table.batch_writer() as batch:
            batch.put_item(Item=item)
            batch.put_item(Item=directory)

    def remove_tenant(self, tenant: Tenant) -> None:
        """Store the tenant as removed and release its POS location in one transaction (the location is released
        only if it still points at this tenant); StaleWrite if the tenant changed since it was read."""
        stored = None if tenant.version is not None else TenantStore(self._table_name).get(tenant.instance_id)
        try:
            self._transact_removal(tenant, stored)
        except ClientError as exc:
            stale = stale_tenant_write(exc, tenant.instance_id)
            if stale is not None:
                raise stale from None
            raise

    def _transact_removal(self, tenant: Tenant, stored: Tenant | None) -> None:
        pos = tenant.pos
        self._table.meta.client.transact_write_items(
            TransactItems=[
                tenant_put(self._table_name, tenant, stored),
                {
                    "Delete": {
                        "TableName": self._table_name,
                        "Key": {"PK": merchant_pk(pos.provider, pos.merchant_id), "SK": location_sk(pos.location_id)},
                        "ConditionExpression": "attribute_not_exists(PK) OR instance_id = :me",
                        "ExpressionAttributeValues": {":me": tenant.instance_id},
                    }
                },
            ]
        )

    def directory_page(self, limit: int, after: str | None = None) -> DirectoryPage:
        """Up to `limit` directory entries after instance id `after`, in instance id order: one Query, then the
        entries' TENANT and INSTALLATION items in BatchGetItem calls of 100 keys."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(DIRECTORY_PK),
            "Limit": limit + 1,  # one more than asked: whether another page follows, without an empty last page
            "ConsistentRead": True,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {"PK": DIRECTORY_PK, "SK": after}
        page = self._table.query(**kwargs)
        ids = [str(i["SK"]) for i in page.get("Items", [])]
        more = len(ids) > limit or ("LastEvaluatedKey" in page and bool(ids))
        ids = ids[:limit]
        found = self._items([{"PK": tenant_pk(i), "SK": sk} for i in ids for sk in (TENANT_SK, INSTALLATION_SK)])
        entries = []
        for instance_id in ids:
            tenant, installation = found.get((instance_id, TENANT_SK)), found.get((instance_id, INSTALLATION_SK))
            entries.append(
                Listed(
                    instance_id,
                    None if tenant is None else tenant_of(tenant),
                    None if installation is None else _installation(instance_id, installation),
                )
            )
        return DirectoryPage(entries, ids[-1] if more else None)

    def _items(self, keys: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The items of these keys that exist, by (instance id, SK)."""
        items = self._batch_get(keys, consistent_read=True)
        return {(str(item["PK"]).removeprefix("TENANT#"), str(item["SK"])): item for item in items}

    def directory(self) -> list[str]:
        """Every instance id in the directory, for the purge: the list the reconciliation walks (PosLinks)."""
        return PosLinks(self._table_name).all_tenants()

    def purge(self, instance_id: str) -> int:
        """Delete the tenant's mappings, jobs and cursors (everything under its key but the tombstone) and its
        directory entry; returns how many items went. Idempotent: a second purge deletes nothing."""
        deleted = 0
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(tenant_pk(instance_id)),
            "ProjectionExpression": "PK, SK",
        }
        while True:
            page = self._table.query(**kwargs)
            keys = [k for k in page.get("Items", []) if k["SK"] not in _KEPT]
            with self._table.batch_writer() as batch:
                for key in keys:
                    batch.delete_item(Key={"PK": key["PK"], "SK": key["SK"]})
            deleted += len(keys)
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        self._table.delete_item(Key={"PK": DIRECTORY_PK, "SK": instance_id})
        return deleted


def _installation(instance_id: str, item: dict[str, Any]) -> Installation:
    return Installation(
        instance_id, str(item["status"]), item.get("installed_at"), item.get("removed_at"), item.get("changed_at")
    )
