"""statemachine/catalog_publish.asl.json as template.yaml wires it (cfn-lint does not look inside state machines)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from devstack.app import TEMPLATE
from devstack.template import load_sam

ASL = Path(TEMPLATE).parent / "statemachine" / "catalog_publish.asl.json"
SEED_STEPS = [
    "LoadPosCatalog", "ResolveLocation", "ResolveTarget", "CreateDraft", "CreateVariants", "CreateModifiers",
    "CreateModifierGroups", "CreateItems", "CreateSections", "CreateMenus", "Publish", "Cleanup",
]  # fmt: skip


def _definition() -> dict[str, Any]:
    return dict(json.loads(ASL.read_text()))


def _machine() -> dict[str, Any]:
    return dict(load_sam(TEMPLATE)["Resources"]["CatalogPublishStateMachine"]["Properties"])


def test_the_steps_are_the_seed_flow_in_order_each_its_own_function() -> None:
    states = _definition()["States"]
    order, name = [], _definition()["StartAt"]
    while name in SEED_STEPS:
        order.append(name)
        state = states[name]
        following = state.get("Next")
        if states[following]["Type"] == "Choice":  # the "more" loop
            following = states[following]["Default"]
        name = following
    assert order == SEED_STEPS
    resources = {states[s]["Resource"] for s in [*SEED_STEPS, "Rollback"]}
    assert len(resources) == len(SEED_STEPS) + 1


def test_every_placeholder_is_substituted_with_a_function_of_the_template() -> None:
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL.read_text()))
    substitutions = _machine()["DefinitionSubstitutions"]
    assert placeholders == set(substitutions)
    functions = {k for k, v in load_sam(TEMPLATE)["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert {v["Fn::GetAtt"][0] for v in substitutions.values()} <= functions


def test_every_step_retries_transient_errors_briefly_and_rolls_back_on_the_rest() -> None:
    states = _definition()["States"]
    for name in SEED_STEPS:
        retry = states[name]["Retry"][0]
        assert retry["ErrorEquals"] == ["TransientError"] and retry["IntervalSeconds"] == 1, name
        assert retry["MaxAttempts"] * retry["IntervalSeconds"] <= 3, name
        assert states[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Rollback"}]
        assert states[name]["Parameters"]["jobId.$"] == "$$.Execution.Name"
    assert states["RollbackOutcome"]["Default"] == "ImportFailed"
