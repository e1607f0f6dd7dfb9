"""The devstack runs handlers in-process for every way AWS invokes them: SQS event sources (with partial batch
failures and the DLQ redrive) and Step Functions tasks (with Retry and Catch on the exception class)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import LocalStack

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "runtime_app" / "template.yaml"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(FIXTURE, parameters={}, stack_name="runtime-fixture").start()
    yield local
    local.stop()


def _wait_for(predicate: Any, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _deliveries(stack: LocalStack, item_id: str) -> int:
    table = stack.client("dynamodb")
    item = table.get_item(TableName=stack.physical_ids["Results"], Key={"id": {"S": item_id}}).get("Item")
    return int(item["deliveries"]["N"]) if item else 0


def test_sqs_messages_reach_the_worker_once(stack: LocalStack) -> None:
    # Given the fixture's FIFO queue with its worker mapped as an event source
    sqs = stack.client("sqs")
    # When two messages are sent, one of them twice with the same deduplication id
    for dedup, body in [("a", {"id": "job-a"}), ("a", {"id": "job-a"}), ("b", {"id": "job-b"})]:
        sqs.send_message(
            QueueUrl=stack.output("QueueUrl"),
            MessageBody=json.dumps(body),
            MessageGroupId="g1",
            MessageDeduplicationId=dedup,
        )
    # Then the worker records each job exactly once
    _wait_for(lambda: _deliveries(stack, "job-a") and _deliveries(stack, "job-b"))
    time.sleep(1.5)  # leave time for a wrong second delivery to show up
    assert (_deliveries(stack, "job-a"), _deliveries(stack, "job-b")) == (1, 1)


def test_a_failing_message_is_retried_then_parked_in_the_dlq_while_its_batch_mates_succeed(stack: LocalStack) -> None:
    # Given a message the worker always fails on, sent with a good one in another group
    sqs = stack.client("sqs")
    sqs.send_message(
        QueueUrl=stack.output("QueueUrl"),
        MessageBody=json.dumps({"id": "bad", "fail": True}),
        MessageGroupId="g-bad",
        MessageDeduplicationId="bad",
    )
    sqs.send_message(
        QueueUrl=stack.output("QueueUrl"),
        MessageBody=json.dumps({"id": "good"}),
        MessageGroupId="g-good",
        MessageDeduplicationId="good",
    )

    # When the poller has retried it past maxReceiveCount (2)
    def parked() -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=stack.output("DeadLetterQueueUrl"), WaitTimeSeconds=1
        ).get("Messages", [])
        return messages

    messages = _wait_for(parked, timeout_s=20)

    # Then the bad message is in the DLQ with its body intact, and the good one was processed once
    assert json.loads(messages[0]["Body"]) == {"id": "bad", "fail": True}
    assert _deliveries(stack, "good") == 1


def _run(stack: LocalStack, name: str, execution_input: dict[str, Any]) -> dict[str, Any]:
    sfn = stack.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=stack.output("WorkflowArn"), name=name, input=json.dumps(execution_input)
    )["executionArn"]
    return dict(_wait_for(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d))


def test_state_machine_tasks_run_in_process_and_retry_on_the_exception_class(stack: LocalStack) -> None:
    # Given the workflow whose first task fails twice with TransientError
    # When it is executed
    result = _run(stack, "retry-ok", {"key": "k1", "failures": 2, "fail": False})
    # Then Retry (matched on the Python exception class name) carried it through on the third attempt
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["flaky"] == {"attempts": 3}


def test_state_machine_catch_routes_a_permanent_error(stack: LocalStack) -> None:
    # Given the workflow asked to fail in its second task
    # When it is executed
    result = _run(stack, "caught", {"key": "k2", "failures": 0, "fail": True})
    # Then Catch matched PermanentError and the execution ended in the Fail state
    assert result["status"] == "FAILED"
    assert result.get("error") == "Caught"
