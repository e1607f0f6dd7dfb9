"""One POS gateway per tenant, built from its provider and the credentials in Secrets Manager, reused while warm."""

from __future__ import annotations

import hashlib

import httpx

from posbridge.domain.tenant import Tenant
from posbridge.ports.pos import PosGateway
from posbridge.pos.square import SquareClient, SquarePos
from posbridge.secrets import TenantSecrets


class PosGateways:
    def __init__(self, square_base_url: str, secrets: TenantSecrets) -> None:
        self._square_base_url = square_base_url
        self._secrets = secrets
        self._http = httpx.Client()  # one connection pool for every tenant of this warm function
        self._cache: dict[str, tuple[str, PosGateway]] = {}

    def for_tenant(self, tenant: Tenant) -> PosGateway:
        credentials = self._secrets.pos_credentials(tenant.instance_id)
        token = credentials.access_token.get_secret_value()
        # Rebuilt when the token (rotation), the location or the delivery setting changes; the fingerprint keeps the
        # token out of memory maps.
        partner = tenant.settings.square_delivery_partner
        fingerprint = hashlib.sha256(f"{token}|{tenant.pos.location_id}|{partner}".encode()).hexdigest()
        cached = self._cache.get(tenant.instance_id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        client = SquareClient(self._square_base_url, token, http=self._http)
        gateway = SquarePos(client, tenant.pos.location_id, delivery_partner=partner)
        self._cache[tenant.instance_id] = (fingerprint, gateway)
        return gateway
