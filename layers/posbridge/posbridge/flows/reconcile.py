"""The scheduled reconciliation: heal what lost webhooks left behind, per tenant, through the webhooks' own paths.

A pass for one tenant:
1. Wix -> POS: Search Orders (Wix Restaurants lines, updated since the Wix cursor, oldest first). Each order with no
   order mapping, no recorded skip and no work parked in the DLQ, and not placed on a POS (`channelInfo.type` POS:
   imported by Flow 2), is queued as an `order_created` event carrying the order as it is now; Flow 1 then exports it
   once approved.
2. POS -> Wix: the POS orders updated since the POS cursor. Each one whose current position is newer than the last one
   applied to Wix (or never applied), and not skipped nor parked, is queued as an `order.updated` event; the worker
   imports it (Flow 2) or applies its status (Flow 3).
3. Only when both walks (every page, every enqueue) succeeded do the cursors advance; a failed pass leaves them, so
   the next pass looks at the same window again. Each search starts `overlap` before its cursor, for changes that
   became visible late.
4. A cursor moves only past orders whose work is done or safely recorded (mapped, skipped, or parked in the DLQ,
   which alarms and is redriven): queued is not done (the worker may still fail it, or SQS may move it to the DLQ
   after its receives without a record). So it stops at the oldest order this pass queued, and the next pass sees
   that order again: done by then, it is passed; still not done, it is queued again (the same event id within five
   minutes, the same idempotent export after). Limit: an order held longer than `max_hold` (a day: e.g. one never
   approved) is let go, counted in `let_go`, so one stuck order cannot pin the window for ever.
5. Orders that arrived before the site connected its POS (flows/export_order.py) are drained: the Wix search starts
   at the oldest one's update time if that is before the cursor, and each record is forgotten once the pass found
   its order done or did not queue it (not a restaurant order, imported from the POS); queued ones stay until done.

Queued events go through the same worker, FIFO group (tenant + order) and idempotent code as webhooks, so a pass that
races a late webhook, or two overlapping passes, change nothing twice. Event ids are derived from the order and its
position, so the same unchanged order queued twice within five minutes is one message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from posbridge.domain.events import ORDER_CREATED, POS_ORDER_RECONCILED
from posbridge.domain.order_sync import Cursors
from posbridge.domain.pos_order import PosPosition
from posbridge.domain.tenant import Tenant
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError, TransientError
from posbridge.ports.pos import PosGateways
from posbridge.ports.stores import AwaitingPos, KnownOrders, ReconcileCursors
from posbridge.ports.wix import WixSearch
from posbridge.ports.work import BatchEnqueuer

DEFAULT_LOOKBACK = timedelta(hours=24)  # the first pass of a tenant looks this far back
DEFAULT_OVERLAP = timedelta(minutes=2)
DEFAULT_MAX_HOLD = timedelta(hours=24)  # how long a queued order not done yet may hold a cursor back


@dataclass
class PassResult:
    tenant_id: str
    ok: bool = False
    wix_seen: int = 0
    wix_queued: int = 0
    pos_seen: int = 0
    pos_queued: int = 0
    cursors: dict[str, str | None] = field(default_factory=dict)
    advanced: bool = False
    let_go: int = 0  # orders queued again and again for longer than max_hold: the cursor no longer waits for them
    error: str | None = None


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and a Z: what both Wix and Square accept and write."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def position_key(position: PosPosition) -> str:
    return f"v{position.version}" if position.version is not None else iso(position.updated_at)


def reconcile_tenants(
    instance_ids: Sequence[str],
    reconcile_one: Callable[[str], PassResult],
    ms_left: Callable[[], int],
    min_ms_per_tenant: int,
    on_crash: Callable[[str, Exception], None],
) -> list[PassResult]:
    """One pass per tenant, in the given order, while time is left (the rest are deferred, named in the results). A
    tenant whose pass fails in a way nobody classified is reported and handed to `on_crash`; the others still run."""
    results: list[PassResult] = []
    for instance_id in instance_ids:
        if results and ms_left() < min_ms_per_tenant:
            results.append(PassResult(instance_id, error="deferred to the next run (time)"))
            continue
        try:
            results.append(reconcile_one(instance_id))
        except Exception as exc:  # one tenant's unforeseen failure must not stop every other tenant's pass
            on_crash(instance_id, exc)
            results.append(PassResult(instance_id, error=f"unexpected {type(exc).__name__}"))
    return results


def reconcile_tenant(
    tenant: Tenant,
    wix: WixSearch,
    pos: PosGateways,
    known: KnownOrders,
    cursors: ReconcileCursors,
    queue: BatchEnqueuer,
    now: datetime,
    lookback: timedelta = DEFAULT_LOOKBACK,
    overlap: timedelta = DEFAULT_OVERLAP,
    max_hold: timedelta = DEFAULT_MAX_HOLD,
    awaiting: AwaitingPos | None = None,
) -> PassResult:
    """One pass; never raises for a partner's failure (the result says what failed, and the cursors stay)."""
    result = PassResult(tenant.instance_id)
    if tenant.status != "active":
        result.ok, result.error = True, f"tenant is {tenant.status}: not reconciled"
        return result
    start = cursors.cursors(tenant.instance_id)
    wix_cursor = start.wix_since or iso(now - lookback)
    pos_cursor = start.pos_since or iso(now - lookback)
    waiting = awaiting.waiting(tenant.instance_id) if awaiting else {}
    wix_since = min([wix_cursor, *waiting.values()], key=_parse)
    try:
        wix_latest, wix_pending = _wix_walk(
            tenant.instance_id, wix, known, queue, iso(_parse(wix_since) - overlap), wix_cursor, result
        )
        pos_latest, pos_pending = _pos_walk(
            tenant, pos, known, queue, iso(_parse(pos_cursor) - overlap), pos_cursor, result
        )
    except (TransientError, PermanentError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.cursors = {"wix": start.wix_since, "pos": start.pos_since}
        return result
    if awaiting and waiting:
        awaiting.forget(tenant.instance_id, sorted(set(waiting) - set(wix_pending)))
    wix_cursor = _held(wix_cursor, wix_latest, list(wix_pending.values()), now - max_hold, result)
    pos_cursor = _held(pos_cursor, pos_latest, pos_pending, now - max_hold, result)
    result.cursors = {"wix": wix_cursor, "pos": pos_cursor}
    result.advanced = cursors.advance(tenant.instance_id, Cursors(wix_cursor, pos_cursor))
    result.ok = True
    return result


def _held(start: str, latest: str, pending: list[str], hold_limit: datetime, result: PassResult) -> str:
    """Where a walk's cursor may go: the latest change seen, but not past an order queued this pass (its work is not
    done), unless it is older than the hold limit; and never behind where the walk started (the next search still
    begins `overlap` before it, so a held order found in this walk is found again)."""
    waiting = [stamp for stamp in pending if _parse(stamp) >= hold_limit]
    result.let_go += len(pending) - len(waiting)
    target = min([latest, *waiting], key=_parse)
    return target if _parse(target) > _parse(start) else start


def _wix_walk(
    tenant_id: str,
    wix: WixSearch,
    known: KnownOrders,
    queue: BatchEnqueuer,
    since: str,
    cursor: str,
    result: PassResult,
) -> tuple[str, dict[str, str]]:
    """(the latest change seen, the orders queued by id with their update time: their work is not done yet)"""
    latest = cursor
    pending: dict[str, str] = {}
    page_cursor: str | None = None
    while True:
        page = wix.search_restaurant_orders(since, page_cursor)
        orders = [o for o in page.orders if isinstance(o.get("id"), str)]
        mapped = known.known_wix_orders(tenant_id, [o["id"] for o in orders])
        missed = [o for o in orders if o["id"] not in mapped and (o.get("channelInfo") or {}).get("type") != "POS"]
        queue.send_many([_wix_message(tenant_id, order) for order in missed])
        for order in orders:
            latest = _later(latest, order.get("updatedDate"))
        pending |= {order["id"]: _later(since, order.get("updatedDate")) for order in missed}
        result.wix_seen += len(orders)
        result.wix_queued += len(missed)
        page_cursor = page.cursor
        if page_cursor is None:
            return latest, pending


def _wix_message(tenant_id: str, order: dict[str, Any]) -> WorkMessage:
    event_id = f"reconcile:{order['id']}:{order.get('updatedDate', '')}"
    return WorkMessage(
        source="wix",
        event_type=ORDER_CREATED,
        event_id=event_id,
        tenant_id=tenant_id,
        entity_id=order["id"],
        payload={"id": event_id, "entityId": order["id"], "createdEvent": {"entity": order}},
    )


def _pos_walk(
    tenant: Tenant,
    pos: PosGateways,
    known: KnownOrders,
    queue: BatchEnqueuer,
    since: str,
    cursor: str,
    result: PassResult,
) -> tuple[str, list[str]]:
    """(the latest change seen, the update times of the orders queued: their work is not done yet)"""
    gateway = pos.for_tenant(tenant)
    latest = cursor
    pending: list[str] = []
    page_cursor: str | None = None
    while True:
        page = gateway.orders_updated_since(since, page_cursor)
        states = known.known(tenant.instance_id, [s.order_id for s in page.orders])
        queued: list[WorkMessage] = []
        for summary in page.orders:
            result.pos_seen += 1
            latest = _later(latest, iso(summary.position.updated_at))
            state = states.get(summary.order_id)
            if summary.state == "DRAFT" or (state is not None and (state.skipped or state.parked)):
                continue
            if state is not None and state.position is not None and not summary.position.is_newer_than(state.position):
                continue
            queued.append(
                WorkMessage(
                    source=tenant.pos.provider,
                    event_type=POS_ORDER_RECONCILED,
                    event_id=f"reconcile:{summary.order_id}:{position_key(summary.position)}",
                    tenant_id=tenant.instance_id,
                    entity_id=summary.order_id,
                    payload=summary.model_dump(mode="json"),
                )
            )
            pending.append(iso(summary.position.updated_at))
        queue.send_many(queued)
        result.pos_queued += len(queued)
        page_cursor = page.cursor
        if page_cursor is None:
            return latest, pending


def _later(current: str, candidate: Any) -> str:
    if not isinstance(candidate, str) or not candidate:
        return current
    try:
        return iso(_parse(candidate)) if _parse(candidate) > _parse(current) else current
    except ValueError:
        return current
