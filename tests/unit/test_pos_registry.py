"""The provider registry (posbridge/pos/registry.py): each tenant's gateway and catalog reader come from its
provider's adapter and that provider's configured base URL; Square's parameters keep working."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from posbridge.config import OrderWorkerSettings
from posbridge.domain.tenant import PosConnection, PosCredentials
from posbridge.errors import PermanentError
from posbridge.pos import registry
from posbridge.pos.registry import PosCatalogs, PosGateways
from posbridge.pos.square import SquarePos
from posbridge.pos.square.catalog_reader import SquareCatalogSource
from posbridge.pos.square.webhooks import SquareWebhooks
from tests.unit.pos_fakes import tenant

SQUARE_URL = "http://127.0.0.1:9"


class Secrets:
    def __init__(self) -> None:
        self.token = "token-1"

    def pos_credentials(self, instance_id: str, changed_at: str | None = None) -> PosCredentials:
        return PosCredentials(access_token=SecretStr(self.token), webhook_signature_key=SecretStr("key"))


def test_a_square_tenant_gets_a_square_gateway_kept_while_warm_and_rebuilt_when_what_it_is_built_from_changes() -> None:
    # Given the registry with Square's base URL
    secrets = Secrets()
    gateways = PosGateways({"square": SQUARE_URL}, secrets)  # type: ignore[arg-type]
    shop = tenant()
    # When the same tenant asks twice
    first = gateways.for_tenant(shop)
    # Then it gets one Square gateway, reused
    assert isinstance(first, SquarePos) and gateways.for_tenant(shop) is first
    # And a new one once the delivery setting or the token changes
    partner = shop.model_copy(update={"settings": shop.settings.model_copy(update={"square_delivery_partner": True})})
    second = gateways.for_tenant(partner)
    assert second is not first
    secrets.token = "token-2"
    assert gateways.for_tenant(partner) is not second


def test_catalog_readers_and_webhook_readers_come_from_the_provider() -> None:
    catalogs = PosCatalogs({"square": SQUARE_URL}, Secrets())  # type: ignore[arg-type]
    assert isinstance(catalogs.for_tenant(tenant()), SquareCatalogSource)
    square = registry.webhooks("square", "https://example.com/webhooks/pos/square")
    assert isinstance(square, SquareWebhooks) and square.provider == "square"
    # And Square's endpoint: no handshake, one delivery per POST (the body itself, refused by `read` if not Square's)
    assert square.handshake(b"{}") is None and not square.delivers_many
    assert square.split(b"anything", None) == [b"anything"]
    assert square.signature_header == "x-square-hmacsha256-signature"


def test_a_tenant_of_an_unknown_or_unconfigured_provider_is_a_permanent_error() -> None:
    # Given a stored tenant naming a provider posbridge has no adapter for (model_copy skips validation, as an old
    # record read back could), and a registry without Square's URL
    shop = tenant()
    foreign = shop.model_copy(update={"pos": PosConnection.model_construct(provider="nopos", merchant_id="M",
                                                                            location_id="L")})  # fmt: skip
    # When their gateways are asked for, Then each is refused with its reason (a poison message, never a crash)
    with pytest.raises(PermanentError) as unknown:
        PosGateways({"square": SQUARE_URL}, Secrets()).for_tenant(foreign)  # type: ignore[arg-type]
    assert unknown.value.reason == "unknown_pos_provider"
    with pytest.raises(PermanentError) as unconfigured:
        PosGateways({}, Secrets()).for_tenant(shop)  # type: ignore[arg-type]
    assert unconfigured.value.reason == "pos_provider_not_configured"


def _settings(**extra: str) -> OrderWorkerSettings:
    env = {"MAPPINGS_TABLE": "t", "IDEMPOTENCY_TABLE": "i", "TENANT_SECRET_PREFIX": "p", "DEAD_LETTER_QUEUE_URL": "q",
           "WORK_QUEUE_URL": "w"}  # fmt: skip
    return OrderWorkerSettings.from_env({**env, **extra})


def test_base_urls_are_per_provider_with_squares_parameter_unchanged() -> None:
    # Given Square's POS_API_BASE_URL and another provider's URL by name
    settings = _settings(
        POS_API_BASE_URL="https://connect.squareup.com", POS_API_BASE_URLS='{"other": "https://api.example.com"}'
    )
    # Then each provider has its own, Square's from its old parameter
    assert settings.pos_base_urls() == {"square": "https://connect.squareup.com", "other": "https://api.example.com"}
    assert _settings(POS_API_BASE_URL="https://connect.squareup.com").pos_base_urls() == {
        "square": "https://connect.squareup.com"
    }
    # And another provider's URL is held to the same rule: TLS, or loopback
    with pytest.raises(ValidationError, match="https"):
        _settings(POS_API_BASE_URL="https://connect.squareup.com", POS_API_BASE_URLS='{"other": "http://10.0.0.1"}')


def test_the_admin_api_accepts_exactly_the_registered_providers_and_the_domain_any_well_formed_name() -> None:
    from typing import get_args

    from posbridge.domain.tenant import PosConnection as Connection
    from posbridge.pos.registry import ADAPTERS, RegisteredProvider

    # Given the registry's adapters and the names the admin API's schema lists
    # Then they are the same names
    assert set(get_args(RegisteredProvider)) == set(ADAPTERS)
    # And a stored connection of any well-formed provider name reads back (the core names none), a malformed one not
    stored = {"merchantId": "M", "locationId": "L"}
    assert Connection.model_validate({"provider": "another_pos", **stored}).provider == "another_pos"
    with pytest.raises(ValidationError):
        Connection.model_validate({"provider": "Not A Name", **stored})
