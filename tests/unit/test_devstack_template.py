"""The adjustments that make a translated SAM template deployable into moto (shared/reference/local-aws.md)."""

from __future__ import annotations

from typing import Any

from devstack.app import TEMPLATE
from devstack.template import (
    _fold_definition_substitutions,
    _without_api_gateway,
    api_routes,
    emulate_unsupported,
    load_sam,
)


def test_api_gateway_and_what_refers_to_it_are_dropped_but_functions_stay(translated_template: dict[str, Any]) -> None:
    # Given the translated template
    cfn = translated_template
    assert any(r["Type"].startswith("AWS::ApiGateway") for r in cfn["Resources"].values())
    # When API Gateway is removed for moto
    local = _without_api_gateway(cfn)
    # Then no API Gateway resource, permission for it, or output naming it is left, and every function remains
    kinds = [r["Type"] for r in local["Resources"].values()]
    assert not any(k.startswith("AWS::ApiGateway") for k in kinds)
    principals = [
        r["Properties"]["Principal"] for r in local["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"
    ]
    assert "apigateway.amazonaws.com" not in principals  # EventBridge's permission (the schedule) stays
    assert "ApiUrl" not in local["Outputs"]
    assert kinds.count("AWS::Lambda::Function") == sum(
        k == "AWS::Lambda::Function" for k in (r["Type"] for r in cfn["Resources"].values())
    )


def test_definition_substitutions_become_fn_sub() -> None:
    # Given a state machine as SAM translates one with DefinitionSubstitutions
    cfn: dict[str, Any] = {
        "Resources": {
            "M": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionString": {
                        "Fn::Join": ["\n", ['{"StartAt": "A",', '"States": {"A": {"Resource": "${FnArn}"}}}']]
                    },
                    "DefinitionSubstitutions": {"FnArn": {"Fn::GetAtt": ["Fn", "Arn"]}},
                },
            }
        }
    }
    # When folded
    _fold_definition_substitutions(cfn)
    # Then moto, which ignores DefinitionSubstitutions, resolves the same values through Fn::Sub
    props = cfn["Resources"]["M"]["Properties"]
    assert "DefinitionSubstitutions" not in props
    text, variables = props["DefinitionString"]["Fn::Sub"]
    assert "${FnArn}" in text and variables == {"FnArn": {"Fn::GetAtt": ["Fn", "Arn"]}}


def test_a_secret_is_created_through_the_api_and_references_point_at_it() -> None:
    # Given a template whose secret moto's CloudFormation cannot create, referenced by an output
    cfn: dict[str, Any] = {
        "Resources": {
            "S": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"Name": {"Fn::Sub": "app/${AWS::StackName}/secret"}, "SecretString": {"Ref": "Secret"}},
            }
        },
        "Outputs": {"Arn": {"Value": {"Ref": "S"}}},
    }
    created: dict[str, str] = {}

    class FakeSecrets:
        def create_secret(self, Name: str, SecretString: str) -> dict[str, str]:
            created[Name] = SecretString
            return {"ARN": f"arn:secret:{Name}"}

    # When unsupported resources are emulated
    notes = emulate_unsupported(cfn, {"Secret": "s3cr3t"}, {"AWS::StackName": "st"}, FakeSecrets())
    # Then the secret exists with the parameter's value and the output names its ARN
    assert created == {"app/st/secret": "s3cr3t"}
    assert cfn["Outputs"]["Arn"]["Value"] == "arn:secret:app/st/secret"
    assert notes == [] and cfn["Resources"] == {}


def test_routes_are_read_from_the_template_with_their_auth() -> None:
    routes = {(r.method, r.path): r for r in api_routes(load_sam(TEMPLATE))}
    assert not routes[("POST", "/webhooks/wix")].iam_auth
    assert routes[("PUT", "/admin/tenants/{instanceId}")].iam_auth
