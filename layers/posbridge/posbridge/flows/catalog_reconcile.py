"""The scheduled catalog reconciliation (Flow 5) over every tenant, fair under a deadline.

One invocation cannot promise to reach every tenant (each full diff reads a whole catalog). So it works to a deadline,
and the order rotates by day: the tenants it had no time for are named as deferred, and a tenant cut off today is near
the front on one of the next days, instead of the end of a fixed list never being reached."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

DEFERRED = "deferred: no time left in this run"


def reconciliation_order(tenant_ids: Sequence[str], day: date) -> list[str]:
    """The tenants in a stable order, rotated by one place a day."""
    ordered = sorted(set(tenant_ids))
    if not ordered:
        return []
    start = day.toordinal() % len(ordered)
    return ordered[start:] + ordered[:start]


def reconcile_catalogs(
    tenant_ids: Sequence[str],
    day: date,
    reconcile_one: Callable[[str], str],
    seconds_left: Callable[[], float],
    reserve_s: float,
    on_crash: Callable[[str, Exception], None],
) -> dict[str, str]:
    """Each tenant's outcome, in the order worked; a tenant is started only while more than `reserve_s` remain (a full
    diff of one large catalog must still fit). A tenant whose diff raises something unforeseen is reported through
    `on_crash` and named as failed; the others go on."""
    outcomes: dict[str, str] = {}
    for tenant_id in reconciliation_order(tenant_ids, day):
        if seconds_left() <= reserve_s:
            outcomes[tenant_id] = DEFERRED
            continue
        try:
            outcomes[tenant_id] = reconcile_one(tenant_id)
        except Exception as exc:  # one tenant's unforeseen failure must not stop every other tenant's diff
            on_crash(tenant_id, exc)
            outcomes[tenant_id] = f"failed: unexpected {type(exc).__name__}"
    return outcomes
