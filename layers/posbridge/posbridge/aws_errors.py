"""One place that tells a transient AWS failure (retry the work) from a permanent one.

boto3 already retries throttling and 5xx a few times (its standard retry mode); what still fails with one of these is
worth another attempt later (the Step Functions retry, the message coming back), never a parked message or a job
failed for good. Anything else from AWS (validation, access denied, a missing resource) is left to the caller.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from posbridge.errors import TransientError

# Error codes AWS answers for "not now" (throttling, capacity, an internal error, a conflicting transaction)
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)
# TransactWriteItems cancellation reasons that say "not now" rather than "not this" (DynamoDB API reference,
# TransactionCanceledException): another transaction on the same items, throttling, capacity.
TRANSIENT_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError", "RequestLimitExceeded"}
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def transient_cancellations(exc: ClientError) -> list[str]:
    """The "not now" reasons of a cancelled transaction, sorted (empty: it was refused for what it is)."""
    reasons = exc.response.get("CancellationReasons", [])
    return sorted({str(r.get("Code")) for r in reasons} & TRANSIENT_CANCELLATIONS)


def as_transient(exc: Exception) -> TransientError | None:
    """The TransientError to raise for this AWS failure, or None when it is not transient (or not AWS's)."""
    if isinstance(exc, BotoCoreError):  # no answer at all: a timeout, a lost connection
        return TransientError(f"AWS unreachable: {type(exc).__name__}")
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in TRANSIENT_CODES or status >= 500:
            return TransientError(f"AWS {code or status}: {exc}")
    return None
