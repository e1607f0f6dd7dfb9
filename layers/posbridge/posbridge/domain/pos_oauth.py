"""A restaurant's POS OAuth connection: what may be stored and shown (never a token), and its state.

The tokens live only in Secrets Manager (the tenant's POS credentials secret, `OAuthCredentials`); this record keeps
the provider and merchant, when the access token was issued and expires, and why a connection ended. When a token is
refreshed and when it counts as old is the provider's rule (`TokenPolicy`, from its adapter: Square's in
pos/square/oauth.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from posbridge.domain.tenant import PosCredentials

STATE_TTL = timedelta(minutes=10)  # an authorize link's life (Square's authorization code itself lives 5 minutes)

ConnectionStage = Literal["awaiting_location", "connected", "revoked", "disconnected", "replaced"]
# What the restaurant's page shows.
ConnectionStatus = Literal["connected", "expiring", "revoked", "not_connected"]


@dataclass(frozen=True)
class TokenPolicy:
    """A provider's access-token rules: refresh a token this old or older (a daily schedule), and show it as
    `expiring` (and alarm) past `age_alarm` or when it expires within `expiring_within`."""

    refresh_after: timedelta
    age_alarm: timedelta
    expiring_within: timedelta


class OAuthCredentials(PosCredentials):
    """The POS credentials secret of an OAuth-connected tenant: the access token, the refresh token, and the
    application's webhook signature key (an OAuth application's webhook subscription is the application's)."""

    refresh_token: SecretStr = Field(min_length=1)


@dataclass(frozen=True)
class TokenGrant:
    """A provider's answer to a code exchange or a refresh, as the flows need it."""

    access_token: SecretStr
    refresh_token: SecretStr
    expires_at: datetime
    merchant_id: str


@dataclass(frozen=True)
class PosLocation:
    id: str
    name: str
    status: str  # ACTIVE: the owner may connect the site to it (the adapter maps the provider's own status)


class OAuthConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str
    # The registry's name of the provider. Records written while Square was the only OAuth provider carry none: they
    # are Square's.
    provider: str = "square"
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

    def status(self, now: datetime, policy: TokenPolicy) -> ConnectionStatus:
        if self.stage in ("revoked", "disconnected"):
            return "revoked"
        if self.stage != "connected":
            return "not_connected"
        if self.token_age(now) > policy.age_alarm or self.token_expires_at - now < policy.expiring_within:
            return "expiring"
        return "connected"

    def refresh_due(self, now: datetime, policy: TokenPolicy) -> bool:
        return self.stage == "connected" and self.token_age(now) >= policy.refresh_after
