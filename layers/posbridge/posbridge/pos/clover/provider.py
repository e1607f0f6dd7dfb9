"""Clover as the registry (pos/registry.py) builds it: the order gateway, the inventory reader, the webhooks.

One Clover merchant is one posbridge location: a tenant's PosConnection names the merchant id as both merchant_id and
location_id (Clover has no locations under a merchant; its webhooks and order summaries name the merchant).

What it is built from:
- options (POS_PROVIDER_OPTIONS["clover"]): `app_id`, the Clover app's id (its OAuth client_id: the token refresh
  sends it, docs.clover.com/docs/refresh-access-tokens), required; `currency`, the ISO code the merchants' amounts are
  in (Clover's payments name none; default USD);
- the state table: the merchant's token pair (pos/clover/token_store.py, refreshed by compare-and-set across functions)
  and the shared per-second window of Clover's 16 requests/s per token (rate_limit.py);
- the tenant's credentials: the pair of the authorisation it was registered with seeds the token store once (a new
  pair, a new authorisation, replaces it); `webhook_signature_key` is the app's Clover Auth Code (webhooks.py), and
  the webhook verification handshake's code is kept in the state table (webhook_code.py).
"""

from __future__ import annotations

from posbridge.domain.tenant import Tenant
from posbridge.errors import PermanentError
from posbridge.ports.pos import CatalogSource, PosGateway, PosWebhooks
from posbridge.pos.adapter import PosAdapter, PosContext, WebhookContext
from posbridge.pos.clover import CloverPos
from posbridge.pos.clover.catalog import CloverCatalogSource
from posbridge.pos.clover.client import CloverClient
from posbridge.pos.clover.rate_limit import SharedSecondLimiter
from posbridge.pos.clover.tokens import CloverTokens
from posbridge.pos.clover.webhooks import PROVIDER, CloverWebhooks

DEFAULT_CURRENCY = "USD"


def _currency(context: PosContext) -> str:
    return context.options.get("currency") or DEFAULT_CURRENCY


def _client(context: PosContext) -> CloverClient:
    from posbridge.pos.clover.token_store import DynamoCloverTokenStore  # boto3: only where a gateway is built

    app_id = context.options.get("app_id", "")
    if not app_id or not context.state_table:
        raise PermanentError(
            "pos_provider_not_configured", "Clover needs its app id (POS_PROVIDER_OPTIONS) and the state table"
        )
    merchant_id = context.tenant.pos.merchant_id
    store = DynamoCloverTokenStore(context.state_table, merchant_id)
    credentials = context.credentials
    if credentials.refresh_token is not None:
        store.seed(
            CloverTokens(
                access_token=credentials.access_token.get_secret_value(),
                access_token_expiration=credentials.access_token_expiration or 0,
                refresh_token=credentials.refresh_token.get_secret_value(),
                refresh_token_expiration=credentials.refresh_token_expiration or 0,
            )
        )
    limiter = SharedSecondLimiter(context.state_table)
    return CloverClient(context.base_url, merchant_id, app_id, store, http=context.http, limiter=limiter)


def _gateway(context: PosContext) -> PosGateway:
    return CloverPos(_client(context), currency=_currency(context))


def _catalog(context: PosContext) -> CatalogSource:
    return CloverCatalogSource(_client(context), _currency(context))


def _webhooks(context: WebhookContext) -> PosWebhooks:
    """Verified by a static header, not a signature over the URL; the handshake's code kept in the state table."""
    if not context.state_table:
        return CloverWebhooks()
    from posbridge.pos.clover.webhook_code import CloverVerificationCodes  # boto3: only where webhooks arrive

    return CloverWebhooks(CloverVerificationCodes(context.state_table))


def _gateway_settings(tenant: Tenant) -> str:
    return ""


CLOVER = PosAdapter(PROVIDER, _gateway, _catalog, _webhooks, _gateway_settings, display_name="Clover")
