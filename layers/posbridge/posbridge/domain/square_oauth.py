"""A restaurant's Square OAuth connection: what may be stored and shown (never a token), and its state.

The tokens live only in Secrets Manager (the tenant's POS credentials secret, `OAuthCredentials`); this record keeps
the merchant, when the access token was issued and expires, and why a connection ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from posbridge.domain.tenant import PosCredentials

# Square: OAuth access tokens expire after 30 days; refresh every 7 days or sooner; alert on a token older than 8 days
# (developer.squareup.com/docs/oauth-api/refresh-revoke-limit-scope).
REFRESH_AFTER = timedelta(days=6)  # a daily schedule then refreshes each token between 6 and 7 days old
TOKEN_AGE_ALARM = timedelta(days=8)
STATE_TTL = timedelta(minutes=10)  # Square's authorization code itself lives 5 minutes

ConnectionStage = Literal["awaiting_location", "connected", "revoked", "disconnected", "replaced"]
# What the restaurant's page shows.
ConnectionStatus = Literal["connected", "expiring", "revoked", "not_connected"]


class OAuthCredentials(PosCredentials):
    """The POS credentials secret of an OAuth-connected tenant: the access token, the refresh token, and the
    application's webhook signature key (an OAuth application's webhook subscription is the application's)."""

    refresh_token: SecretStr = Field(min_length=1)


@dataclass(frozen=True)
class TokenGrant:
    """Square's ObtainTokenResponse, as the flows need it."""

    access_token: SecretStr
    refresh_token: SecretStr
    expires_at: datetime
    merchant_id: str


@dataclass(frozen=True)
class SquareLocation:
    id: str
    name: str
    status: str  # Square's LocationStatus: ACTIVE | INACTIVE


class OAuthConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str
    merchant_id: str
    stage: ConnectionStage
    connected_at: datetime  # when the owner approved (the last time)
    token_issued_at: datetime  # when the current access token was obtained (code exchange or refresh)
    token_expires_at: datetime
    pending_version: str | None = None  # the staged secret version, until a location is picked
    ended_at: datetime | None = None
    reason: str | None = None  # why it ended: square_revoked_by_merchant, disconnected_by_owner, ...
    last_refresh_error: str | None = None  # the reason code of the last failed refresh (none once one succeeds)

    def token_age(self, now: datetime) -> timedelta:
        return now - self.token_issued_at

    def status(self, now: datetime) -> ConnectionStatus:
        if self.stage in ("revoked", "disconnected"):
            return "revoked"
        if self.stage != "connected":
            return "not_connected"
        if self.token_age(now) > TOKEN_AGE_ALARM or self.token_expires_at - now < timedelta(days=7):
            return "expiring"
        return "connected"

    def refresh_due(self, now: datetime) -> bool:
        return self.stage == "connected" and self.token_age(now) >= REFRESH_AFTER
