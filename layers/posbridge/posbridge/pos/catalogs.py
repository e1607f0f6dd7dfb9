"""One POS catalog source per tenant (the catalog side of the POS port), built from its provider and credentials."""

from __future__ import annotations

from typing import Protocol

import httpx

from posbridge.domain.catalog import Catalog
from posbridge.domain.tenant import Tenant
from posbridge.pos.square.catalog import LayoutOptions, SquareCatalogSource
from posbridge.pos.square.client import SquareClient
from posbridge.secrets import TenantSecrets


class CatalogSource(Protocol):
    def load_catalog(self, options: LayoutOptions) -> Catalog:
        """The POS catalog of the tenant's location, as the canonical model (POS ids kept)."""
        ...

    def changed_since(self, begin_time: str | None) -> tuple[int, str | None]:
        """Objects changed after `begin_time` (how many, latest updated_at): the incremental sync's probe."""
        ...


class PosCatalogs:
    def __init__(self, square_base_url: str, secrets: TenantSecrets) -> None:
        self._square_base_url = square_base_url
        self._secrets = secrets
        self._http = httpx.Client()

    def for_tenant(self, tenant: Tenant) -> CatalogSource:
        token = self._secrets.pos_credentials(tenant.instance_id).access_token.get_secret_value()
        client = SquareClient(self._square_base_url, token, http=self._http)
        return SquareCatalogSource(client, tenant.pos.location_id)
