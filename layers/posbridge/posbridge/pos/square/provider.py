"""Square as the registry (pos/registry.py) builds it: the Orders/Payments gateway, the catalog reader, the webhooks,
the OAuth application."""

from __future__ import annotations

from posbridge.domain.tenant import Tenant
from posbridge.ports.oauth import OAuthConnector
from posbridge.ports.pos import CatalogSource, PosGateway, PosWebhooks
from posbridge.pos.adapter import OAuthApp, OAuthContext, PosAdapter, PosContext, WebhookContext
from posbridge.pos.square import SquarePos
from posbridge.pos.square.catalog_reader import SquareCatalogSource
from posbridge.pos.square.client import SquareClient
from posbridge.pos.square.oauth import TOKEN_POLICY, SquareApp, SquareConnector
from posbridge.pos.square.webhooks import PROVIDER, SquareWebhooks


def _client(context: PosContext) -> SquareClient:
    token = context.credentials.access_token.get_secret_value()
    return SquareClient(context.base_url, token, http=context.http)


def _gateway(context: PosContext) -> PosGateway:
    partner = context.tenant.settings.square_delivery_partner
    return SquarePos(_client(context), context.tenant.pos.location_id, delivery_partner=partner)


def _catalog(context: PosContext) -> CatalogSource:
    return SquareCatalogSource(_client(context), context.tenant.pos.location_id)


def _webhooks(context: WebhookContext) -> PosWebhooks:
    return SquareWebhooks(context.delivery_url)  # Square signs the URL it delivers to


def _gateway_settings(tenant: Tenant) -> str:
    return str(tenant.settings.square_delivery_partner)


def _oauth_connector(context: OAuthContext) -> OAuthConnector:
    return SquareConnector(context.base_url, SquareApp.from_secret(context.app_secret_name), http=context.http)


SQUARE = PosAdapter(
    PROVIDER,
    _gateway,
    _catalog,
    _webhooks,
    _gateway_settings,
    oauth=OAuthApp(TOKEN_POLICY, _oauth_connector),
    display_name="Square",
)
