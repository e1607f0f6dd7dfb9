"""template.yaml, deployed into moto, declares what Flows 2 and 3 and the reconciliation rely on: the Square webhook
route and its notification URL, the reconciliation schedule, and least-privilege roles."""

from __future__ import annotations

import ast
import json
from typing import Any
from urllib.parse import unquote

import pytest

from devstack.app import TEMPLATE, Devstack
from devstack.template import load_sam

FUNCTIONS = ("SquareWebhookFunction", "ReconcilerFunction", "OrderWorkerFunction", "AdminFunction")


def _statements(devstack: Devstack, logical_id: str) -> list[dict[str, Any]]:
    assert devstack.stack is not None
    iam = devstack.stack.client("iam")
    role_arn = devstack.stack.client("lambda").get_function_configuration(
        FunctionName=devstack.stack.function_name(logical_id)
    )["Role"]
    role = role_arn.rsplit("/", 1)[1]
    statements: list[dict[str, Any]] = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):  # moto's CloudFormation stores the Python repr of the document
            text = unquote(document)
            document = json.loads(text) if text.startswith('{"') else ast.literal_eval(text)
        found = document["Statement"]
        statements += found if isinstance(found, list) else [found]
    return statements


def test_the_square_webhook_route_and_the_new_admin_routes_are_declared(devstack: Devstack) -> None:
    assert devstack.stack is not None
    routes = {(r.method, r.path, r.function_logical_id, r.iam_auth) for r in devstack.stack.routes}
    assert ("POST", "/webhooks/pos/square", "SquareWebhookFunction", False) in routes
    assert ("POST", "/admin/tenants/{instanceId}/reconcile", "AdminFunction", True) in routes
    assert ("GET", "/admin/tenants/{instanceId}/pos-orders/{posOrderId}", "AdminFunction", True) in routes


def test_the_square_signature_is_checked_against_the_configured_notification_url(devstack: Devstack) -> None:
    assert devstack.stack is not None
    variables = devstack.stack.client("lambda").get_function_configuration(
        FunctionName=devstack.stack.function_name("SquareWebhookFunction")
    )["Environment"]["Variables"]
    # On the devstack it is the gateway's own URL of the route; in AWS the SquareNotificationUrl parameter
    assert (variables["POS_PROVIDER"], variables["WEBHOOK_DELIVERY_URL"]) == ("square", devstack.square_webhook_url)
    assert devstack.square_webhook_url.endswith("/v1/webhooks/pos/square")


def test_the_reconciliation_runs_on_an_eventbridge_schedule_whose_rate_is_a_parameter(devstack: Devstack) -> None:
    # Given the template's default rate
    sam = load_sam(TEMPLATE)
    default_rate = sam["Parameters"]["ReconciliationRate"]["Default"]
    assert sam["Resources"]["ReconcilerFunction"]["Properties"]["Events"]["Schedule"]["Properties"]["Schedule"] == {
        "Ref": "ReconciliationRate"
    }
    # When the deployed EventBridge rules are read
    assert devstack.stack is not None
    events = devstack.stack.client("events")
    reconciler = devstack.stack.function_name("ReconcilerFunction")
    scheduled = [
        rule
        for rule in events.list_rules()["Rules"]
        if any(reconciler in t["Arn"] for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"])
    ]
    # Then one rule targets the reconciler at that rate
    assert [rule["ScheduleExpression"] for rule in scheduled] == [default_rate]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_permission_names_its_resources(devstack: Devstack, logical_id: str) -> None:
    statements = _statements(devstack, logical_id)
    assert statements
    for statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources, (logical_id, statement)


def test_only_the_functions_that_need_them_may_read_secrets(devstack: Devstack) -> None:
    def secret_resources(logical_id: str) -> set[str]:
        found: set[str] = set()
        for statement in _statements(devstack, logical_id):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "secretsmanager:GetSecretValue" in actions:
                resources = statement["Resource"]
                found |= set(resources if isinstance(resources, list) else [resources])
        return found

    webhook = secret_resources("SquareWebhookFunction")
    assert webhook and all(r.endswith(":secret:posbridge/posbridge/tenants/*") for r in webhook)  # no Wix secret
    assert any(r.endswith("wix-app-secret*") for r in secret_resources("ReconcilerFunction"))
    assert any(r.endswith("wix-app-secret*") for r in secret_resources("OrderWorkerFunction"))
