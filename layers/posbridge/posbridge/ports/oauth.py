"""A restaurant connecting its POS account itself through OAuth (flows/pos_oauth.py): the provider's side, handed out
per provider by the registry (pos/registry.py; Square's: pos/square/oauth.py SquareConnector), and the stores the
flow keeps its records in (store/pos_oauth.py, secrets.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import SecretStr

from posbridge.domain.pos_oauth import OAuthConnection, PosLocation, TokenGrant, TokenPolicy
from posbridge.domain.tenant import PosCredentials
from posbridge.ports.stores import CredentialVault


class OAuthConnector(Protocol):
    """One provider's OAuth application. Errors: PermanentError (the provider refused, with its reason code) or
    TransientError (unreachable after the adapter's retries); no token or secret in either."""

    @property
    def provider(self) -> str:
        """The registry's name (PosConnection.provider)."""
        ...

    @property
    def webhook_signature_key(self) -> SecretStr:
        """The application's webhook signature key, kept with each tenant it connects."""
        ...

    def authorize_url(self, state: str) -> str:
        """Where the owner approves; the provider brings `state` back to the callback."""
        ...

    def obtain_token(self, code: str) -> TokenGrant: ...
    def refresh(self, refresh_token: str) -> TokenGrant: ...

    def revoke(self, merchant_id: str) -> bool:
        """Ends the application's access to the merchant's account."""
        ...

    def locations(self, access_token: str) -> list[PosLocation]:
        """The merchant's locations a site may be connected to."""
        ...


class OAuthConnectors(Protocol):
    """Each provider's connector and token rules, by the registry's name (PermanentError for one it cannot
    connect through OAuth). The policy needs no application secret: the page shows a connection without one."""

    def connector(self, provider: str) -> OAuthConnector: ...
    def policy(self, provider: str) -> TokenPolicy: ...


class OAuthStateStore(Protocol):
    """The pending authorize links: a state, the site and provider it was issued for, its expiry."""

    def save(self, state: str, instance_id: str, provider: str, expires_at: datetime) -> None: ...

    def take(self, state: str) -> tuple[str, str, datetime] | None:
        """(site, provider, expiry), deleting it: None when unknown or already taken."""
        ...


class OAuthConnectionStore(Protocol):
    def get(self, instance_id: str) -> OAuthConnection | None: ...
    def put(self, connection: OAuthConnection) -> None: ...
    def all(self) -> list[OAuthConnection]: ...


class OAuthVault(CredentialVault, Protocol):
    """The tenants' POS credentials, staged ones readable before they are promoted (the location choice)."""

    def staged_pos_credentials(self, instance_id: str, version: str) -> PosCredentials: ...
    def pos_credentials(self, instance_id: str) -> PosCredentials: ...
