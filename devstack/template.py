"""template.yaml -> CloudFormation that moto can deploy (verified workarounds: shared/reference/local-aws.md).

SAM is translated offline with aws-sam-translator; then the three things moto cannot take are adjusted:
API Gateway resources are dropped (the local gateway serves the routes), DefinitionSubstitutions are folded into
Fn::Sub, and local code paths point at zips uploaded to moto's S3.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

CODE_BUCKET = "devstack-code"


@dataclass(frozen=True)
class FunctionSource:
    """Where a function's handler lives on disk, so the devstack can run it in-process."""

    logical_id: str
    code_dir: Path
    handler: str  # "module.function", relative to code_dir


@dataclass(frozen=True)
class ApiRoute:
    function_logical_id: str
    method: str  # upper case, or "ANY"
    path: str  # API Gateway path template, e.g. /admin/tenants/{instanceId}
    iam_auth: bool


@dataclass
class Prepared:
    cloudformation: dict[str, Any]
    functions: dict[str, FunctionSource]
    routes: list[ApiRoute]


def load_sam(template_path: Path) -> dict[str, Any]:
    return dict(yaml_parse(template_path.read_text()))


def function_sources(sam: dict[str, Any], root: Path) -> dict[str, FunctionSource]:
    globals_fn = sam.get("Globals", {}).get("Function", {})
    found = {}
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        code_uri = props.get("CodeUri", globals_fn.get("CodeUri"))
        handler = props.get("Handler", globals_fn.get("Handler"))
        found[logical_id] = FunctionSource(logical_id, (root / code_uri).resolve(), handler)
    return found


def api_routes(sam: dict[str, Any]) -> list[ApiRoute]:
    routes = []
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            auth = props.get("Auth", {}).get("Authorizer")
            method = props["Method"].upper()
            routes.append(ApiRoute(logical_id, "ANY" if method == "ANY" else method, props["Path"], auth == "AWS_IAM"))
    return routes


def prepare(template_path: Path, parameters: dict[str, str], region: str, s3_client: Any) -> Prepared:
    """Upload local code to moto's S3 and return a CloudFormation template moto can create."""
    root = template_path.parent.resolve()
    sam = load_sam(template_path)
    functions = function_sources(sam, root)
    routes = api_routes(sam)
    sam = _with_s3_code(sam, root, s3_client)
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=boto3.Session(region_name=region))
    cfn = translator.translate(sam, parameter_values=dict(parameters), get_managed_policy_map=lambda: {})
    cfn = _without_api_gateway(cfn)
    _fold_definition_substitutions(cfn)
    return Prepared(cfn, functions, routes)


def _with_s3_code(sam: dict[str, Any], root: Path, s3_client: Any) -> dict[str, Any]:
    """Zip each local CodeUri/ContentUri/DefinitionUri into moto's S3 (or inline state machine definitions)."""
    sam = copy.deepcopy(sam)
    s3_client.create_bucket(Bucket=CODE_BUCKET)
    for logical_id, resource in sam["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function":
            props["CodeUri"] = _upload_dir(root / props.get("CodeUri", "."), f"{logical_id}.zip", s3_client)
        elif kind == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = _upload_dir(root / props["ContentUri"], f"{logical_id}.zip", s3_client)
        elif kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = json.loads((root / props.pop("DefinitionUri")).read_text())
    sam.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    return sam


def _upload_dir(folder: Path, key: str, s3_client: Any) -> str:
    # The devstack runs handlers from their folders on disk; the zip only makes the Lambda resource valid in moto.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder))
    s3_client.put_object(Bucket=CODE_BUCKET, Key=key, Body=buffer.getvalue())
    return f"s3://{CODE_BUCKET}/{key}"


def _without_api_gateway(cfn: dict[str, Any]) -> dict[str, Any]:
    """moto cannot build a RestApi from an OpenAPI body: drop API Gateway and whatever refers to it."""
    cfn = copy.deepcopy(cfn)
    resources = cfn["Resources"]
    dropped = {name for name, res in resources.items() if res["Type"].startswith("AWS::ApiGateway")}
    while True:
        referring = {name for name, res in resources.items() if name not in dropped and _refers_to(res, dropped)}
        if not referring:
            break
        dropped |= referring
    for name in dropped:
        del resources[name]
    cfn["Outputs"] = {k: v for k, v in cfn.get("Outputs", {}).items() if not _refers_to(v, dropped)}
    return cfn


def _refers_to(node: Any, names: set[str]) -> bool:
    if isinstance(node, dict):
        if node.get("Ref") in names:
            return True
        getatt = node.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt and getatt[0] in names:
            return True
        if isinstance(getatt, str) and getatt.split(".")[0] in names:
            return True
        sub = node.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) else sub
        if isinstance(text, str) and any(f"${{{n}}}" in text or f"${{{n}." in text for n in names):
            return True
        depends = node.get("DependsOn")
        if isinstance(depends, str) and depends in names:
            return True
        if isinstance(depends, list) and names.intersection(depends):
            return True
        return any(_refers_to(v, names) for v in node.values())
    if isinstance(node, list):
        return any(_refers_to(v, names) for v in node)
    return False


