"""One POS catalog source per tenant (the catalog side of the POS port), built from its provider and credentials."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import httpx

from posbridge.domain.catalog import Catalog, CatalogChanges
from posbridge.domain.tenant import Tenant
from posbridge.pos.square.catalog import LayoutOptions, SquareCatalogSource
from posbridge.pos.square.client import SquareClient
from posbridge.secrets import TenantSecrets


class CatalogSource(Protocol):
    def load_catalog(self, options: LayoutOptions) -> Catalog:
        """The POS catalog of the tenant's location, as the canonical model (POS ids kept), with `as_of`: the POS
        catalog time it is complete up to (where an incremental sync may start after an import)."""
        ...

    def load_items(self, item_ids: Iterable[str], group_ids: Iterable[str], options: LayoutOptions) -> Catalog:
        """Just these items and modifier groups (with the groups the items use), without menus."""
        ...

    def changes_since(self, begin_time: str | None) -> CatalogChanges:
        """What changed after `begin_time`, deleted objects included: the incremental sync's scope."""
        ...


class PosCatalogs:
    def __init__(self, square_base_url: str, secrets: TenantSecrets) -> None:
        self._square_base_url = square_base_url
        self._secrets = secrets
        self._http = httpx.Client()

    def for_tenant(self, tenant: Tenant) -> CatalogSource:
        token = self._secrets.pos_credentials(tenant.instance_id, tenant.updated_at).access_token.get_secret_value()
        client = SquareClient(self._square_base_url, token, http=self._http)
        return SquareCatalogSource(client, tenant.pos.location_id)
