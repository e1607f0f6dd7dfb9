"""The shared rate windows (store/rate_windows.py) classify DynamoDB's failures in the one place that does it
(aws_errors.py): "not now" is transient, "not this" surfaces as it is."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from posbridge.errors import TransientError
from posbridge.store.rate_windows import RateWindows


class FailingDynamoDB:
    def __init__(self, code: str, status: int) -> None:
        self.error = ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "UpdateItem"
        )

    def update_item(self, **_: Any) -> None:
        raise self.error


def test_a_full_window_answers_false() -> None:
    # Given a window whose condition fails (it is full)
    windows = RateWindows("t", 1, dynamodb=FailingDynamoDB("ConditionalCheckFailedException", 400))
    # When a slot is asked for / Then it is refused, without an error
    assert windows.take("k", 1) is False


def test_throttling_is_transient() -> None:
    # Given DynamoDB throttling the table
    windows = RateWindows("t", 1, dynamodb=FailingDynamoDB("ProvisionedThroughputExceededException", 400))
    # When a slot is asked for / Then the work is tried again later
    with pytest.raises(TransientError):
        windows.take("k", 1)


def test_a_refusal_for_what_the_call_is_surfaces_as_it_is() -> None:
    # Given a function without the grant (a deployment error)
    windows = RateWindows("t", 1, dynamodb=FailingDynamoDB("AccessDeniedException", 400))
    # When a slot is asked for / Then the error is not disguised as a passing outage
    with pytest.raises(ClientError) as raised:
        windows.take("k", 1)
    assert not isinstance(raised.value, TransientError)
