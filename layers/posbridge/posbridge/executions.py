"""The catalog publish workflow's executions in Step Functions: start one, read its status, stop it."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

import boto3


class StepFunctionsExecutions:
    def __init__(self, state_machine_arn: str) -> None:
        self._state_machine_arn = state_machine_arn

    def __repr__(self) -> str:
        return f"StepFunctionsExecutions(state_machine_arn={self._state_machine_arn!r})"

    @cached_property
    def _sfn(self) -> Any:
        return boto3.client("stepfunctions")

    def start(self, name: str, execution_input: dict[str, Any]) -> str:
        """Start an execution named `name` (the job id: Step Functions refuses a second one with that name)."""
        answer = self._sfn.start_execution(
            stateMachineArn=self._state_machine_arn, name=name, input=json.dumps(execution_input)
        )
        return str(answer["executionArn"])

    def status(self, execution_arn: str) -> str:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED; MISSING when Step Functions does not know it."""
        try:
            return str(self._sfn.describe_execution(executionArn=execution_arn)["status"])
        except self._sfn.exceptions.ExecutionDoesNotExist:
            return "MISSING"

    def stop(self, execution_arn: str, cause: str) -> None:
        self._sfn.stop_execution(executionArn=execution_arn, error="posbridge.HealthCheck", cause=cause[:1000])
