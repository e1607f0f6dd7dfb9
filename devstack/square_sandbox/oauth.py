"""Square OAuth in the sandbox (squareup 46 `square/o_auth/raw_client.py`; developer.squareup.com/docs/oauth-api/
overview, .../refresh-revoke-limit-scope, .../square-permissions), strictly:

- `GET /oauth2/authorize?client_id&scope&session&state`: the seller signed in to the sandbox's dashboard (control API
  `PUT /_sandbox/oauth/signed-in`) approves at once: 302 to the application's registered Redirect URL with `code` and
  `state` (an unknown client_id or scope is 400, and no seller signed in is 401; Square shows a sign-in page there).
  A code is single use and lives 5 minutes.
- `POST /oauth2/token`: `authorization_code` (client_id, client_secret, code) or `refresh_token` (client_id,
  client_secret, refresh_token) -> ObtainTokenResponse. Access tokens live 30 days (24 h with short_lived); the code
  flow's refresh token is multi-use, never expires and comes back unchanged.
- `POST /oauth2/revoke` with `Authorization: Client <secret>` {client_id, merchant_id | access_token}: every token of
  the seller for that application is revoked and `oauth.authorization.revoked` (revoker APPLICATION) is sent to the
  application's webhook subscription. `POST /_sandbox/oauth/revoke` does the same as the seller would in the Square
  Dashboard (revoker MERCHANT).
- `POST /oauth2/token/status` with the bearer token -> RetrieveTokenStatusResponse.
- An OAuth token then authorizes /v2 calls of its seller while it is neither expired nor revoked (401
  ACCESS_TOKEN_EXPIRED / ACCESS_TOKEN_REVOKED) and only within its scopes (403 INSUFFICIENT_SCOPES).
- Expiry follows the sandbox's clock: `POST /_sandbox/clock {"advanceSeconds": n}` moves it forward.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from devstack.square_sandbox.errors import AUTHENTICATION, INVALID_REQUEST, SquareError, bad_request
from devstack.square_sandbox.state import format_time

CODE_TTL = timedelta(minutes=5)
TOKEN_TTL = timedelta(days=30)
SHORT_TOKEN_TTL = timedelta(hours=24)

# squareup 46 square/types/o_auth_permission.py lists the values; the sandbox knows the ones its routes need, plus
# the defaults Square grants without `scope`.
KNOWN_SCOPES = frozenset(
    {
        "MERCHANT_PROFILE_READ",
        "PAYMENTS_READ",
        "PAYMENTS_WRITE",
        "SETTLEMENTS_READ",
        "BANK_ACCOUNTS_READ",
        "ORDERS_READ",
        "ORDERS_WRITE",
        "CUSTOMERS_READ",
        "CUSTOMERS_WRITE",
        "ITEMS_READ",
        "ITEMS_WRITE",
        "INVENTORY_READ",
        "INVENTORY_WRITE",
        "EMPLOYEES_READ",
    }
)
# AuthorizeOAuthParameters: "Default: MerchantProfileRead PaymentsRead SettlementsRead BankAccountsRead"
DEFAULT_SCOPES = ("MERCHANT_PROFILE_READ", "PAYMENTS_READ", "SETTLEMENTS_READ", "BANK_ACCOUNTS_READ")

# The scopes each served route needs (developer.squareup.com/docs/oauth-api/square-permissions). CalculateOrder is not
# listed there: it is not checked.
ROUTE_SCOPES: dict[str, tuple[str, ...]] = {
    "GET /v2/locations": ("MERCHANT_PROFILE_READ",),
    "GET /v2/catalog/list": ("ITEMS_READ",),
    "POST /v2/catalog/search": ("ITEMS_READ",),
    "POST /v2/catalog/batch-retrieve": ("ITEMS_READ",),
    "POST /v2/catalog/batch-upsert": ("ITEMS_WRITE",),
    "POST /v2/catalog/batch-delete": ("ITEMS_WRITE",),
    "POST /v2/inventory/counts/batch-retrieve": ("INVENTORY_READ",),
    "POST /v2/orders": ("ORDERS_WRITE",),
    "POST /v2/orders/batch-retrieve": ("ORDERS_READ",),
    "POST /v2/orders/search": ("ORDERS_READ",),
    "GET /v2/orders/{order_id}": ("ORDERS_READ",),
    "PUT /v2/orders/{order_id}": ("ORDERS_WRITE",),
    "POST /v2/orders/{order_id}/pay": ("ORDERS_WRITE", "PAYMENTS_WRITE"),
    "POST /v2/payments": ("PAYMENTS_WRITE",),
    "GET /v2/payments/{payment_id}": ("PAYMENTS_READ",),
    "POST /v2/refunds": ("PAYMENTS_WRITE",),
    "GET /v2/refunds/{refund_id}": ("PAYMENTS_READ",),
    "POST /v2/customers": ("CUSTOMERS_WRITE",),
    "POST /v2/customers/search": ("CUSTOMERS_READ",),
    "GET /v2/customers/{customer_id}": ("CUSTOMERS_READ",),
}


def _unauthorized(code: str, detail: str) -> SquareError:
    return SquareError(401, AUTHENTICATION, code, detail)


@dataclass
class Application:
    application_id: str
    application_secret: str
    redirect_url: str
    notification_url: str | None = None  # the application's webhook subscription
    signature_key: str = ""


@dataclass
class Grant:
    """One seller's authorization of one application: its refresh token and its access tokens."""

    application_id: str
    merchant_id: str
    scopes: tuple[str, ...]
    refresh_token: str
    revoked: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: datetime


