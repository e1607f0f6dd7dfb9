"""Shared fixtures: one devstack per test session (moto + template.yaml + gateway + sandboxes on 127.0.0.1), and
template.yaml translated offline, as CloudFormation will see it (code locations made S3 URIs for the translator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from devstack.app import TEMPLATE, Devstack
from devstack.template import load_sam


@pytest.fixture(scope="session")
def devstack() -> Iterator[Devstack]:
    with Devstack() as stack:
        yield stack


@pytest.fixture(scope="session")
def translated_template() -> dict[str, Any]:
    sam = load_sam(TEMPLATE)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://bucket/layer.zip"
        if resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in resource["Properties"]:
            resource["Properties"]["DefinitionUri"] = "s3://bucket/definition.json"
    required = {name: "x" for name, p in sam.get("Parameters", {}).items() if "Default" not in p}
    translator = Translator({}, Parser(), boto_session=boto3.Session(region_name="us-east-1"))
    return dict(translator.translate(sam, parameter_values=required, get_managed_policy_map=lambda: {}))
