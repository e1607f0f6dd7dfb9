"""The AWS usage meter (devstack/meter.py): DynamoDB calls become request units by the developer guide's rules."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from devstack.meter import AwsMeter, dynamodb_units, item_size
from devstack.runtime import attributed


def test_a_write_costs_one_unit_per_started_kilobyte_and_twice_in_a_transaction() -> None:
    # Given an item of about 1.5 KB
    item = {"PK": {"S": "TENANT#a"}, "SK": {"S": "ORDER#1"}, "blob": {"S": "x" * 1500}}
    assert 1500 < item_size(item) < 2048
    # Then a put costs 2 WRU, and the same put in a transaction 4
    assert dynamodb_units("PutItem", {"Item": item}, {}) == (0.0, 2.0)
    assert dynamodb_units("TransactWriteItems", {"TransactItems": [{"Put": {"Item": item}}]}, {}) == (0.0, 4.0)


def test_a_read_costs_one_unit_per_started_4_kb_halved_when_eventually_consistent() -> None:
    # Given a 5 KB item read back
    item = {"PK": "TENANT#a", "blob": "y" * 5000}
    # Then an eventually consistent get costs 1 RRU, a strongly consistent one 2, and finding nothing 0.5
    assert dynamodb_units("GetItem", {}, {"Item": item}) == (1.0, 0.0)
    assert dynamodb_units("GetItem", {"ConsistentRead": True}, {"Item": item}) == (2.0, 0.0)
    assert dynamodb_units("Query", {}, {"Items": []}) == (0.5, 0.0)


@mock_aws
def test_only_calls_made_for_a_function_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    table = boto3.resource("dynamodb").create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with AwsMeter.measure() as usage:
        # When the devstack itself writes, then a function writes and reads
        table.put_item(Item={"PK": "devstack"})
        with attributed("OrderWorker"):
            table.put_item(Item={"PK": "order"})
            table.get_item(Key={"PK": "order"})
    # Then only the function's calls count
    assert usage.count("dynamodb") == 2
    assert (usage.read_units, usage.write_units) == (0.5, 1.0)
