"""Square OAuth, code flow (squareup 46 `square/o_auth/raw_client.py`; developer.squareup.com/docs/oauth-api/overview,
.../oauth-api/refresh-revoke-limit-scope):

- the seller approves on `GET /oauth2/authorize?client_id&scope&session&state` (Square redirects to the application's
  registered Redirect URL with `code` and `state`; no `redirect_uri` is sent, so the token request needs none);
- `POST /oauth2/token` {client_id, client_secret, grant_type: authorization_code, code} -> ObtainTokenResponse
  {access_token, token_type, expires_at, merchant_id, refresh_token}; the same with grant_type refresh_token and the
  refresh token refreshes (code flow: "the response returns the same refresh token provided in the request");
- `POST /oauth2/revoke` {client_id, merchant_id} with `Authorization: Client <application secret>` revokes every
  token of the seller for the application;
- `POST /oauth2/token/status` with the bearer token -> RetrieveTokenStatusResponse {scopes, expires_at, client_id,
  merchant_id}.
No body, answer or exception of this module carries a token or the application secret into a log line.

`SquareConnector` is what the registry hands the OAuth flow (ports/oauth.py OAuthConnector, flows/pos_oauth.py):
these calls, the locations and Square's token rules (TOKEN_POLICY).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from posbridge.domain.pos_oauth import PosLocation, TokenGrant, TokenPolicy
from posbridge.errors import PermanentError, TransientError
from posbridge.http_retry import DEFAULT_TIMEOUT, Retrier, encode_json, json_object, send
from posbridge.pos.square.client import SQUARE_VERSION, SquareClient, _permanent
from posbridge.pos.square.webhooks import PROVIDER

log = logging.getLogger(__name__)

# The least the flows need, each with the calls that need it (developer.squareup.com/docs/oauth-api/square-permissions;
# squareup's OAuthPermission enum names them). README "Square OAuth" lists them with their flows.
SCOPES: tuple[str, ...] = (
    "MERCHANT_PROFILE_READ",  # ListLocations: the owner picks the location
    "ORDERS_READ",  # RetrieveOrder, SearchOrders (Flows 2, 3, reconciliation); order webhooks
    "ORDERS_WRITE",  # CreateOrder, UpdateOrder (cancel), PayOrder (Flow 1)
    "PAYMENTS_WRITE",  # CreatePayment (external), PayOrder (Flow 1)
    "CUSTOMERS_READ",  # SearchCustomers (Flow 1: the buyer)
    "CUSTOMERS_WRITE",  # CreateCustomer (Flow 1)
    "ITEMS_READ",  # SearchCatalogObjects, BatchRetrieveCatalogObjects (Flows 4, 5; catalog lines of Flow 1)
    "INVENTORY_READ",  # BatchRetrieveInventoryCounts (Flows 4, 5: sold out)
)


APP_SECRET_MAX_AGE_S = 300

# Square: OAuth access tokens expire after 30 days; refresh every 7 days or sooner; alert on a token older than 8 days
# (developer.squareup.com/docs/oauth-api/refresh-revoke-limit-scope). A daily schedule refreshing at 6 days keeps each
# token between 6 and 7 days old; the page shows one expiring within 7 days as `expiring`.
TOKEN_POLICY = TokenPolicy(
    refresh_after=timedelta(days=6), age_alarm=timedelta(days=8), expiring_within=timedelta(days=7)
)


@dataclass(frozen=True)
class SquareApp:
    """The Square application (Developer Console > OAuth): its id and secret, and its webhook subscription's
    signature key (an OAuth application's subscription signs every authorized seller's events)."""

    application_id: str
    application_secret: SecretStr
    webhook_signature_key: SecretStr

    def __repr__(self) -> str:  # never the secret
        return f"SquareApp(application_id={self.application_id!r})"

    @classmethod
    def from_secret(cls, secret_name: str) -> SquareApp:
        """The stack's Square application secret (JSON {applicationId, applicationSecret, webhookSignatureKey});
        PermanentError `pos_oauth_not_configured` while the deploy left them empty."""
        # Powertools' parameters (boto3's Secrets Manager) only where a connection is made: the registry, which the
        # webhook ack paths load, imports this module
        from aws_lambda_powertools.utilities import parameters
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

        try:
            value = parameters.get_secret(secret_name, transform="json", max_age=APP_SECRET_MAX_AGE_S)
        except (GetParameterError, TransformParameterError) as exc:
            raise TransientError("the Square application secret cannot be read now") from exc
        fields = value if isinstance(value, dict) else {}
        app_id, secret = str(fields.get("applicationId") or ""), str(fields.get("applicationSecret") or "")
        if not app_id or not secret:
            raise PermanentError("pos_oauth_not_configured", "the Square application id and secret are not set")
        return cls(app_id, SecretStr(secret), SecretStr(str(fields.get("webhookSignatureKey") or "")))


@dataclass(frozen=True)
class TokenStatus:
    scopes: tuple[str, ...]
    expires_at: datetime | None
    merchant_id: str


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class SquareOAuth:
    def __init__(
        self,
        base_url: str,
        app: SquareApp,
        http: httpx.Client | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._app = app
        self._http = http or httpx.Client()
        self._retrier = Retrier("Square", max_attempts, sleep, log)

    def __repr__(self) -> str:
        return f"SquareOAuth(base_url={self._base_url!r}, app={self._app!r})"

    def authorize_url(self, state: str, scopes: tuple[str, ...] = SCOPES) -> str:
        """Where the owner approves. `session=false`: the owner signs in to Square rather than reusing whoever is
        signed in on that browser (Square's advice for production; no effect in Square's sandbox)."""
        query = urlencode(
            {"client_id": self._app.application_id, "scope": " ".join(scopes), "session": "false", "state": state}
        )
        return f"{self._base_url}/oauth2/authorize?{query}"

    def obtain_token(self, code: str) -> TokenGrant:
        body = {
            "client_id": self._app.application_id,
            "client_secret": self._app.application_secret.get_secret_value(),
            "grant_type": "authorization_code",
            "code": code,
        }
        return _grant(self._post("/oauth2/token", body, {}))

    def refresh(self, refresh_token: str) -> TokenGrant:
        body = {
            "client_id": self._app.application_id,
            "client_secret": self._app.application_secret.get_secret_value(),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        return _grant(self._post("/oauth2/token", body, {}))

    def revoke(self, merchant_id: str) -> bool:
        body = {"client_id": self._app.application_id, "merchant_id": merchant_id}
        secret = self._app.application_secret.get_secret_value()
        return bool(self._post("/oauth2/revoke", body, {"Authorization": f"Client {secret}"}).get("success"))

    def token_status(self, access_token: str) -> TokenStatus:
        answer = self._post("/oauth2/token/status", None, {"Authorization": f"Bearer {access_token}"})
        expires = answer.get("expires_at")
        return TokenStatus(
            tuple(answer.get("scopes") or ()), parse_time(expires) if expires else None, str(answer.get("merchant_id"))
        )

    def _post(self, path: str, body: dict[str, Any] | None, auth: dict[str, str]) -> dict[str, Any]:
        content = encode_json(body)
        headers = {"Square-Version": SQUARE_VERSION, "Accept": "application/json", **auth}
        if content is not None:
            headers["Content-Type"] = "application/json"
        url = f"{self._base_url}{path}"
        response = self._retrier.run(
            "POST",
            path,
            lambda: send(self._http, "POST", url, content=content, headers=headers, timeout=DEFAULT_TIMEOUT),
            permanent=lambda answer: _permanent(answer, "POST", path),
        )
        return json_object(response, "Square", "POST", path)


def _grant(answer: dict[str, Any]) -> TokenGrant:
    try:
        return TokenGrant(
            access_token=SecretStr(str(answer["access_token"])),
            refresh_token=SecretStr(str(answer["refresh_token"])),
            expires_at=parse_time(str(answer["expires_at"])),
            merchant_id=str(answer["merchant_id"]),
        )
    except (KeyError, ValueError):
        raise TransientError("Square ObtainToken answered without a token, its expiry or the merchant") from None


class SquareLocations:
    """ListLocations (`GET /v2/locations`, squareup `locations/raw_client.py` `list`; MERCHANT_PROFILE_READ)."""

    def __init__(self, base_url: str, http: httpx.Client | None = None) -> None:
        self._base_url = base_url
        self._http = http

    def locations(self, access_token: str) -> list[PosLocation]:
        with SquareClient(self._base_url, access_token, http=self._http) as client:
            answer = client.get("/v2/locations")
        return [
            PosLocation(str(loc["id"]), str(loc.get("name") or loc["id"]), str(loc.get("status") or ""))
            for loc in answer.get("locations") or []
            if isinstance(loc, dict) and loc.get("id")
        ]


class SquareConnector:
    """Square as the OAuth flow's connector (ports/oauth.py OAuthConnector): the application's OAuth calls, the
    seller's locations (Square's LocationStatus is ACTIVE | INACTIVE, as PosLocation.status wants) and its webhook
    signature key."""

    provider = PROVIDER

    def __init__(self, base_url: str, app: SquareApp, http: httpx.Client | None = None) -> None:
        self._oauth = SquareOAuth(base_url, app, http=http)
        self._locations = SquareLocations(base_url, http=http)
        self._app = app

    def __repr__(self) -> str:
        return f"SquareConnector({self._oauth!r})"

    @property
    def webhook_signature_key(self) -> SecretStr:
        return self._app.webhook_signature_key

    def authorize_url(self, state: str) -> str:
        return self._oauth.authorize_url(state)

    def obtain_token(self, code: str) -> TokenGrant:
        return self._oauth.obtain_token(code)

    def refresh(self, refresh_token: str) -> TokenGrant:
        return self._oauth.refresh(refresh_token)

    def revoke(self, merchant_id: str) -> bool:
        return self._oauth.revoke(merchant_id)

    def locations(self, access_token: str) -> list[PosLocation]:
        return self._locations.locations(access_token)
