"""Read side of the catalog mapping (written by the catalog publish, Flow 4): where a POS item variation lives in Wix.

    PK TENANT#<instanceId>  SK CATALOG#POS#ITEM_VARIATION#<variationId>
        -> wix_item_id, wix_menu_id, wix_section_id, wix_variant_id?, wix_id, revision, content_hash

Flow 2 needs the first four to build a Wix Restaurants line's `catalogReference`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from posbridge.errors import TransientError
from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk

BATCH_GET_MAX = 100  # DynamoDB BatchGetItem keys per request
_UNPROCESSED_ATTEMPTS = 5


class CatalogPlacement(BaseModel):
    """A Wix Restaurants menu item, and the menu and section it is offered in."""

    model_config = ConfigDict(frozen=True)

    wix_item_id: str
    wix_menu_id: str
    wix_section_id: str
    wix_variant_id: str | None = None


def variation_sk(variation_id: str) -> str:
    return f"CATALOG#POS#ITEM_VARIATION#{variation_id}"


class CatalogLookup(TableStore):
    def variations(self, tenant_id: str, variation_ids: Iterable[str]) -> dict[str, CatalogPlacement]:
        """The placement of each mapped variation; unmapped (or unreadable) ones are simply absent."""
        wanted = sorted(set(variation_ids))
        found: dict[str, CatalogPlacement] = {}
        keys = [variation_sk(v) for v in wanted]
        for item in batch_get(self._dynamodb, self._table_name, tenant_pk(tenant_id), keys):
            try:
                found[str(item["SK"]).rsplit("#", 1)[1]] = CatalogPlacement.model_validate(item)
            except ValidationError:
                continue  # a half-written mapping is no mapping: the line is handled as unmapped
        return found


def batch_get(dynamodb: Any, table_name: str, pk: str, sort_keys: list[str]) -> list[dict[str, Any]]:
    """Every existing item among (pk, sort key), 100 keys per request, unprocessed keys retried with backoff."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(sort_keys), BATCH_GET_MAX):
        chunk = sort_keys[start : start + BATCH_GET_MAX]
        request: dict[str, Any] = {table_name: {"Keys": [{"PK": pk, "SK": sk} for sk in chunk]}}
        for attempt in range(_UNPROCESSED_ATTEMPTS):
            answer = dynamodb.batch_get_item(RequestItems=request)
            items += answer.get("Responses", {}).get(table_name, [])
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise TransientError("DynamoDB left keys unprocessed after several attempts")
    return items
