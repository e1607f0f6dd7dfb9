"""Registering a tenant against the table and Secrets Manager deployed from template.yaml into moto: a registration
refused because its POS location is another site's leaves the tenant's working credentials as they were."""

from __future__ import annotations

import uuid

import pytest
from aws_lambda_powertools.utilities import parameters

from devstack.app import Devstack
from posbridge.domain.tenant import TenantRegistration
from posbridge.flows.tenants import register_tenant
from posbridge.secrets import TenantSecrets
from posbridge.store.pos_links import PosLocationTaken
from posbridge.store.tenants import TenantStore


def _registration(location_id: str, token: str) -> TenantRegistration:
    return TenantRegistration.model_validate(
        {
            "pos": {
                "provider": "square",
                "merchantId": "M-SHARED",
                "locationId": location_id,
                "accessToken": token,
                "webhookSignatureKey": f"key-{token}",
            }
        }
    )


@pytest.fixture
def world(devstack: Devstack) -> tuple[TenantStore, TenantSecrets]:
    assert devstack.stack is not None
    prefix = f"posbridge/test-{uuid.uuid4().hex[:8]}/tenants"  # fresh secrets, so Powertools' cache never answers
    return TenantStore(devstack.stack.output("MappingsTableName")), TenantSecrets(prefix)


def test_a_refused_registration_keeps_the_tenants_credentials(world: tuple[TenantStore, TenantSecrets]) -> None:
    tenants, vault = world
    a, b = f"inst-a-{uuid.uuid4().hex[:6]}", f"inst-b-{uuid.uuid4().hex[:6]}"
    # Given A connected to its location with token-a1, and B connected to another location
    register_tenant(a, _registration(f"L-{a}", "token-a1"), tenants, vault)
    register_tenant(b, _registration(f"L-{b}", "token-b1"), tenants, vault)

    # When A asks for B's location with new credentials
    with pytest.raises(PosLocationTaken):
        register_tenant(a, _registration(f"L-{b}", "token-a2"), tenants, vault)

    # Then A keeps its location and its working credentials
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # Powertools leaves clear_caches unannotated
    assert tenants.get(a).pos.location_id == f"L-{a}"  # type: ignore[union-attr]
    assert vault.pos_credentials(a).access_token.get_secret_value() == "token-a1"


def test_an_accepted_update_replaces_the_credentials(world: tuple[TenantStore, TenantSecrets]) -> None:
    tenants, vault = world
    a = f"inst-a-{uuid.uuid4().hex[:6]}"
    register_tenant(a, _registration(f"L-{a}", "token-a1"), tenants, vault)
    # When A registers again with a new token (the same location)
    register_tenant(a, _registration(f"L-{a}", "token-a2"), tenants, vault)
    # Then functions read the new token (past Powertools' five-minute cache, as a new process would)
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # Powertools leaves clear_caches unannotated
    assert vault.pos_credentials(a).access_token.get_secret_value() == "token-a2"
