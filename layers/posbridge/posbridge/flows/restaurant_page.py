"""The restaurant's page (issue 15): what its owner sees of the sync and may change, for one site only.

Every function takes the site (the instance id its signed Wix instance names) and reads or acts on that site alone:
its orders, its parked messages (a retry redrives only this site's), its catalog sync, its export settings. Reason
codes become plain words here, so the page never shows an error text that could quote a buyer's data. The words name
the site's POS as its provider is called (`PosName`: the handler's, from the registry), never a provider of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from posbridge.domain.activity import OrderActivity
from posbridge.domain.admin import ParkedMessage
from posbridge.domain.tenant import Tenant


class Tenants(Protocol):
    def get(self, instance_id: str) -> Tenant | None: ...
    def put(self, tenant: Tenant) -> None: ...


class ParkedMessages(Protocol):
    def find(self, tenant_id: str | None = None, reason: str | None = None) -> list[ParkedMessage]: ...
    def redrive(
        self, tenant_id: str | None = None, reason: str | None = None, message_ids: set[str] | None = None
    ) -> list[ParkedMessage]: ...


class NotConnected(Exception):
    """The site has no POS connection yet (nothing to show or change)."""


@dataclass(frozen=True)
class PosName:
    """The site's POS as the page names it: its registry name (the prefix of its own reason codes, `square_...`) and
    the name its owners know it by ("Square")."""

    provider: str
    display: str


# Why a message was parked (its reason code: a PermanentError's, or the worker's), said plainly with what to do;
# {pos} is the site's POS by name.
REASONS: dict[str, str] = {
    "tenant_paused": "Your restaurant was paused when it arrived (for example, {pos} access was revoked). "
    "Reconnect {pos}, then retry.",
    "tenant_removed": "The app had been removed from the site when it arrived.",
    "unknown_tenant": "Your restaurant was not connected to {pos} yet when it arrived. Connect, then retry.",
    "retries_exhausted": "{pos} or Wix kept failing while it was tried, several times over a while. Retry now.",
    "missing_pos_credentials": "There was no working {pos} access for your restaurant. Reconnect {pos}, then retry.",
    "invalid_pos_credentials": "There was no working {pos} access for your restaurant. Reconnect {pos}, then retry.",
    "pos_catalog_reference_unknown": "The order names a dish {pos} no longer has. Import your menu, then retry.",
    "unmapped_pos_line": "The order rung up on {pos} has a dish that is not on your Wix menu. Import your menu, "
    "then retry.",
    "wix_order_without_lines": "The online order has nothing the kitchen makes.",
    "pos_order_without_lines": "The order on {pos} has no lines.",
    "currency_mismatch": "The order's currency is not your {pos} location's currency.",
    "foreign_pos_location": "The order is from another {pos} location than the one connected.",
    "amount_not_representable": "An amount in the order cannot be written exactly on {pos}.",
    "pos_order_too_large": "The order has more lines than {pos} takes in one order.",
    "invalid_wix_order": "Wix sent an order that could not be read.",
    "invalid_wix_event": "Wix sent an order that could not be read.",
    "invalid_pos_event": "{pos} sent an order that could not be read.",
    "invalid_pos_order": "{pos} sent an order that could not be read.",
    "wix_site_without_location": "Your Wix site has no business location set up.",
    "wix_site_without_operation": "Your Wix site has no restaurant ordering set up.",
    "MappingConflict": "This order is already linked to another order.",
    "ValidationError": "The message could not be read.",
    "invalid_message": "The message could not be read.",
    "disconnected_by_owner": "You disconnected {pos} on this page.",
}
# The OAuth flow's `<provider>_revoked_by_<revoker>` (flows/pos_oauth.py authorization_revoked), by revoker
REVOKED_BY: dict[str, str] = {
    "merchant": "You revoked the app's access in your {pos} Dashboard.",
    "application": "The app's access to {pos} was revoked (disconnected).",
    "provider": "{pos} revoked the app's access to your account.",
}

EVENTS: dict[str, str] = {
    "wix.ecom.v1.order_created": "Online order placed",
    "wix.ecom.v1.order_approved": "Online order approved",
    "wix.ecom.v1.order_canceled": "Online order canceled",
    # The POS notices' event types (Square's names; another provider's show as they are)
    "order.created": "Order rung up on {pos}",
    "order.updated": "Order changed on {pos}",
    "order.fulfillment.updated": "Order moved along on {pos}",
    "catalog.version.updated": "Menu changed on {pos}",
    "inventory.count.updated": "Stock changed on {pos}",
}


def plain_reason(code: str | None, pos: PosName) -> str:
    if not code:
        return ""
    if code in REASONS:
        return REASONS[code].format(pos=pos.display)
    own = f"{pos.provider}_"
    revoker = code.removeprefix(f"{own}revoked_by_") if code.startswith(f"{own}revoked_by_") else None
    if revoker is not None:
        words = REVOKED_BY.get("provider" if revoker == pos.provider else revoker)
        return (words or "Your {pos} access was revoked.").format(pos=pos.display)
    if code.startswith(own):
        return f"{pos.display} refused it ({code.removeprefix(own)})."
    if code.startswith("wix_"):
        return f"Wix refused it ({code.removeprefix('wix_')})."
    return f"It could not be sent ({code})."


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def orders_view(rows: Iterable[OrderActivity], pos: PosName) -> list[dict[str, Any]]:
    """Recent orders both ways: where each one stands, in words."""
    view = []
    for row in rows:
        if row.outcome == "skipped":
            state = "not sent" if row.direction == "wix_to_pos" else "not imported"
        elif row.wix_canceled:
            state = "canceled"
        elif row.direction == "wix_to_pos":
            state = f"sent to {pos.display}" + (", to collect at handover" if row.to_collect_minor else ", paid")
        else:
            state = "in Wix"
        view.append(
            {
                "direction": row.direction,
                "at": _iso(row.at),
                "wixOrderId": row.wix_order_id,
                "posOrderId": row.pos_order_id,
                "state": state,
                "kitchenStatus": row.wix_status,
                "reason": plain_reason(row.skip_reason, pos) if row.skip_reason else None,
                "reasonCode": row.skip_reason,
            }
        )
    return view


def _event_words(event_type: str | None, pos: PosName) -> str:
    if event_type in EVENTS:
        return EVENTS[event_type].format(pos=pos.display)
    return event_type or "an event"  # as it came: never formatted (it is not ours)


def parked_view(instance_id: str, messages: ParkedMessages, pos: PosName) -> list[dict[str, Any]]:
    """This site's parked messages: what it was, when, why in plain words (ids and codes only, no payload)."""
    view = []
    for parked in messages.find(tenant_id=instance_id):
        sent_ms = int(parked.parked_at) if parked.parked_at and parked.parked_at.isdigit() else None
        view.append(
            {
                "messageId": parked.message_id,
                "what": _event_words(parked.event_type, pos),
                "entityId": parked.entity_id,
                "source": parked.source,
                "at": _iso(datetime.fromtimestamp(sent_ms / 1000, UTC)) if sent_ms is not None else None,
                "reason": plain_reason(parked.reason, pos),
                "reasonCode": parked.reason,
            }
        )
    return view


