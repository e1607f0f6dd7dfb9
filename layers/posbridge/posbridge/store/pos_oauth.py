"""POS OAuth in the mappings table (flows/pos_oauth.py): the pending authorization states and each tenant's connection.

    PK OAUTHSTATE#<sha256(state)>  SK STATE        -> instance_id, provider, expires_at (TTL)   one per authorize link
    PK SQUAREOAUTH                 SK <instanceId> -> the OAuthConnection (no token)   the refresh schedule's list

Only the state's SHA-256 is stored: a leaked table dump cannot complete anyone's authorization. A state is taken with
one conditional delete, so two callbacks with the same state cannot both succeed (single use). DynamoDB's TTL deletes
expired states lazily (within days), so the expiry is also checked when one is taken.

The connections' partition keeps the name it was given when Square was the only OAuth provider: it holds every
provider's connections, each naming its provider (one written before carries none and reads as Square's, as does a
state saved before states named theirs), so existing tables need no migration.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from posbridge.domain.pos_oauth import OAuthConnection
from posbridge.store.table import TableStore

STATE_SK = "STATE"
CONNECTIONS_PK = "SQUAREOAUTH"  # every provider's (the module's docstring)


def state_pk(state: str) -> str:
    return "OAUTHSTATE#" + hashlib.sha256(state.encode()).hexdigest()


class OAuthStates(TableStore):
    def save(self, state: str, instance_id: str, provider: str, expires_at: datetime) -> None:
        self._table.put_item(
            Item={
                "PK": state_pk(state),
                "SK": STATE_SK,
                "instance_id": instance_id,
                "provider": provider,
                "expires_at": int(expires_at.timestamp()),
            },
            ConditionExpression="attribute_not_exists(PK)",
        )

    def take(self, state: str) -> tuple[str, str, datetime] | None:
        """The state's site, provider and expiry, deleting it (None: unknown, or already taken)."""
        old = self._table.delete_item(Key={"PK": state_pk(state), "SK": STATE_SK}, ReturnValues="ALL_OLD").get(
            "Attributes"
        )
        if not old:
            return None
        provider = str(old.get("provider") or "square")
        return str(old["instance_id"]), provider, datetime.fromtimestamp(int(old["expires_at"]), UTC)


class OAuthConnections(TableStore):
    def get(self, instance_id: str) -> OAuthConnection | None:
        item = self._table.get_item(Key={"PK": CONNECTIONS_PK, "SK": instance_id}, ConsistentRead=True).get("Item")
        return None if item is None else OAuthConnection.model_validate_json(item["connection"])

    def put(self, connection: OAuthConnection) -> None:
        self._table.put_item(
            Item={"PK": CONNECTIONS_PK, "SK": connection.instance_id, "connection": connection.model_dump_json()}
        )

    def all(self) -> list[OAuthConnection]:
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {"KeyConditionExpression": Key("PK").eq(CONNECTIONS_PK), "ConsistentRead": True}
        while True:
            page = self._table.query(**query)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [OAuthConnection.model_validate_json(item["connection"]) for item in items]
