"""Connecting a Wix site (app instance) to its POS: the admin API's business rules."""

from __future__ import annotations

from datetime import UTC, datetime

from posbridge.domain.tenant import Tenant, TenantRegistration
from posbridge.errors import StaleWrite
from posbridge.ports.stores import CredentialVault, TenantRepository

STALE_WRITE_ATTEMPTS = 3


def register_tenant(
    instance_id: str, registration: TenantRegistration, tenants: TenantRepository, vault: CredentialVault
) -> tuple[Tenant, bool]:
    """Create or update a tenant; returns (tenant, created). The credentials are staged in the vault first and made
    current only once the tenant is stored, so a refused registration (its POS location is another site's) leaves the
    tenant's working credentials as they were; a retry after a failure in between stages and promotes again.
    Re-registering keeps the creation date and the status (a paused tenant stays paused), except that registering a
    removed tenant again (the app was reinstalled) makes it active."""
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    staged = vault.stage_pos_credentials(instance_id, registration.pos.credentials())
    attempts_left = STALE_WRITE_ATTEMPTS
    while True:
        existing = tenants.get(instance_id)
        tenant = Tenant(
            instance_id=instance_id,
            status=existing.status if existing and existing.status != "removed" else "active",
            pos=registration.pos.connection(),
            settings=registration.settings,
            created_at=existing.created_at if existing else now,
            updated_at=now,
            version=existing.version if existing else 0,  # stored only if still as read (a pause, an uninstall)
        )
        try:
            tenants.put(tenant)
            break
        except StaleWrite:  # another write came first: build the tenant again on what it wrote
            attempts_left -= 1
            if attempts_left == 0:
                raise
    vault.promote_pos_credentials(instance_id, staged)
    return tenant, existing is None
