"""The POS providers posbridge can connect a tenant to, by the name it was registered with (PosConnection.provider),
and the per-tenant gateways and catalog readers built from them (the PosGateways and CatalogSources ports).

A new provider: its package pos/<provider>/ defines a PosAdapter (pos/adapter.py; Square: pos/square/provider.py,
Clover: pos/clover/provider.py) and is listed in ADAPTERS and RegisteredProvider; its API base URL and its own settings
are configured by name (config.PosApiSettings: POS_API_BASE_URLS, POS_PROVIDER_OPTIONS). One restaurants connect
themselves through OAuth also registers an OAuthApp (PosAdapter.oauth), which PosOAuth hands the OAuth flow."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal

import httpx

from posbridge.domain.pos_oauth import TokenPolicy
from posbridge.domain.tenant import Tenant
from posbridge.errors import PermanentError
from posbridge.ports.oauth import OAuthConnector
from posbridge.ports.pos import CatalogSource, PosGateway, PosWebhooks
from posbridge.pos.adapter import OAuthApp, OAuthContext, PosAdapter, PosContext, WebhookContext
from posbridge.pos.clover.provider import CLOVER
from posbridge.pos.square.provider import SQUARE
from posbridge.secrets import TenantSecrets

ADAPTERS: dict[str, PosAdapter] = {adapter.name: adapter for adapter in (SQUARE, CLOVER)}
# The names a tenant may be registered with (the admin API's schema, an enum in docs/openapi.json): ADAPTERS' keys
# (tests/unit/test_pos_registry.py holds them equal).
RegisteredProvider = Literal["square", "clover"]


def adapter(provider: str) -> PosAdapter:
    found = ADAPTERS.get(provider)
    if found is None:
        raise PermanentError("unknown_pos_provider", f"posbridge has no adapter for the POS provider {provider!r}")
    return found


def webhooks(provider: str, delivery_url: str, state_table: str = "") -> PosWebhooks:
    """The provider's webhook reader (the webhook handler's, functions/pos_webhook)."""
    return adapter(provider).webhooks(WebhookContext(delivery_url, state_table))


def display_name(provider: str) -> str:
    """The provider in the words its owners know it by (the restaurant's page)."""
    return adapter(provider).display_name or provider


def oauth_providers() -> tuple[str, ...]:
    """The providers restaurants connect themselves through OAuth (the restaurant API's /restaurant/{provider}/...
    and /oauth/{provider}/callback routes); any other name is not a route."""
    return tuple(name for name, found in ADAPTERS.items() if found.oauth is not None)


def _oauth_app(provider: str) -> OAuthApp:
    found = adapter(provider).oauth
    if found is None:
        raise PermanentError("pos_oauth_not_supported", f"the POS provider {provider!r} is not connected through OAuth")
    return found


class PosOAuth:
    """Each provider's OAuth connector and token rules (the OAuthConnectors port, flows/pos_oauth.py), from its API
    base URL and the name of its application's secret, by the registry's name. A connector reads the application's
    secret when built (cached by Powertools), so a rotated secret is used within minutes."""

    def __init__(self, base_urls: Mapping[str, str], app_secret_names: Mapping[str, str]) -> None:
        self._base_urls = dict(base_urls)
        self._app_secret_names = dict(app_secret_names)
        self._http = httpx.Client()  # one connection pool for every connection of this warm function

    def policy(self, provider: str) -> TokenPolicy:
        return _oauth_app(provider).policy

    def connector(self, provider: str) -> OAuthConnector:
        app = _oauth_app(provider)
        base_url, secret_name = self._base_urls.get(provider), self._app_secret_names.get(provider)
        if not base_url or not secret_name:
            raise PermanentError(
                "pos_provider_not_configured", f"no API base URL or OAuth application is configured for {provider!r}"
            )
        return app.connector(OAuthContext(base_url, secret_name, self._http))


class _PerTenant:
    def __init__(
        self,
        base_urls: Mapping[str, str],
        secrets: TenantSecrets,
        options: Mapping[str, Mapping[str, str]] | None = None,
        state_table: str = "",
    ) -> None:
        self._base_urls = dict(base_urls)
        self._secrets = secrets
        self._options = {name: dict(values) for name, values in (options or {}).items()}
        self._state_table = state_table
        self._http = httpx.Client()  # one connection pool for every tenant of this warm function

    def _context(self, tenant: Tenant) -> tuple[PosAdapter, PosContext]:
        found = adapter(tenant.pos.provider)
        base_url = self._base_urls.get(found.name)
        if not base_url:
            raise PermanentError(
                "pos_provider_not_configured", f"no API base URL is configured for the POS provider {found.name!r}"
            )
        credentials = self._secrets.pos_credentials(tenant.instance_id, tenant.updated_at)
        options = self._options.get(found.name, {})
        return found, PosContext(base_url, tenant, credentials, self._http, options, self._state_table)


class PosGateways(_PerTenant):
    """One POS gateway per tenant, built by its provider's adapter from the credentials in Secrets Manager, and
    reused while warm."""

    def __init__(
        self,
        base_urls: Mapping[str, str],
        secrets: TenantSecrets,
        options: Mapping[str, Mapping[str, str]] | None = None,
        state_table: str = "",
    ) -> None:
        super().__init__(base_urls, secrets, options, state_table)
        self._cache: dict[str, tuple[str, PosGateway]] = {}

    def for_tenant(self, tenant: Tenant) -> PosGateway:
        found, context = self._context(tenant)
        token = context.credentials.access_token.get_secret_value()
        # Rebuilt when the token (rotation), the provider, the location or a setting the gateway is built from
        # changes; the fingerprint keeps the token out of memory maps.
        seed = f"{found.name}|{token}|{tenant.pos.location_id}|{found.gateway_settings(tenant)}"
        fingerprint = hashlib.sha256(seed.encode()).hexdigest()
        cached = self._cache.get(tenant.instance_id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        gateway = found.gateway(context)
        self._cache[tenant.instance_id] = (fingerprint, gateway)
        return gateway


class PosCatalogs(_PerTenant):
    """One POS catalog reader per tenant (Flows 4 and 5), built by its provider's adapter."""

    def for_tenant(self, tenant: Tenant) -> CatalogSource:
        found, context = self._context(tenant)
        return found.catalog(context)
