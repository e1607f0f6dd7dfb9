"""The order reconciliation's run over tenants: one tenant's unforeseen failure is reported, never the end of the run,
and tenants that no longer fit in the invocation are deferred by name."""

from __future__ import annotations

from posbridge.flows.reconcile import PassResult, reconcile_tenants


def test_an_unclassified_failure_of_one_tenant_does_not_stop_the_others() -> None:
    crashed: list[tuple[str, str]] = []

    def reconcile_one(instance_id: str) -> PassResult:
        if instance_id == "inst-b":
            raise KeyError("orderId")  # a bug, or an answer nobody foresaw
        return PassResult(instance_id, ok=True)

    # When three tenants are reconciled and the second one's pass blows up
    results = reconcile_tenants(
        ["inst-a", "inst-b", "inst-c"], reconcile_one, lambda: 60_000, 30_000,
        lambda tenant, exc: crashed.append((tenant, type(exc).__name__)),
    )  # fmt: skip
    # Then the first and third still ran, the second is reported failed, and the crash was handed over for logging
    assert [(r.tenant_id, r.ok, r.error) for r in results] == [
        ("inst-a", True, None),
        ("inst-b", False, "unexpected KeyError"),
        ("inst-c", True, None),
    ]
    assert crashed == [("inst-b", "KeyError")]


def test_tenants_past_the_time_left_are_deferred_by_name() -> None:
    left = iter([10_000, 10_000])  # asked before each tenant after the first
    results = reconcile_tenants(
        ["inst-a", "inst-b", "inst-c"], lambda t: PassResult(t, ok=True), lambda: next(left), 30_000,
        lambda tenant, exc: None,
    )  # fmt: skip
    # The first always runs; the time check comes before each further tenant
    assert [(r.tenant_id, r.ok) for r in results] == [("inst-a", True), ("inst-b", False), ("inst-c", False)]
    assert results[2].error == "deferred to the next run (time)"
