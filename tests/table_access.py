"""What each function's role may do to the template's DynamoDB tables, read from the translated template."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client

from devstack.app import Devstack
from devstack.runtime import CURRENT_FUNCTION

TABLES = ("MappingsTable", "IdempotencyTable")
INDEXES = "/index"  # suffix of a table's index resources: "<table>/index"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def table_resource(resource: Any) -> str:
    """The table logical id a statement's resource names ("<table>/index" for its indexes), or the resource as text
    when it names none of the template's tables ("*", another ARN)."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        name, attribute = resource["Fn::GetAtt"]
        if name in TABLES and attribute == "Arn":
            return str(name)
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        text, variables = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
        for variable, value in variables.items():
            if isinstance(value, dict) and value.get("Ref") in TABLES:
                text = text.replace(f"${{{variable}}}", value["Ref"])
        text = re.sub(r"\$\{(\w+)\.Arn\}", r"arn:table/\1", text)
        match = re.fullmatch(r"arn:.*:?table/(\w+)(/index/.*)?", text)
        if match and match.group(1) in TABLES:
            return match.group(1) + (INDEXES if match.group(2) else "")
    return str(resource)


def granted_table_actions(translated: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Function logical id -> every (table, action) its role allows ("dynamodb:*" spelled as it is, an index as
    "<table>/index"), from the role's inline policies."""
    resources = translated["Resources"]
    granted: dict[str, set[tuple[str, str]]] = {}
    for name, function in resources.items():
        if function["Type"] != "AWS::Lambda::Function":
            continue
        role = resources[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        found: set[tuple[str, str]] = set()
        for policy in role["Properties"].get("Policies", []):
            for statement in _as_list(policy["PolicyDocument"]["Statement"]):
                actions = [a for a in _as_list(statement.get("Action", [])) if str(a).startswith("dynamodb:")]
                if statement.get("Effect") != "Allow" or not actions:
                    continue
                for resource in _as_list(statement.get("Resource", [])):
                    found |= {(table_resource(resource), action.removeprefix("dynamodb:")) for action in actions}
        granted[name] = found
    return granted


Call = tuple[str, str, str]  # (function logical id, table logical id, IAM action)

# TransactWriteItems and TransactGetItems are not IAM actions: each item is authorized as its own action.
_TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "Get": "GetItem"}
_TRANSACT_ITEM_ACTIONS["ConditionCheck"] = "ConditionCheckItem"


def _iam_calls(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(table name, IAM action) pairs one DynamoDB API call is authorized as."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            [(kind, body)] = item.items()
            found.append((body["TableName"], _TRANSACT_ITEM_ACTIONS[kind]))
        return found
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(table, operation) for table in params.get("RequestItems", {})]
    return [(params["TableName"], operation)] if "TableName" in params else []


@contextmanager
def dynamodb_calls_recorded(devstack: Devstack) -> Iterator[set[Call]]:
    """Each DynamoDB call a function of the devstack makes meanwhile, with the function whose handler made it
    (devstack/runtime.py CURRENT_FUNCTION), as the IAM actions it is authorized as."""
    assert devstack.stack is not None
    tables = {devstack.stack.physical_ids[logical]: logical for logical in TABLES}
    calls: set[Call] = set()
    original = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        function = CURRENT_FUNCTION.get()
        if function is not None and client.meta.service_model.service_name == "dynamodb":
            for table, action in _iam_calls(operation, params):
                calls.add((function, tables.get(table, table), action))
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = recording
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original
