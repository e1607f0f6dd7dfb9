"""What a POS provider package registers with the registry (pos/registry.py): how it builds, for one tenant, its
gateway and catalog reader (ports/pos.py), how it reads its webhooks, and, if restaurants connect it themselves, its
OAuth application (ports/oauth.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from posbridge.domain.pos_oauth import TokenPolicy
from posbridge.domain.tenant import PosCredentials, Tenant
from posbridge.ports.oauth import OAuthConnector
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


@dataclass(frozen=True)
class OAuthContext:
    """Everything an OAuth connector is built from."""

    base_url: str  # the provider's API base URL, as for its gateways
    app_secret_name: str  # the Secrets Manager secret of the provider's OAuth application (read by its adapter)
    http: httpx.Client


@dataclass(frozen=True)
class OAuthApp:
    """A provider's OAuth side (flows/pos_oauth.py): its token rules, and its connector (which reads the
    application's secret: the rules are known without it)."""

    policy: TokenPolicy
    connector: Callable[[OAuthContext], OAuthConnector]


@dataclass(frozen=True)
class WebhookContext:
    """Everything a webhook reader is built from (the webhook handler's settings)."""

    delivery_url: str  # the URL the provider delivers to (Square signs it; empty: not configured yet)
    state_table: str = ""  # where the adapter may keep what its webhooks bring (Clover: the handshake's code)


def _no_settings(tenant: Tenant) -> str:
    return ""


@dataclass(frozen=True)
class PosAdapter:
    name: str  # PosConnection.provider, the POS links' key and WorkMessage.source
    gateway: Callable[[PosContext], PosGateway]
    catalog: Callable[[PosContext], CatalogSource]
    webhooks: Callable[[WebhookContext], PosWebhooks]
    # The tenant settings a gateway is built from besides its credentials and location: a change rebuilds it
    gateway_settings: Callable[[Tenant], str] = _no_settings
    # Restaurants connecting their account themselves (the restaurant's page); None: an operator registers tenants
    oauth: OAuthApp | None = None
    # The provider as its owners know it, in the words the restaurant's page shows ("Square"); empty: the name
    display_name: str = ""
