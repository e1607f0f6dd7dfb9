"""The devstack's fix to moto's TransactWriteItems (devstack/moto_patches.py): a failed transaction undoes its own
writes and nobody else's, and no transaction copies the table."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from devstack import moto_patches
from tests.moto_tables import mappings_table

TABLE = "patched"


@pytest.fixture
def client() -> Iterator[Any]:
    moto_patches.install()
    with mappings_table(TABLE) as dynamodb:
        yield dynamodb


def _item(sk: str, **attributes: str) -> dict[str, Any]:
    return {"PK": {"S": "T"}, "SK": {"S": sk}, **{k: {"S": v} for k, v in attributes.items()}}


def _get(client: Any, sk: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = client.get_item(TableName=TABLE, Key={"PK": {"S": "T"}, "SK": {"S": sk}}).get("Item")
    return found


def _failing_transaction() -> list[dict[str, Any]]:
    """Writes A (new), updates B, deletes C, then fails on D's condition."""
    key = {"PK": {"S": "T"}}
    return [
        {"Put": {"TableName": TABLE, "Item": _item("A", v="new")}},
        {"Update": {"TableName": TABLE, "Key": {**key, "SK": {"S": "B"}}, "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "changed"}}}},
        {"Delete": {"TableName": TABLE, "Key": {**key, "SK": {"S": "C"}}}},
        {"ConditionCheck": {"TableName": TABLE, "Key": {**key, "SK": {"S": "D"}},
                            "ConditionExpression": "attribute_exists(PK)"}},
    ]  # fmt: skip


def test_a_failed_transaction_leaves_the_items_it_named_as_they_were(client: Any) -> None:
    # Given B and C stored, A and D absent
    client.put_item(TableName=TABLE, Item=_item("B", v="old"))
    client.put_item(TableName=TABLE, Item=_item("C", v="old"))
    # When a transaction writes A, B and C and then fails on D's condition
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=_failing_transaction())
    # Then nothing it wrote remains
    assert _get(client, "A") is None
    assert _get(client, "B") == _item("B", v="old")
    assert _get(client, "C") == _item("C", v="old")


def test_a_failed_transaction_keeps_what_others_wrote_meanwhile(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given another request that writes E while the transaction runs (moto serves requests on many threads)
    put_item = DynamoDBBackend.put_item

    def put_and_meanwhile_another_request(self: DynamoDBBackend, table_name: str, attrs: Any, *a: Any, **k: Any) -> Any:
        if attrs["SK"] == {"S": "A"}:
            put_item(self, table_name, _item("E", v="someone else's"))
        return put_item(self, table_name, attrs, *a, **k)

    monkeypatch.setattr(DynamoDBBackend, "put_item", put_and_meanwhile_another_request)
    # When the transaction fails and is rolled back
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=_failing_transaction())
    # Then the other request's write survives (moto alone put the whole table back as it was before the transaction)
    assert _get(client, "E") == _item("E", v="someone else's")
    assert _get(client, "A") is None


def test_a_transaction_does_not_copy_the_table(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a table, and a record of what is deep-copied
    copied: list[type] = []
    deepcopy = copy.deepcopy

    def recording(value: Any, memo: Any = None) -> Any:
        copied.append(type(value))
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", recording)
    # When a transaction succeeds
    client.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": _item("A", v="new")}}])
    # Then it wrote, and copied no table (moto copied the whole table once per item, for every transaction)
    assert _get(client, "A") == _item("A", v="new")
    assert Table not in copied
