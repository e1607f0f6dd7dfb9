"""posbridge/aws_errors.py: the one place that tells a transient AWS failure (retry later) from a permanent one."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from posbridge.aws_errors import as_transient, transient_cancellations
from posbridge.errors import TransientError


def _client_error(code: str, status: int, **extra: Any) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}, **extra}
    return ClientError(response, "Op")


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("ProvisionedThroughputExceededException", 400), ("SlowDown", 503),
     ("TransactionConflictException", 400), ("Whatever", 500)],
)  # fmt: skip
def test_throttling_capacity_conflicts_and_5xx_are_transient(code: str, status: int) -> None:
    # Given an AWS answer that says "not now", When it is classified, Then it is a TransientError naming its code
    transient = as_transient(_client_error(code, status))
    assert isinstance(transient, TransientError) and (code in str(transient) or str(status) in str(transient))


@pytest.mark.parametrize(("code", "status"), [("ValidationException", 400), ("AccessDeniedException", 403),
                                              ("ResourceNotFoundException", 400)])  # fmt: skip
def test_what_will_never_succeed_as_it_is_is_left_to_the_caller(code: str, status: int) -> None:
    assert as_transient(_client_error(code, status)) is None


def test_no_answer_at_all_is_transient_and_other_exceptions_are_not_awss() -> None:
    assert isinstance(as_transient(EndpointConnectionError(endpoint_url="https://x")), TransientError)
    assert as_transient(ValueError("x")) is None


def test_a_cancelled_transaction_is_transient_only_for_its_not_now_reasons() -> None:
    # Given two cancelled transactions: one for throttling and a conflict, one for a failed condition
    busy = _client_error("TransactionCanceledException", 400, CancellationReasons=[
        {"Code": "ThrottlingError"}, {"Code": "None"}, {"Code": "TransactionConflict"}])  # fmt: skip
    refused = _client_error("TransactionCanceledException", 400, CancellationReasons=[
        {"Code": "ConditionalCheckFailed"}, {"Code": "None"}])  # fmt: skip
    # Then only the first names reasons to retry
    assert transient_cancellations(busy) == ["ThrottlingError", "TransactionConflict"]
    assert transient_cancellations(refused) == []
