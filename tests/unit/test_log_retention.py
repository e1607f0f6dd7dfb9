"""Logs are kept for a bounded time: every function and the API stage write to log groups of the stack with a
retention, and the API access log carries no query string, body or buyer data."""

from __future__ import annotations

import json
import re
from typing import Any

# The only request facts the access log may hold: ids, the caller (a partner's server or an IAM principal), the route
# template, the answer and its timing. Not $context.path (ids), query strings, headers, bodies ($input, $request).
ACCESS_LOG_VARIABLES = {
    "$context.requestId",
    "$context.requestTime",
    "$context.identity.sourceIp",
    "$context.identity.userArn",
    "$context.httpMethod",
    "$context.resourcePath",
    "$context.status",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integrationLatency",
    "$context.integrationStatus",
    "$context.error.responseType",
}


def _of_type(translated: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in translated["Resources"].items() if r["Type"] == kind}


def _retained_group(translated: dict[str, Any], ref: Any) -> dict[str, Any]:
    assert isinstance(ref, dict) and "Ref" in ref, f"not a log group of the stack: {ref!r}"
    group = translated["Resources"][ref["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    return dict(group["Properties"])


def test_every_function_logs_to_its_own_group_of_the_stack_with_the_retention(
    translated_template: dict[str, Any],
) -> None:
    # Given every Lambda function of the deployed template
    functions = _of_type(translated_template, "AWS::Lambda::Function")
    assert len(functions) >= 20

    # Then each names, in its LoggingConfig, a log group of the stack kept LogRetentionInDays days ...
    groups = {}
    for name, function in functions.items():
        ref = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
        group = _retained_group(translated_template, ref)
        assert group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}, name
        groups[name] = ref["Ref"]
    # ... and no two functions share one (a log group per function, as Lambda's own default)
    assert len(set(groups.values())) == len(groups)


def test_the_retention_is_a_parameter_with_a_sensible_default(translated_template: dict[str, Any]) -> None:
    # Given the parameter
    parameter = translated_template["Parameters"]["LogRetentionInDays"]
    # Then its default is a month (enough to investigate an incident) and only CloudWatch's own values are accepted
    assert parameter["Default"] == 30
    allowed = parameter["AllowedValues"]
    assert 30 in allowed and 3653 in allowed and 0 not in allowed


def test_the_api_stage_writes_access_logs_to_a_retained_group(translated_template: dict[str, Any]) -> None:
    # Given the API Gateway stage(s) of the template
    stages = _of_type(translated_template, "AWS::ApiGateway::Stage")
    assert stages
    for stage in stages.values():
        setting = stage["Properties"]["AccessLogSetting"]
        # Then each writes to a log group of the stack with the retention
        arn = setting["DestinationArn"]["Fn::GetAtt"]
        group = _retained_group(translated_template, {"Ref": arn[0]})
        assert arn[1] == "Arn" and group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_the_access_log_format_is_json_of_harmless_request_facts_only(translated_template: dict[str, Any]) -> None:
    for stage in _of_type(translated_template, "AWS::ApiGateway::Stage").values():
        log_format = stage["Properties"]["AccessLogSetting"]["Format"]
        # Given its variables
        variables = set(re.findall(r"\$[\w.]+", log_format))
        # Then each is one of the harmless ones (no path ids, query string, header or body) ...
        assert variables <= ACCESS_LOG_VARIABLES, variables - ACCESS_LOG_VARIABLES
        assert {"$context.requestId", "$context.status", "$context.resourcePath"} <= variables
        # ... on one line that is JSON once API Gateway fills them in
        assert "\n" not in log_format
        line = json.loads(re.sub(r"\$[\w.]+", "x", log_format))
        assert line["requestId"] == "x"


def test_api_gateway_may_write_the_access_log(translated_template: dict[str, Any]) -> None:
    # Given the account setting API Gateway needs to write any log, made by the stack unless the operator opts out
    account = _of_type(translated_template, "AWS::ApiGateway::Account")
    [setting] = account.values()
    role = translated_template["Resources"][setting["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]]
    # Then it names a role API Gateway may assume, with AWS's policy for pushing logs
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
