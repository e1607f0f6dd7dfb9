"""A tenant's lifecycle: the Wix app installed or removed, paused and resumed by an operator, purged after removal.

- AppInstalled: an installation record, i.e. a restaurant awaiting its POS connection (PUT /admin/tenants/{id}); a
  no-op when it is already installed or connected.
- AppRemoved: the tenant is marked removed, its POS credentials are deleted from Secrets Manager, its POS location is
  released (another site may connect it); its events are from then on acknowledged and ignored. Its mappings stay for
  the retention period, then `purge_removed` deletes them (the tenant record stays as a tombstone).
- Pause / resume: a paused tenant's events are parked in the DLQ with reason `tenant_paused`; redrive them after
  resuming.

Tenant writes are conditioned on the revision read (store/tenants.py): a pause racing an uninstall re-reads and is
refused, and an uninstall racing a pause fails with StaleWrite (transient: the message comes back and re-reads).
Every step is idempotent, so duplicated and re-delivered lifecycle events are harmless. Ordering: Wix retries a
webhook for about 48 hours and may deliver it out of order, and the legacy AppInstalled / AppRemoved events carry no
event id, no event time and no sequence (data: appId, originInstanceId). What they do carry is the JWT's `iat`: Wix
signs the event once, when it happens (its sample token is valid for ~83 h, beyond the retry window), so `iat` is the
event time. Each applied transition records it (`changed_at`), and an event older than the last applied transition
is ignored ("stale"): remove -> reinstall -> a late retry of the old remove leaves the reinstalled tenant alone, and a
late install never resurrects a tenant removed after it. Events without a time (queued before this rule) apply as
before. Wix keeps the instance id across a reinstall; a reinstalled site waits for a new POS connection, since its
credentials were deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from posbridge.domain.tenant import Tenant
from posbridge.domain.tenant_records import Installation
from posbridge.errors import EventIgnored, PermanentError, StaleWrite
from posbridge.ports.stores import CredentialEraser, Installations, TenantRepository

APP_INSTALLED = "AppInstalled"
APP_REMOVED = "AppRemoved"
LIFECYCLE_EVENTS = frozenset({APP_INSTALLED, APP_REMOVED})
OCCURRED_AT = "occurredAt"  # the work message payload's key for when the lifecycle event happened (ISO 8601, UTC)


@dataclass(frozen=True)
class LifecyclePorts:
    tenants: TenantRepository
    lifecycle: Installations
    vault: CredentialEraser


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso(moment: datetime) -> str:
    """A lifecycle event's time as the work message carries it (milliseconds kept: `eventTime` has them)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def occurred_at(payload: dict[str, object]) -> datetime | None:
    """The event time a lifecycle work message carries; None for a message queued before events were timed."""
    value = payload.get(OCCURRED_AT)
    try:
        return _parse(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _stale(existing: Installation | None, occurred_at: datetime | None) -> bool:
    """The event happened before the last transition applied to this instance (a late retry or a reordering)."""
    if existing is None or existing.changed_at is None or occurred_at is None:
        return False
    return occurred_at < _parse(existing.changed_at)


def _changed_at(existing: Installation | None, occurred_at: datetime | None) -> str | None:
    """The newest event time applied so far (a duplicate or an older time never moves it back)."""
    known = existing.changed_at if existing else None
    if occurred_at is None or (known is not None and _parse(known) >= occurred_at):
        return known
    return iso(occurred_at)


def app_installed(instance_id: str, ports: LifecyclePorts, now: datetime, occurred_at: datetime | None = None) -> str:
    """Returns the outcome: "installed", "already_installed" or "stale" (older than the last applied transition)."""
    existing = ports.lifecycle.installation(instance_id)
    if _stale(existing, occurred_at):
        return "stale"
    tenant = ports.tenants.get(instance_id)
    changed_at = _changed_at(existing, occurred_at)
    if existing is not None and existing.status == "installed":
        if changed_at != existing.changed_at:  # a newer install of an installed app: later events compare with it
            ports.lifecycle.save_installation(replace(existing, changed_at=changed_at))
        return "already_installed"
    if existing is None and tenant is not None and tenant.status != "removed":
        # Connected before the bridge knew of installations: record the install's time so older events lose to it.
        if changed_at is not None:
            ports.lifecycle.save_installation(
                Installation(instance_id, "installed", installed_at=tenant.created_at, changed_at=changed_at)
            )
        return "already_installed"
    ports.lifecycle.save_installation(
        Installation(instance_id, "installed", installed_at=_stamp(now), changed_at=changed_at)
    )
    return "installed"


def app_removed(instance_id: str, ports: LifecyclePorts, now: datetime, occurred_at: datetime | None = None) -> str:
    """Returns "removed", "already_removed" (the clean-up is repeated: each step is idempotent) or "stale" (older
    than the last applied transition: nothing is touched)."""
    existing = ports.lifecycle.installation(instance_id)
    if _stale(existing, occurred_at):
        return "stale"
    already = existing is not None and existing.status == "removed"
    removed_at = existing.removed_at if already and existing and existing.removed_at else _stamp(now)
    tenant = ports.tenants.get(instance_id)
    # Secrets first: once the tenant reads as removed nothing would ever retry their deletion.
    ports.vault.delete_pos_credentials(instance_id)
    if tenant is not None:
        if tenant.status != "removed":
            tenant = tenant.model_copy(
                update={"status": "removed", "removed_at": removed_at, "updated_at": _stamp(now)}
            )
        ports.lifecycle.remove_tenant(tenant)  # again on a repeat: releases the POS location if a crash left it
    installed_at = existing.installed_at if existing else None
    changed_at = _changed_at(existing, occurred_at)
    ports.lifecycle.save_installation(Installation(instance_id, "removed", installed_at, removed_at, changed_at))
    return "already_removed" if already else "removed"


def require_active(tenant: Tenant) -> None:
    """The workers' gate: a paused tenant's event is poison with reason `tenant_paused` (parked, redriven after
    resuming); a removed tenant's is acknowledged and ignored."""
    if tenant.status == "removed":
        raise EventIgnored("tenant_removed", f"tenant {tenant.instance_id} removed the app")
    if tenant.status != "active":
        raise PermanentError(f"tenant_{tenant.status}", f"tenant {tenant.instance_id} is {tenant.status}")


class NotAllowed(Exception):
    """The tenant cannot take this transition (e.g. resuming a removed tenant)."""


STALE_WRITE_ATTEMPTS = 3


def set_paused(instance_id: str, paused: bool, tenants: TenantRepository, now: datetime) -> Tenant | None:
    """Pause or resume a connected tenant; None if it is not registered. Idempotent. The write holds only if the
    tenant is still as read: one removed meanwhile is refused (NotAllowed) on the re-read, never resurrected."""
    attempts_left = STALE_WRITE_ATTEMPTS
    while True:
        tenant = tenants.get(instance_id)
        if tenant is None:
            return None
        if tenant.status == "removed":
            raise NotAllowed(f"tenant {instance_id} removed the app; it cannot be paused or resumed")
        wanted: Literal["active", "paused"] = "paused" if paused else "active"
        if tenant.status == wanted:
            return tenant
        tenant = tenant.model_copy(update={"status": wanted, "updated_at": _stamp(now), "paused_reason": None})
        try:
            tenants.put(tenant)
            return tenant
        except StaleWrite:  # another write came first (e.g. the uninstall): decide again on what it wrote
            attempts_left -= 1
            if attempts_left == 0:
                raise


@dataclass(frozen=True)
class PurgeResult:
    instance_id: str
    items_deleted: int


def removed_at(instance_id: str, ports: LifecyclePorts) -> datetime | None:
    """When the tenant was removed; None while installed (a reinstall cancels the purge)."""
    installation = ports.lifecycle.installation(instance_id)
    if installation is not None:
        stamp = installation.removed_at if installation.status == "removed" else None
    else:
        tenant = ports.tenants.get(instance_id)
        stamp = tenant.removed_at if tenant and tenant.status == "removed" else None
    return _parse(stamp) if stamp else None


def purge_removed(ports: LifecyclePorts, now: datetime, retention: timedelta) -> list[PurgeResult]:
    """Delete the data of every tenant removed longer ago than the retention (scheduled; idempotent)."""
    results = []
    for instance_id in ports.lifecycle.directory():
        when = removed_at(instance_id, ports)
        if when is not None and when + retention <= now:
            results.append(PurgeResult(instance_id, ports.lifecycle.purge(instance_id)))
    return results
