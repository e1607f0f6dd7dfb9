"""What a POS provider package registers with the registry (pos/registry.py): how it builds, for one tenant, its
gateway and catalog reader (ports/pos.py), and how it reads its webhooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from posbridge.domain.tenant import PosCredentials, Tenant
from posbridge.ports.pos import CatalogSource, PosGateway, PosWebhooks


@dataclass(frozen=True)
class PosContext:
    """Everything an adapter is built from for one tenant."""

    base_url: str  # the provider's API base URL (config: PosApiSettings.pos_base_urls)
    tenant: Tenant
    credentials: PosCredentials  # the tenant's, from Secrets Manager
    http: httpx.Client  # one connection pool per warm function, shared by every tenant


def _no_settings(tenant: Tenant) -> str:
    return ""


@dataclass(frozen=True)
class PosAdapter:
    name: str  # PosConnection.provider, the POS links' key and WorkMessage.source
    gateway: Callable[[PosContext], PosGateway]
    catalog: Callable[[PosContext], CatalogSource]
    webhooks: Callable[[str], PosWebhooks]  # from the URL the provider delivers to (Square signs it)
    # The tenant settings a gateway is built from besides its credentials and location: a change rebuilds it
    gateway_settings: Callable[[Tenant], str] = _no_settings