@dataclass
class Code:
    application_id: str
    merchant_id: str
    scopes: tuple[str, ...]
    expires_at: datetime
    used: bool = False


@dataclass
class OAuthState:
    applications: dict[str, Application] = field(default_factory=dict)
    signed_in: str | None = None  # the seller signed in to the sandbox's Seller Dashboard
    clock_offset: timedelta = timedelta(0)
    codes: dict[str, Code] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    # ---- /oauth2 -------------------------------------------------------------------------------------------------

    def authorize(self, args: dict[str, str], merchants: set[str]) -> str:
        """The Redirect URL with code and state (raises SquareError)."""
        app = self.applications.get(args.get("client_id", ""))
        if app is None:
            raise bad_request("INVALID_VALUE", "Unknown client_id.", "client_id")
        requested = tuple(args["scope"].split(" ")) if args.get("scope") else DEFAULT_SCOPES
        unknown = [s for s in requested if s not in KNOWN_SCOPES]
        if unknown:
            raise bad_request("INVALID_VALUE", f"Unknown scope {unknown[0]}.", "scope")
        if self.signed_in is None or self.signed_in not in merchants:
            raise _unauthorized("UNAUTHORIZED", "No seller is signed in to approve this application.")
        code = "sandbox-sq0cgb-" + secrets.token_urlsafe(24)
        self.codes[code] = Code(app.application_id, self.signed_in, requested, self.now() + CODE_TTL)
        query = {"code": code} | ({"state": args["state"]} if "state" in args else {})
        return f"{app.redirect_url}?{urlencode(query)}"

    def obtain_token(self, body: dict[str, Any]) -> dict[str, Any]:
        app = self._client(body.get("client_id"), body.get("client_secret"))
        grant_type = body.get("grant_type")
        ttl = SHORT_TOKEN_TTL if body.get("short_lived") is True else TOKEN_TTL
        if grant_type == "authorization_code":
            code = self.codes.get(str(body.get("code") or ""))
            if code is None or code.application_id != app.application_id:
                raise _unauthorized("UNAUTHORIZED", "Invalid authorization code.")
            if code.used:
                raise _unauthorized("UNAUTHORIZED", "Authorization code is already redeemed.")
            if self.now() > code.expires_at:
                raise _unauthorized("UNAUTHORIZED", "Authorization code is expired.")
            code.used = True
            # A new authorization leaves earlier tokens valid: RevokeToken's doc says an account may hold "more than one
            # OAuth access token for your application" (and revokes them all).
            grant = Grant(app.application_id, code.merchant_id, code.scopes, "EQAAE" + secrets.token_urlsafe(40))
            self.grants.append(grant)
        elif grant_type == "refresh_token":
            found = next((g for g in self.grants if g.refresh_token == body.get("refresh_token")), None)
            if found is None or found.application_id != app.application_id:
                raise _unauthorized("UNAUTHORIZED", "Invalid refresh token.")
            if found.revoked:
                raise _unauthorized("ACCESS_TOKEN_REVOKED", "The authorization was revoked.")
            grant = found
        else:
            raise bad_request("INVALID_VALUE", "grant_type must be authorization_code or refresh_token.", "grant_type")
        token = "EAAAl" + secrets.token_urlsafe(48)
        expires_at = self.now() + ttl
        self.tokens[token] = AccessToken(grant, expires_at)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_at": _rfc3339(expires_at),
            "merchant_id": grant.merchant_id,
            "refresh_token": grant.refresh_token,
            "short_lived": ttl == SHORT_TOKEN_TTL,
        }

    def revoke(self, authorization: str | None, body: dict[str, Any]) -> tuple[dict[str, Any], Grant | None]:
        app = self.applications.get(str(body.get("client_id") or ""))
        if (
            app is None
            or authorization is None
            or not secrets.compare_digest(authorization.encode(), f"Client {app.application_secret}".encode())
        ):
            raise _unauthorized("UNAUTHORIZED", "The `Authorization` header must be `Client APPLICATION_SECRET`.")
        merchant_id, access_token = body.get("merchant_id"), body.get("access_token")
        if (merchant_id is None) == (access_token is None):
            # squareup 46 o_auth revoke_token: "Do not provide a value for `merchant_id` if you provide this parameter";
            # Square documents no code for it, so the generic one of squareup's ErrorCode enum
            raise bad_request("BAD_REQUEST", "Provide exactly one of merchant_id and access_token.")
        if access_token is not None:
            held = self.tokens.get(str(access_token))
            merchant_id = held.grant.merchant_id if held else None
        active = [
            g
            for g in self.grants
            if g.application_id == app.application_id and g.merchant_id == merchant_id and not g.revoked
        ]
        if not active:
            raise bad_request("NOT_FOUND", "No authorization of this application for that seller.")
        for grant in active:
            grant.revoked = True
        return {"success": True}, active[-1]

    def token_status(self, token: str) -> dict[str, Any]:
        held = self.tokens.get(token)
        if held is None:
            raise _unauthorized("UNAUTHORIZED", "This request could not be authorized.")
        self.check(held)
        return {
            "scopes": list(held.grant.scopes),
            "expires_at": _rfc3339(held.expires_at),
            "client_id": held.grant.application_id,
            "merchant_id": held.grant.merchant_id,
        }

    # ---- /v2 authorization -----------------------------------------------------------------------------------------

    def check(self, held: AccessToken, route: str | None = None) -> None:
        if held.grant.revoked:
            raise _unauthorized("ACCESS_TOKEN_REVOKED", "The access token has been revoked.")
        if self.now() >= held.expires_at:
            raise _unauthorized("ACCESS_TOKEN_EXPIRED", "The access token has expired.")
        needed = ROUTE_SCOPES.get(route or "", ())
        missing = [s for s in needed if s not in held.grant.scopes]
        if missing:
            raise SquareError(
                403,
                "AUTHENTICATION_ERROR",
                "INSUFFICIENT_SCOPES",
                f"The merchant has not given your application sufficient permissions ({', '.join(missing)}).",
            )

    def _client(self, client_id: Any, client_secret: Any) -> Application:
        app = self.applications.get(str(client_id or ""))
        if (
            app is None
            or not isinstance(client_secret, str)
            or not secrets.compare_digest(client_secret.encode(), app.application_secret.encode())
        ):
            raise _unauthorized("UNAUTHORIZED", "Invalid client_id or client_secret.")
        return app


def revocation_object(revoker: str, revoked_at: datetime) -> dict[str, Any]:
    """squareup OauthAuthorizationRevokedEventObject."""
    return {"revocation": {"revoked_at": format_time(revoked_at), "revoker_type": revoker}}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["INVALID_REQUEST", "Application", "OAuthState", "revocation_object"]
