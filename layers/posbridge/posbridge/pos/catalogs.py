"""One POS catalog source per tenant (the catalog side of the POS port), built from its provider and credentials."""

from __future__ import annotations

import httpx

from posbridge.domain.tenant import Tenant
from posbridge.ports.pos import CatalogSource
from posbridge.pos.square.catalog import SquareCatalogSource
from posbridge.pos.square.client import SquareClient
from posbridge.secrets import TenantSecrets


class PosCatalogs:
    def __init__(self, square_base_url: str, secrets: TenantSecrets) -> None:
        self._square_base_url = square_base_url
        self._secrets = secrets
        self._http = httpx.Client()

    def for_tenant(self, tenant: Tenant) -> CatalogSource:
        token = self._secrets.pos_credentials(tenant.instance_id).access_token.get_secret_value()
        client = SquareClient(self._square_base_url, token, http=self._http)
        return SquareCatalogSource(client, tenant.pos.location_id)
