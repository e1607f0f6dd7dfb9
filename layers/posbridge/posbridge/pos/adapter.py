"""What a POS provider package registers with the registry (pos/registry.py): how it builds, for one tenant, its
gateway and catalog reader (ports/pos.py), and how it reads its webhooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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
    # The provider's own settings (config: PosApiSettings.pos_provider_options, POS_PROVIDER_OPTIONS: e.g. Clover's
    # app id); each adapter documents the names it reads
    options: Mapping[str, str] = field(default_factory=dict)
    # The table an adapter may keep per-account state in, shared by every function (Clover: its token pairs and its
    # per-second rate window); empty where the function has none
    state_table: str = ""


def _no_settings(tenant: Tenant) -> str:
    return ""


@dataclass(frozen=True)
class PosAdapter:
    name: str  # PosConnection.provider, the POS links' key and WorkMessage.source
    gateway: Callable[[PosContext], PosGateway]
    catalog: Callable[[PosContext], CatalogSource]
    webhooks: Callable[[str], PosWebhooks]  # from the URL the provider delivers to (Square signs it; Clover: unused)
    # The tenant settings a gateway is built from besides its credentials and location: a change rebuilds it
    gateway_settings: Callable[[Tenant], str] = _no_settings
