"""Each Clover merchant's OAuth pair in the mappings table, replaced by compare-and-set (tokens.py).

    PK CLOVERTOKENS#<merchantId>  SK PAIR -> access_token, access_token_expiration, refresh_token,
                                             refresh_token_expiration (Unix s), lease_until (Unix s), lease_owner

Clover's refresh tokens are single-use ("becomes invalid immediately after a new access_token and refresh_token pair
is generated", docs.clover.com/docs/refresh-access-tokens) and capped per merchant and app. So:
- `replace` writes the new pair only while the item still holds the refresh token that was spent (one conditional
  UpdateItem): a slow worker never overwrites a newer pair with an older one, and never saves a pair made from a
  token someone else spent.
- `lease` lets one worker of any function refresh at a time (a conditional UpdateItem on the same item, held for
  LEASE seconds at most): two functions refreshing with the same token would spend it twice and leave one with a
  401, or push Clover's cap. The pair is saved (and the lease released) in the same write, before it is used.
- What no store can close: a refresh whose reply is lost, or a crash after the reply and before `replace`, has spent
  the old token and the new pair is unknown; the merchant authorises the app again (Clover documents no way to
  recover it). The window is one HTTP reply plus one conditional write.
The table is encrypted at rest (template.yaml); the values are never logged (CloverTokens hides them in its repr).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from posbridge.errors import PermanentError, TransientError
from posbridge.pos.clover.tokens import CloverTokens
from posbridge.store.table import TableStore

PAIR_SK = "PAIR"
FIELDS = ("access_token", "access_token_expiration", "refresh_token", "refresh_token_expiration")


def tokens_pk(merchant_id: str) -> str:
    return f"CLOVERTOKENS#{merchant_id}"


class DynamoCloverTokenStore(TableStore):
    """The TokenStore of one merchant (tokens.py)."""

    def __init__(self, table_name: str, merchant_id: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(table_name)
        if not merchant_id:
            raise ValueError("merchant_id is required")
        self._key = {"PK": tokens_pk(merchant_id), "SK": PAIR_SK}
        self._clock = clock

    def __repr__(self) -> str:
        return f"DynamoCloverTokenStore(merchant={self._key['PK']!r})"

    def save(self, tokens: CloverTokens) -> None:
        """The pair of a new authorisation (the OAuth callback): replaces whatever was there."""
        self._call(lambda: self._table.put_item(Item={**self._key, **_attributes(tokens)}))

    def seed(self, tokens: CloverTokens) -> bool:
        """The pair of an authorisation registered with the tenant (its POS credentials): saved unless this very
        authorisation seeded the store before (its refresh token's hash, `seeded_from`), so a gateway rebuilt while
        warm never rolls a refreshed pair back, and a new authorisation replaces a dead pair. True when saved."""
        seeded_from = hashlib.sha256(tokens.refresh_token.encode()).hexdigest()
        try:
            self._call(
                lambda: self._table.put_item(
                    Item={**self._key, **_attributes(tokens), "seeded_from": seeded_from},
                    ConditionExpression="attribute_not_exists(PK) OR seeded_from <> :seed",
                    ExpressionAttributeValues={":seed": seeded_from},
                ),
                conditional=True,
            )
        except _ConditionFailed:
            return False
        return True

    def load(self) -> CloverTokens:
        item = self._call(lambda: self._table.get_item(Key=self._key, ConsistentRead=True)).get("Item")
        if item is None:
            raise PermanentError("clover_not_authorized", "The merchant has not authorised the Clover app.")
        return CloverTokens.model_validate({k: int(item[k]) if k.endswith("expiration") else item[k] for k in FIELDS})

    def replace(self, old_refresh_token: str, new: CloverTokens) -> bool:
        values = {f":{k}": v for k, v in _attributes(new).items()}
        return self._conditional(
            UpdateExpression="SET " + ", ".join(f"{k} = :{k}" for k in FIELDS) + " REMOVE lease_until, lease_owner",
            ConditionExpression="refresh_token = :old",
            ExpressionAttributeValues={**values, ":old": old_refresh_token},
        )

    def lease(self, refresh_token: str, owner: str, seconds: float) -> bool:
        """Take the right to refresh `refresh_token` for `seconds`; False while another worker holds it or when the
        stored pair has moved on."""
        now = self._clock()
        return self._conditional(
            UpdateExpression="SET lease_until = :until, lease_owner = :owner",
            ConditionExpression="refresh_token = :token AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            ExpressionAttributeValues={
                ":until": int(now + seconds) + 1,
                ":owner": owner,
                ":token": refresh_token,
                ":now": int(now),
            },
        )

    def _conditional(self, **update: Any) -> bool:
        try:
            self._call(lambda: self._table.update_item(Key=self._key, **update), conditional=True)
        except _ConditionFailed:
            return False
        return True

    def _call(self, action: Callable[[], Any], conditional: bool = False) -> Any:
        try:
            return action()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if conditional and code == "ConditionalCheckFailedException":
                raise _ConditionFailed from None
            raise TransientError(f"Clover token table unavailable: {code}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"Clover token table unavailable: {type(exc).__name__}") from exc


class _ConditionFailed(Exception):
    pass


def _attributes(tokens: CloverTokens) -> dict[str, Any]:
    return {k: getattr(tokens, k) for k in FIELDS}
