"""Square as the registry (pos/registry.py) builds it: the Orders/Payments gateway, the catalog reader, the webhooks."""

from __future__ import annotations

from posbridge.domain.tenant import Tenant
from posbridge.ports.pos import CatalogSource, PosGateway
from posbridge.pos.adapter import PosAdapter, PosContext
from posbridge.pos.square import SquarePos
from posbridge.pos.square.catalog import SquareCatalogSource
from posbridge.pos.square.client import SquareClient
from posbridge.pos.square.webhooks import PROVIDER, SquareWebhooks


def _client(context: PosContext) -> SquareClient:
    token = context.credentials.access_token.get_secret_value()
    return SquareClient(context.base_url, token, http=context.http)


def _gateway(context: PosContext) -> PosGateway:
    partner = context.tenant.settings.square_delivery_partner
    return SquarePos(_client(context), context.tenant.pos.location_id, delivery_partner=partner)


def _catalog(context: PosContext) -> CatalogSource:
    return SquareCatalogSource(_client(context), context.tenant.pos.location_id)


def _gateway_settings(tenant: Tenant) -> str:
    return str(tenant.settings.square_delivery_partner)


SQUARE = PosAdapter(PROVIDER, _gateway, _catalog, SquareWebhooks, _gateway_settings)
