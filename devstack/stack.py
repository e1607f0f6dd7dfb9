"""The template deployed into an in-process moto server, with handlers running in-process.

stack = LocalStack(Path("template.yaml"), parameters={...}).start()
stack.output("WorkQueueUrl"); stack.invoke("WixWebhookFunction", event); stack.stop()
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import boto3
import httpx
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.stepfunctions.models import stepfunctions_backends

from devstack import moto_patches
from devstack.pollers import SqsPoller, detach_moto_sqs_triggers, sqs_mappings
from devstack.runtime import RUNTIME
from devstack.template import CONTEXT_PATH_GUARD, ApiRoute, Prepared, emulate_unsupported, prepare

ACCOUNT_ID = "123456789012"  # moto's default account

# Process-wide: the in-process handlers and the devstack's own clients all talk to moto. Set before any client exists.
_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "devstack",
    "AWS_SECRET_ACCESS_KEY": "devstack",
    "AWS_SESSION_TOKEN": "devstack",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    "POWERTOOLS_METRICS_NAMESPACE": "Posbridge",
}


class StackError(RuntimeError):
    pass


_moto_lock = threading.Lock()
_moto_endpoint: str | None = None


def _shared_moto_endpoint(region: str) -> str:
    """One moto server per process: its backends are process-wide anyway, and handlers reach it via AWS_ENDPOINT_URL."""
    global _moto_endpoint
    with _moto_lock:
        if _moto_endpoint is None:
            # moto's request log drowns what the devstack prints; handler logs stay.
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            warnings.filterwarnings("ignore", module="moto")
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()  # a daemon thread: it ends with the process
            host, port = server.get_host_and_port()
            _moto_endpoint = f"http://{host}:{port}"
            # MOTO_PORT: moto's Step Functions interpreter calls Lambda at localhost:$MOTO_PORT.
            os.environ.update(
                _FAKE_AWS_ENV,
                AWS_ENDPOINT_URL=_moto_endpoint,
                AWS_DEFAULT_REGION=region,
                AWS_REGION=region,
                MOTO_PORT=str(port),
            )
            # Step Functions really executes definitions only when asked to.
            httpx.post(f"{_moto_endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}})
            RUNTIME.install()
            moto_patches.install()
        return _moto_endpoint


class LocalStack:
    def __init__(
        self,
        template_path: Path,
        parameters: dict[str, str],
        stack_name: str = "posbridge",
        region: str = "us-east-1",
        retry_delay_s: int = 1,
        visibility_scale: float = 1.0,
    ) -> None:
        self.template_path = template_path
        self.parameters = parameters
        self.stack_name = stack_name
        self.region = region
        self.retry_delay_s = retry_delay_s
        self.visibility_scale = visibility_scale  # SqsPoller: a delay a worker set, scaled (1.0: as in AWS)
        self.runtime = RUNTIME
        self.pollers: list[SqsPoller] = []
        self.outputs: dict[str, str] = {}
        self.physical_ids: dict[str, str] = {}
        self.routes: list[ApiRoute] = []
        self.timings: dict[str, float] = {}
        self.not_emulated: list[str] = []
        self.endpoint_url = ""

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        started = time.perf_counter()
        self.endpoint_url = _shared_moto_endpoint(self.region)
        self.timings["moto_start_s"] = time.perf_counter() - started
        self.deploy()
        return self

    def stop(self) -> None:
        """Stop this stack's pollers; moto itself lives as long as the process (other stacks may share it)."""
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- deploy ----------------------------------------------------------------------------------------------------

    def deploy(self) -> None:
        started = time.perf_counter()
        self.stack_name = self._free_stack_name()
        prepared = prepare(self.template_path, self.parameters, self.region, self.client("s3"))
        self.timings["translate_s"] = time.perf_counter() - started
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.not_emulated = emulate_unsupported(
            prepared.cloudformation, self.parameters, pseudo, self.client("secretsmanager")
        )
        self._create_stack(prepared)
        self.timings["deploy_s"] = time.perf_counter() - started
        self.routes = prepared.routes
        for logical_id, source in prepared.functions.items():
            self.runtime.register(self.physical_ids[logical_id], source)
        self._make_state_machines_executable()
        detach_moto_sqs_triggers()
        own_functions = {self.physical_ids[logical_id] for logical_id in prepared.functions}
        for mapping in sqs_mappings(self.client("lambda"), self.client("sqs"), own_functions):
            poller = SqsPoller(
                mapping, self.client("sqs"), self.client("lambda"), self.retry_delay_s, self.visibility_scale
            )
            poller.start()
            self.pollers.append(poller)

    def _free_stack_name(self) -> str:
        """The asked-for name, or name-2, name-3...: a later devstack in this process shares moto with earlier ones."""
        taken = {
            stack["StackName"]
            for page in self.client("cloudformation").get_paginator("list_stacks").paginate()
            for stack in page["StackSummaries"]
            if stack["StackStatus"] != "DELETE_COMPLETE"
        }
        name, n = self.stack_name, 1
        while name in taken:
            n += 1
            name = f"{self.stack_name}-{n}"
        return name

    def _create_stack(self, prepared: Prepared) -> None:
        cfn = self.client("cloudformation")
        cfn.create_stack(
            StackName=self.stack_name,
            TemplateBody=json.dumps(prepared.cloudformation),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        stack = cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise StackError(f"stack {self.stack_name} is {stack['StackStatus']}: {stack.get('StackStatusReason')}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        resources = cfn.describe_stack_resources(StackName=self.stack_name)["StackResources"]
        self.physical_ids = {
            r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r.get("PhysicalResourceId")
        }

    def _make_state_machines_executable(self) -> None:
        """CloudFormation creates state machines in moto's plain backend; executions need the executing one."""
        sfn = self.client("stepfunctions")
        plain = stepfunctions_backends[ACCOUNT_ID][self.region]
        own = set(self.physical_ids.values())
        for machine in plain.state_machines:
            if machine.arn not in own:
                continue
            sfn.create_state_machine(
                name=machine.name,
                definition=machine.definition.replace(CONTEXT_PATH_GUARD, "$$"),
                roleArn=machine.roleArn,
                type=getattr(machine, "type", "STANDARD") or "STANDARD",
            )

    # -- helpers ---------------------------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def output(self, key: str) -> str:
        return self.outputs[key]

    def function_name(self, logical_id: str) -> str:
        return self.physical_ids[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> tuple[Any, str | None]:
        """Invoke a function through moto, as API Gateway or Step Functions would; returns (payload, FunctionError)."""
        response = self.client("lambda").invoke(FunctionName=self.function_name(logical_id), Payload=json.dumps(event))
        return json.loads(response["Payload"].read() or b"null"), response.get("FunctionError")