# moto applies Fn::Sub mappings with Python's string.Template, which turns "$$" into "$": the Step Functions context
# object ("$$.Execution.Name") is guarded through the fold and restored when the devstack installs the machine.
CONTEXT_PATH_GUARD = "@@devstack-context-object@@"


def _fold_definition_substitutions(cfn: dict[str, Any]) -> None:
    """moto ignores DefinitionSubstitutions: express them as Fn::Sub over the definition string."""
    for resource in cfn["Resources"].values():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        props = resource["Properties"]
        substitutions = props.pop("DefinitionSubstitutions", None)
        if not substitutions:
            continue
        definition = props.pop("Definition", None)
        text = json.dumps(definition) if definition is not None else _literal(props["DefinitionString"])
        props["DefinitionString"] = {"Fn::Sub": [text.replace("$$", CONTEXT_PATH_GUARD), substitutions]}


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return value
    join = value.get("Fn::Join") if isinstance(value, dict) else None
    if join and all(isinstance(part, str) for part in join[1]):
        return str(join[0]).join(join[1])
    raise ValueError(f"cannot fold DefinitionSubstitutions into a computed DefinitionString: {value!r}")


def emulate_unsupported(
    cfn: dict[str, Any], parameters: dict[str, str], pseudo: dict[str, str], secretsmanager: Any
) -> list[str]:
    """Create through the API what moto's CloudFormation cannot, and drop what has no local effect.

    Returns a note per resource that is not emulated, so the devstack can say so instead of pretending.
    """
    from moto.cloudformation.parsing import resource_class_from_type

    values = {**parameters, **pseudo}
    notes = []
    for logical_id, resource in list(cfn["Resources"].items()):
        kind = resource["Type"]
        if resource_class_from_type(kind):
            continue
        props = resource.get("Properties", {})
        del cfn["Resources"][logical_id]
        if kind == "AWS::SecretsManager::Secret":
            arn = secretsmanager.create_secret(
                Name=_resolve(props["Name"], values), SecretString=_resolve(props.get("SecretString", ""), values)
            )["ARN"]
            _replace_refs(cfn, logical_id, arn)
        else:
            notes.append(f"{logical_id} ({kind}) is not emulated locally")
            if _refers_to(cfn, {logical_id}):
                raise ValueError(f"{logical_id} ({kind}) is referenced but cannot be emulated locally")
    return notes


def _resolve(value: Any, values: dict[str, str]) -> str:
    """The few intrinsics an emulated property may use: a literal, Ref, or Fn::Sub over (pseudo-)parameters."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return values[value["Ref"]]
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], value["Fn::Sub"])
    raise ValueError(f"cannot resolve {value!r} locally")


def _replace_refs(node: Any, logical_id: str, physical_id: str) -> Any:
    if isinstance(node, dict):
        if node == {"Ref": logical_id}:
            return physical_id
        for key, child in node.items():
            if key == "Fn::Sub" and isinstance(child, str):
                node[key] = child.replace(f"${{{logical_id}}}", physical_id)
            else:
                node[key] = _replace_refs(child, logical_id, physical_id)
    elif isinstance(node, list):
        return [_replace_refs(child, logical_id, physical_id) for child in node]
    return node
