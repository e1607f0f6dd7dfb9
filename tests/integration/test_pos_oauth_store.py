"""POS OAuth's data access against the mappings table deployed from template.yaml into moto: the state is stored
only hashed, with its TTL, and is taken once; the connection records list for the refresh schedule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from devstack.app import Devstack
from posbridge.domain.pos_oauth import OAuthConnection
from posbridge.store.pos_oauth import OAuthConnections, OAuthStates, state_pk

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def table_name(devstack: Devstack) -> str:
    assert devstack.stack is not None
    return devstack.stack.output("MappingsTableName")


def _all_items(table_name: str) -> list[dict[str, Any]]:
    return list(boto3.resource("dynamodb").Table(table_name).scan()["Items"])


def test_a_state_is_stored_hashed_with_its_ttl_and_taken_once(table_name: str) -> None:
    # Given a state saved for a site
    states, state = OAuthStates(table_name), f"raw-state-{uuid.uuid4().hex}"
    states.save(state, "site-a", "square", T0 + timedelta(minutes=10))
    # Then the table holds its hash, never the state itself, with the TTL attribute the table expires
    items = _all_items(table_name)
    assert state not in repr(items)
    [stored] = [i for i in items if i["PK"] == state_pk(state)]
    assert stored["expires_at"] == int((T0 + timedelta(minutes=10)).timestamp())
    # When it is taken twice (a replayed callback)
    first, second = states.take(state), states.take(state)
    # Then the first take answers the site, provider and expiry, the second nothing
    assert first == ("site-a", "square", T0 + timedelta(minutes=10))
    assert second is None


def test_connection_records_round_trip_and_list_for_the_schedule(table_name: str) -> None:
    connections = OAuthConnections(table_name)
    site = f"site-{uuid.uuid4().hex[:8]}"
    record = OAuthConnection(
        instance_id=site, merchant_id="M1", stage="connected", connected_at=T0, token_issued_at=T0,
        token_expires_at=T0 + timedelta(days=30),
    )  # fmt: skip
    connections.put(record)
    assert connections.get(site) == record
    assert record in connections.all()


def test_records_written_before_they_named_a_provider_read_as_squares(table_name: str) -> None:
    # Given a state and a connection stored the way they were while Square was the only OAuth provider (no provider)
    table, site = boto3.resource("dynamodb").Table(table_name), f"site-{uuid.uuid4().hex[:8]}"
    state = f"raw-state-{uuid.uuid4().hex}"
    table.put_item(Item={"PK": state_pk(state), "SK": "STATE", "instance_id": site, "expires_at": int(T0.timestamp())})
    old_record = (
        f'{{"instance_id":"{site}","merchant_id":"M1","stage":"connected","connected_at":"{T0.isoformat()}",'
        f'"token_issued_at":"{T0.isoformat()}","token_expires_at":"{T0.isoformat()}"}}'
    )
    table.put_item(Item={"PK": "SQUAREOAUTH", "SK": site, "connection": old_record})
    # When they are read
    taken, connection = OAuthStates(table_name).take(state), OAuthConnections(table_name).get(site)
    # Then both are Square's
    assert taken == (site, "square", T0)
    assert connection is not None and (connection.provider, connection.merchant_id) == ("square", "M1")
