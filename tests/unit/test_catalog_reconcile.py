"""The scheduled catalog reconciliation works to a deadline and rotates its order daily, so no tenant is starved."""

from __future__ import annotations

from datetime import date, timedelta

from posbridge.flows.catalog_reconcile import DEFERRED, reconcile_catalogs, reconciliation_order

TENANTS = [f"inst-{n}" for n in range(7)]
DAY = date(2026, 12, 6)


def _run(day: date, fits: int) -> dict[str, str]:
    """One run in which only `fits` tenants' diffs fit before the deadline."""
    done: list[str] = []

    def reconcile_one(tenant_id: str) -> str:
        done.append(tenant_id)
        return "in_sync"

    def seconds_left() -> float:
        return 100.0 if len(done) < fits else 10.0

    return reconcile_catalogs(TENANTS, day, reconcile_one, seconds_left, 60.0, _no_crash)


def _no_crash(tenant_id: str, exc: Exception) -> None:
    raise AssertionError(f"{tenant_id} crashed: {exc!r}")


def test_a_run_out_of_time_names_the_tenants_it_deferred() -> None:
    # Given time for three of seven tenants
    outcomes = _run(DAY, fits=3)
    # Then three are reconciled, the other four reported as deferred, none dropped silently
    assert sorted(outcomes) == sorted(TENANTS)
    assert list(outcomes.values()) == ["in_sync"] * 3 + [DEFERRED] * 4


def test_every_tenant_is_reconciled_within_a_few_days_even_when_a_run_fits_only_some() -> None:
    # Given daily runs that each fit three of seven tenants
    served: dict[str, list[int]] = {t: [] for t in TENANTS}
    for n in range(7):
        for tenant, outcome in _run(DAY + timedelta(days=n), fits=3).items():
            if outcome != DEFERRED:
                served[tenant].append(n)
    # Then over a week every tenant was reconciled, and on three days (a fixed order would serve 3 tenants 7 times)
    assert all(len(days) == 3 for days in served.values()), served


def test_the_order_is_stable_within_a_day_and_a_rotation_of_one_list() -> None:
    assert reconciliation_order(list(reversed(TENANTS)), DAY) == reconciliation_order(TENANTS, DAY)
    rotations = {tuple(reconciliation_order(TENANTS, DAY + timedelta(days=n))) for n in range(7)}
    assert len(rotations) == 7 and all(sorted(r) == TENANTS for r in rotations)
    assert reconciliation_order([], DAY) == []


def test_one_tenants_unforeseen_failure_does_not_stop_the_others() -> None:
    # Given a tenant whose diff raises something no adapter classified (a credential httpx cannot put in a header)
    crashed: list[tuple[str, str]] = []

    def reconcile_one(tenant_id: str) -> str:
        if tenant_id == "inst-2":
            raise UnicodeEncodeError("ascii", "tok\u00e9n", 3, 4, "ordinal not in range(128)")
        return "in_sync"

    # When the run reconciles every tenant
    outcomes = reconcile_catalogs(
        TENANTS, DAY, reconcile_one, lambda: 100.0, 60.0, lambda t, e: crashed.append((t, type(e).__name__))
    )
    # Then that tenant is reported failed and every other tenant is still reconciled
    assert outcomes["inst-2"] == "failed: unexpected UnicodeEncodeError"
    assert crashed == [("inst-2", "UnicodeEncodeError")]
    assert [t for t, outcome in outcomes.items() if outcome == "in_sync"] == [t for t in outcomes if t != "inst-2"]
    assert len(outcomes) == len(TENANTS)
