"""The Clover token pair in the mappings table (moto): compare-and-set replacement, a refresh lease shared by every
function, and Clover's 16 requests/s per token counted across processes on the Wix limiter's DynamoDB window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from posbridge.errors import PermanentError
from posbridge.pos.clover.rate_limit import SharedSecondLimiter
from posbridge.pos.clover.token_store import DynamoCloverTokenStore
from posbridge.pos.clover.tokens import CloverTokens
from tests.fake_time import FakeTime
from tests.moto_tables import mappings_table

TABLE = "mappings"


def _pair(n: int) -> CloverTokens:
    return CloverTokens(
        access_token=f"access-{n}", access_token_expiration=2_000_000_000 + n,
        refresh_token=f"refresh-{n}", refresh_token_expiration=2_100_000_000 + n,
    )  # fmt: skip


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mappings_table(TABLE) as client:
        yield client


def test_a_merchant_without_a_pair_must_authorise_first(dynamodb: Any) -> None:
    # Given no pair saved, When it is loaded, Then the merchant is told to authorise the app
    with pytest.raises(PermanentError) as missing:
        DynamoCloverTokenStore(TABLE, "M1").load()
    assert missing.value.reason == "clover_not_authorized"


def test_a_new_pair_replaces_only_the_pair_whose_refresh_token_was_spent(dynamodb: Any) -> None:
    # Given the authorisation's pair saved, and two functions' stores of the same merchant
    first, second = DynamoCloverTokenStore(TABLE, "M1"), DynamoCloverTokenStore(TABLE, "M1")
    first.save(_pair(1))
    # When one replaces it with the pair refresh-1 bought
    assert first.replace("refresh-1", _pair(2))
    # Then a late writer holding the same spent token cannot put its older pair over it
    assert not second.replace("refresh-1", _pair(3))
    assert second.load() == _pair(2)
    # And another merchant's pair is apart
    with pytest.raises(PermanentError):
        DynamoCloverTokenStore(TABLE, "M2").load()


def test_one_worker_at_a_time_may_refresh_and_saving_the_pair_frees_the_lease(dynamodb: Any) -> None:
    time = FakeTime(1_900_000_000.0)
    first = DynamoCloverTokenStore(TABLE, "M1", clock=time.clock)
    second = DynamoCloverTokenStore(TABLE, "M1", clock=time.clock)
    first.save(_pair(1))
    # When two functions want to refresh the same token at once, Then only one may
    assert first.lease("refresh-1", "fn-a", 30)
    assert not second.lease("refresh-1", "fn-b", 30)
    # And a lease for a token already replaced is refused; the saved pair frees the lease for its own token
    assert first.replace("refresh-1", _pair(2))
    assert not second.lease("refresh-1", "fn-b", 30)
    assert second.lease("refresh-2", "fn-b", 30)
    # And a lease whose holder died expires
    time.now += 32
    assert first.lease("refresh-2", "fn-a", 30)


def test_the_pair_is_not_in_the_stores_repr(dynamodb: Any) -> None:
    store = DynamoCloverTokenStore(TABLE, "M1")
    store.save(_pair(1))
    assert "refresh-1" not in repr(store) and "access-1" not in repr(store.load())


def test_sixteen_requests_a_second_are_shared_by_every_process(dynamodb: Any) -> None:
    # Given two functions' limiters over the same table and clock
    time = FakeTime(1_900_000_000.25)
    a = SharedSecondLimiter(TABLE, sleep=time.sleep, clock=time.clock, dynamodb=dynamodb)
    b = SharedSecondLimiter(TABLE, sleep=time.sleep, clock=time.clock, dynamodb=dynamodb)
    # When they send 16 requests for one merchant within the second
    for k in range(16):
        (a if k % 2 else b).acquire("M1")
    assert time.sleeps == []
    # Then the 17th, from either, waits for the next second; another merchant does not
    b.acquire("M2")
    a.acquire("M1")
    assert time.sleeps == [pytest.approx(0.75)]
    # And the window's counter expires with the table's TTL
    items = dynamodb.scan(TableName=TABLE)["Items"]
    assert all(int(i["expires_at"]["N"]) <= 1_900_000_000 + 180 for i in items)