def retry_parked(instance_id: str, message_ids: set[str] | None, messages: ParkedMessages) -> list[str]:
    """Send this site's parked messages (all, or those named) back to the work queue; answers the ids moved. An id
    of another site's message is never moved: the tenant filter is the site's own."""
    return [p.message_id for p in messages.redrive(tenant_id=instance_id, message_ids=message_ids)]


def catalog_view(sync_state: dict[str, Any], running_job_id: str | None, pos: PosName) -> dict[str, Any]:
    """The catalog sync's health: the running import, the last sync's outcome, the items whose last sync failed and
    those edited in Wix (conflicts: who won is the tenant's `catalog_system_of_record`)."""
    last = sync_state.get("last") or {}
    failed = [
        {
            "kind": e.get("kind"),
            "posId": e.get("posId") or e.get("wixId"),
            "code": e.get("code"),
            "message": e.get("message") or "",
        }
        for e in last.get("errors") or []
    ]
    edited = [
        {
            "kind": e.get("kind"),
            "posId": e.get("pos_id"),
            "wixId": e.get("wix_id"),
            "fields": list(e.get("fields") or []),
            "kept": "your Wix edit" if e.get("kept") == "wix" else f"{pos.display}'s version",
        }
        for e in last.get("wix_edits") or []
    ]
    return {
        "runningJobId": running_job_id,
        "cursor": sync_state.get("cursor"),
        "lastOutcome": last.get("outcome"),
        "failedItems": failed,
        "editedInWix": edited,
    }


@dataclass(frozen=True)
class ExportSettings:
    export_on: Literal["approved", "created"]
    export_unpaid: bool


def export_settings(instance_id: str, tenants: Tenants) -> dict[str, Any]:
    tenant = tenants.get(instance_id)
    if tenant is None or tenant.status == "removed":
        raise NotConnected("this site is not connected to its POS yet")
    return {"exportOn": tenant.settings.export_on, "exportUnpaid": tenant.settings.export_unpaid}


def change_export_settings(instance_id: str, wanted: ExportSettings, tenants: Tenants, now: datetime) -> dict[str, Any]:
    """The owner's choice of when an online order goes to the kitchen and whether unpaid ones do; the other
    settings (the operator's) stay as they are."""
    tenant = tenants.get(instance_id)
    if tenant is None or tenant.status == "removed":
        raise NotConnected("this site is not connected to its POS yet")
    settings = tenant.settings.model_copy(update={"export_on": wanted.export_on, "export_unpaid": wanted.export_unpaid})
    tenants.put(tenant.model_copy(update={"settings": settings, "updated_at": _iso(now)}))
    return {"exportOn": settings.export_on, "exportUnpaid": settings.export_unpaid}
