"""The Wix ids every imported order needs: the business location (Locations API) and the Restaurants operation
(Operations API), cached per tenant: in this warm function's memory, then in the mappings table for every function,
for an hour. A tenant may name either one in its settings (`wixLocationId`, `wixOperationId`); otherwise the site's
default location and default operation are used (wix-api.md sections 5 and 8)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from posbridge.domain.order_sync import SiteIds
from posbridge.domain.tenant import Tenant
from posbridge.errors import PermanentError

SITE_IDS_TTL_S = 3600.0


class SiteIdsStore(Protocol):
    def site_ids(self, tenant_id: str, now: float) -> SiteIds | None: ...
    def remember_site_ids(self, tenant_id: str, ids: SiteIds, expires_at: float) -> None: ...


class SiteApi(Protocol):
    def locations(self) -> list[dict[str, Any]]: ...
    def operations(self) -> list[dict[str, Any]]: ...


def resolve_site_ids(tenant: Tenant, api: SiteApi) -> SiteIds:
    """Ask Wix (at most one Locations and one Operations call; none for what the tenant configured)."""
    settings = tenant.settings
    location_id = settings.wix_location_id
    if location_id is None:
        locations = [loc for loc in api.locations() if not loc.get("archived")]
        chosen = next((loc for loc in locations if loc.get("default")), locations[0] if locations else None)
        if chosen is None:
            raise PermanentError("wix_site_without_location", f"the Wix site of {tenant.instance_id} has no location")
        location_id = str(chosen["id"])
    operation_id = settings.wix_operation_id
    if operation_id is None:
        operations = api.operations()  # Wix lists them oldest first
        chosen = next((op for op in operations if op.get("default")), operations[0] if operations else None)
        if chosen is None:
            raise PermanentError(
                "wix_site_without_operation",
                f"the Wix site of {tenant.instance_id} has no Restaurants operation (is Restaurants Orders set up?)",
            )
        operation_id = str(chosen["id"])
    return SiteIds(location_id=location_id, operation_id=operation_id)


class SiteIdsCache:
    def __init__(
        self, store: SiteIdsStore, ttl_s: float = SITE_IDS_TTL_S, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._clock = clock
        self._memory: dict[str, tuple[float, tuple[str | None, str | None], SiteIds]] = {}
        self._lock = threading.Lock()

    def ids(self, tenant: Tenant, api: SiteApi) -> SiteIds:
        now = self._clock()
        # A change of the tenant's settings invalidates what was cached under the old ones.
        configured = (tenant.settings.wix_location_id, tenant.settings.wix_operation_id)
        with self._lock:
            cached = self._memory.get(tenant.instance_id)
        if cached is not None and cached[0] > now and cached[1] == configured:
            return cached[2]
        ids = self._store.site_ids(tenant.instance_id, now)
        if ids is None or not _agrees(ids, configured):
            ids = resolve_site_ids(tenant, api)
            self._store.remember_site_ids(tenant.instance_id, ids, now + self._ttl_s)
        with self._lock:
            self._memory[tenant.instance_id] = (now + self._ttl_s, configured, ids)
        return ids


def _agrees(ids: SiteIds, configured: tuple[str | None, str | None]) -> bool:
    location, operation = configured
    return (location is None or ids.location_id == location) and (operation is None or ids.operation_id == operation)
