"""Each function may touch only what it names: no wildcard actions or resources in the template's IAM policies, and
DynamoDB access action by action on the tables only."""

from __future__ import annotations

from typing import Any

from devstack.app import TEMPLATE
from devstack.template import load_sam
from tests.table_access import TABLES, granted_table_actions


def _statements(translated: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            statements = policy["PolicyDocument"]["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                found.append((f"{name}/{policy['PolicyName']}", statement))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_template_grants_something_to_inspect(translated_template: dict[str, Any]) -> None:
    assert len(_statements(translated_template)) >= 3


def test_no_policy_allows_every_action_of_a_service(translated_template: dict[str, Any]) -> None:
    # Given every inline policy statement of every function role
    # Then none allows "*" or "<service>:*"
    offenders = [
        (where, action)
        for where, statement in _statements(translated_template)
        if statement.get("Effect") == "Allow"
        for action in _as_list(statement.get("Action", []))
        if action == "*" or str(action).endswith(":*")
    ]
    assert offenders == []


def test_no_policy_allows_a_wildcard_resource(translated_template: dict[str, Any]) -> None:
    # Given every Allow statement; X-Ray's write actions are the one AWS-defined exception (they have no resource ARN)
    xray_only = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    offenders = [
        where
        for where, statement in _statements(translated_template)
        if statement.get("Effect") == "Allow"
        and "*" in _as_list(statement.get("Resource", []))
        and not set(_as_list(statement.get("Action", []))) <= xray_only
    ]
    assert offenders == []


def test_the_mappings_table_keeps_point_in_time_recovery(translated_template: dict[str, Any]) -> None:
    # The mappings table is the system's memory: point-in-time recovery must stay on
    table = translated_template["Resources"]["MappingsTable"]["Properties"]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_table_access_is_granted_action_by_action_on_the_tables_only(translated_template: dict[str, Any]) -> None:
    # Given every function's DynamoDB grants (tests/e2e/test_table_access.py proves each list is what its code uses)
    granted = granted_table_actions(translated_template)
    # Then none reaches an index (the tables have none) or anything but the stack's tables ...
    outside = sorted((f, t, a) for f, actions in granted.items() for t, a in actions if t not in TABLES)
    assert outside == []
    # ... none may scan a table, and SAM's DynamoDB policy templates (a whole table's CRUD) are not used
    assert not any(a == "Scan" for actions in granted.values() for _, a in actions)
    sam = load_sam(TEMPLATE)
    templates = [
        (name, next(iter(policy)))
        for name, resource in sam["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for policy in resource["Properties"].get("Policies", [])
        if isinstance(policy, dict) and next(iter(policy)).startswith("DynamoDB")
    ]
    assert templates == []


def test_only_the_worker_touches_the_idempotency_table_and_the_wix_webhook_no_table(
    translated_template: dict[str, Any],
) -> None:
    granted = granted_table_actions(translated_template)
    assert {f for f, actions in granted.items() if any(t == "IdempotencyTable" for t, _ in actions)} == {
        "OrderWorkerFunction"
    }
    assert granted["WixWebhookFunction"] == set()
    assert {a for t, a in granted["SquareWebhookFunction"]} == {"Query"}
