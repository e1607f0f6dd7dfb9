"""A tenant: one Wix app instance (one restaurant site) connected to one POS account and location."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool, StrictInt
from pydantic.alias_generators import to_camel

# A POS provider's name, as the registry knows it (pos/registry.py ADAPTERS: "square", ...). The core knows no provider:
# which names are accepted is the admin API's check against the registry.
PosProvider = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
TenantStatus = Literal["active", "paused", "removed"]  # removed: the Wix app was uninstalled


class _Wire(BaseModel):
    # camelCase on the wire (admin API), snake_case in code; unknown fields are refused, not silently dropped.
    model_config = ConfigDict(populate_by_name=True, extra="forbid", alias_generator=to_camel)


class PosConnection(_Wire):
    """Where the tenant's POS lives; no secrets here, so it may be stored and shown."""

    provider: PosProvider
    merchant_id: str = Field(min_length=1, max_length=191)
    location_id: str = Field(min_length=1, max_length=191)


class PosCredentials(_Wire):
    """Kept only in Secrets Manager.

    `webhook_signature_key` is what the provider's webhooks are verified with (Square: the subscription's signature
    key; Clover: the app's Clover Auth Code). A provider with expiring OAuth tokens and refresh tokens (Clover) is
    registered with the whole pair of its authorisation; its adapter keeps the pair fresh in a store of its own from
    then on (pos/clover/provider.py), and a new pair here (a new authorisation) replaces it there."""

    access_token: SecretStr = Field(min_length=1)
    webhook_signature_key: SecretStr = Field(min_length=1)
    refresh_token: SecretStr | None = Field(default=None, min_length=1)
    # strict: JSON integers only, as documented (not "123" or 12.0)
    access_token_expiration: StrictInt | None = Field(default=None, ge=0, description="Unix seconds")
    refresh_token_expiration: StrictInt | None = Field(default=None, ge=0, description="Unix seconds")


class PosRegistration(PosConnection, PosCredentials):
    """The `pos` object of PUT /admin/tenants/{instanceId}."""

    def connection(self) -> PosConnection:
        return PosConnection(provider=self.provider, merchant_id=self.merchant_id, location_id=self.location_id)

    def credentials(self) -> PosCredentials:
        return PosCredentials.model_validate(self.model_dump(include=set(PosCredentials.model_fields)))


class TenantSettings(_Wire):
    export_on: Literal["approved", "created"] = Field(
        default="approved", description="export a Wix order to the POS once approved (default) or as soon as created"
    )
    unmapped_pos_lines: Literal["park", "custom"] = Field(
        default="park",
        description="a POS order line with no catalog mapping: park the order with the reason (default), or import "
        "it as a custom line (not a Wix Restaurants item)",
    )
    wix_location_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Wix business location of orders imported from the POS (default: the site's default location)",
    )
    wix_operation_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Wix Restaurants operation of orders imported from the POS (default: the site's default one)",
    )
    notify_on_import: StrictBool = Field(  # strict: JSON true/false only, as documented (not 0/1, "yes")
        default=False, description="let Wix send its buyer and business notifications for orders imported from the POS"
    )
    export_unpaid: StrictBool = Field(
        default=True,
        description="export an order not paid on Wix (cash at pickup or on delivery): true (default) sends it to the "
        "kitchen marked UNPAID with the amount to collect; false records it as skipped with its reason",
    )
    square_delivery_partner: StrictBool = Field(
        default=False,
        description="the Square seller has Square's delivery partnership: send Wix delivery orders as DELIVERY "
        "fulfillments; false (default) sends them as PICKUP by the restaurant's own driver, which the Square POS shows",
    )
    catalog_system_of_record: Literal["pos", "wix"] = Field(
        default="pos",
        description="an entity edited in Wix since the last catalog sync: overwrite it with the POS (default) or "
        "keep the Wix edit (reported either way)",
    )


class TenantRegistration(_Wire):
    pos: PosRegistration
    settings: TenantSettings = Field(default_factory=TenantSettings)


class Tenant(_Wire):
    instance_id: str
    status: TenantStatus = "active"
    pos: PosConnection
    settings: TenantSettings
    created_at: str
    updated_at: str
    removed_at: str | None = None  # when the app was removed; its mappings are purged a retention period later
    paused_reason: str | None = None  # why a paused tenant is paused when not by an operator (square_revoked_by_...)
    # The stored revision this tenant was read at (None: not read from the store). A write of it succeeds only if the
    # stored tenant is still that revision, so a pause racing an uninstall can never bring the tenant back.
    version: int | None = Field(default=None, ge=0, exclude=True)
