"""Square OAuth against the official SDK (squareup 46): the adapter's requests are the SDK's, the sandbox's answers and
its oauth.authorization.revoked webhook fit the SDK's types, and the SDK's own client completes the flow on the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from square.client import Square
from square.core.api_error import ApiError
from square.types.list_locations_response import ListLocationsResponse
from square.types.oauth_authorization_revoked_event import OauthAuthorizationRevokedEvent
from square.types.obtain_token_response import ObtainTokenResponse
from square.types.retrieve_token_status_response import RetrieveTokenStatusResponse
from square.types.revoke_token_response import RevokeTokenResponse

from devstack.square_sandbox.sdk_schema import check
from posbridge.domain.pos_oauth import TokenGrant
from posbridge.errors import PermanentError
from posbridge.pos.square.oauth import SCOPES, SquareApp, SquareLocations, SquareOAuth
from tests.contracts.square_types import SANDBOX_URL, RecordingTransport, SandboxSeller, sdk_request

pytestmark = pytest.mark.contracts

APP_ID, APP_SECRET = "sandbox-sq0idb-contract", "sandbox-sq0csb-contract-secret"
REDIRECT = "https://bridge.example/v1/oauth/square/callback"


@pytest.fixture
def seller() -> Iterator[SandboxSeller]:
    seller = SandboxSeller()
    seller.sandbox.add_application(APP_ID, APP_SECRET, REDIRECT, "https://bridge.example/hook", "app-key")
    assert seller.control.put("/_sandbox/oauth/signed-in", json={"merchantId": seller.merchant_id}).status_code == 200
    yield seller
    seller.close()


def _adapter(seller: SandboxSeller) -> tuple[SquareOAuth, RecordingTransport]:
    recording = RecordingTransport(httpx.WSGITransport(app=seller.sandbox.wsgi_app))
    app = SquareApp(APP_ID, SecretStr(APP_SECRET), SecretStr("app-key"))
    return SquareOAuth(SANDBOX_URL, app, http=httpx.Client(transport=recording), sleep=lambda _: None), recording


def _approve(seller: SandboxSeller, oauth: SquareOAuth, state: str) -> dict[str, list[str]]:
    """The owner's browser follows the authorize link; Square redirects it to the Redirect URL."""
    answer = seller.control.get(oauth.authorize_url(state).removeprefix(SANDBOX_URL))
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


def test_the_code_exchange_is_the_sdks_request_and_its_answer_fits_obtain_token_response(
    seller: SandboxSeller,
) -> None:
    # Given the owner approved on the authorize page (the minimal scopes, a state)
    oauth, recording = _adapter(seller)
    redirected = _approve(seller, oauth, "state-123")
    assert redirected["state"] == ["state-123"]
    # When the adapter exchanges the code
    grant = oauth.obtain_token(redirected["code"][0])
    # Then its request is exactly what squareup's o_auth.obtain_token sends for the same arguments
    (exchange,) = recording.exchanges
    sdk = sdk_request(
        "POST /oauth2/token",
        {},
        {
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "grant_type": "authorization_code",
            "code": redirected["code"][0],
        },
    )
    assert (exchange.method, exchange.path, exchange.body) == (sdk.method, sdk.path, sdk.body)
    # And the answer fits ObtainTokenResponse, names the merchant and the 30-day expiry
    assert check(exchange.answer, ObtainTokenResponse) == []
    assert grant.merchant_id == seller.merchant_id
    assert 29 <= (grant.expires_at - _now()).days <= 30


def test_a_refresh_is_the_sdks_request_keeps_the_refresh_token_and_gives_a_new_access_token(
    seller: SandboxSeller,
) -> None:
    # Given a connected seller
    oauth, recording = _adapter(seller)
    first = oauth.obtain_token(_approve(seller, oauth, "s")["code"][0])
    # When the adapter refreshes
    second = oauth.refresh(first.refresh_token.get_secret_value())
    # Then the request is the SDK's, the answer fits, the access token is new and the refresh token the same
    exchange = recording.exchanges[-1]
    sdk = sdk_request(
        "POST /oauth2/token",
        {},
        {
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": first.refresh_token.get_secret_value(),
        },
    )
    assert (exchange.method, exchange.path, exchange.body) == (sdk.method, sdk.path, sdk.body)
    assert check(exchange.answer, ObtainTokenResponse) == []
    assert second.access_token.get_secret_value() != first.access_token.get_secret_value()
    assert second.refresh_token.get_secret_value() == first.refresh_token.get_secret_value()


def test_token_status_and_revoke_are_the_sdks_requests_and_revoke_sends_the_revoked_event(
    seller: SandboxSeller,
) -> None:
    # Given a connected seller whose application has a webhook subscription
    oauth, recording = _adapter(seller)
    grant = oauth.obtain_token(_approve(seller, oauth, "s")["code"][0])
    # When the adapter reads the token's status, then revokes the seller's authorization
    status = oauth.token_status(grant.access_token.get_secret_value())
    assert oauth.revoke(seller.merchant_id) is True
    status_exchange, revoke_exchange = recording.exchanges[-2:]
    # Then both are the SDK's requests; the status names exactly the scopes asked for; the answers fit
    sdk_status = sdk_request("POST /oauth2/token/status", {}, {})
    assert (status_exchange.method, status_exchange.path) == (sdk_status.method, sdk_status.path)
    assert check(status_exchange.answer, RetrieveTokenStatusResponse) == []
    assert set(status.scopes) == set(SCOPES)
    sdk_revoke = sdk_request("POST /oauth2/revoke", {}, {"client_id": APP_ID, "merchant_id": seller.merchant_id})
    assert (revoke_exchange.path, revoke_exchange.body) == (sdk_revoke.path, sdk_revoke.body)
    # (the SDK's docstring: "Authorization: Client APPLICATION_SECRET")
    assert revoke_exchange.headers["authorization"] == f"Client {APP_SECRET}"
    assert check(revoke_exchange.answer, RevokeTokenResponse) == []
    # And the revoked token no longer works, and the event the sandbox sent fits OauthAuthorizationRevokedEvent
    refused = seller.control.get(
        "/v2/locations", headers={"Authorization": f"Bearer {grant.access_token.get_secret_value()}"}
    )
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (401, "ACCESS_TOKEN_REVOKED")
    [event] = [e for e in seller.state()["events"] if e["type"] == "oauth.authorization.revoked"]
    assert check(event, OauthAuthorizationRevokedEvent) == []
    assert event["data"]["object"]["revocation"]["revoker_type"] == "APPLICATION"


def test_the_sandbox_enforces_scopes_expiry_and_single_use_codes(seller: SandboxSeller) -> None:
    # Given a token granted only MERCHANT_PROFILE_READ
    oauth, _ = _adapter(seller)
    narrow = _approve_scopes(seller, oauth, ("MERCHANT_PROFILE_READ",))
    bearer = {"Authorization": f"Bearer {narrow.access_token.get_secret_value()}"}
    # Then it lists locations but may not search orders (403 INSUFFICIENT_SCOPES)
    assert seller.control.get("/v2/locations", headers=bearer).status_code == 200
    searched = seller.control.post("/v2/orders/search", headers=bearer, json={"location_ids": [seller.location_id]})
    assert (searched.status_code, searched.json()["errors"][0]["code"]) == (403, "INSUFFICIENT_SCOPES")
    # And a code is single use
    code = _approve(seller, oauth, "s")["code"][0]
    oauth.obtain_token(code)
    with pytest.raises(PermanentError, match="401 UNAUTHORIZED"):
        oauth.obtain_token(code)
    # And after 30 days on the sandbox's clock the token has expired
    seller.control.post("/_sandbox/clock", json={"advanceSeconds": 30 * 86400})
    expired = seller.control.get("/v2/locations", headers=bearer)
    assert (expired.status_code, expired.json()["errors"][0]["code"]) == (401, "ACCESS_TOKEN_EXPIRED")


def test_the_official_sdk_completes_the_code_flow_on_the_sandbox(seller: SandboxSeller) -> None:
    # Given the owner approved
    oauth, _ = _adapter(seller)
    code = _approve(seller, oauth, "s")["code"][0]
    http = httpx.Client(transport=httpx.WSGITransport(app=seller.sandbox.wsgi_app))
    client = Square(token="unused", base_url=SANDBOX_URL, httpx_client=http)
    # When squareup's own client exchanges the code and reads the token's status
    answer = client.o_auth.obtain_token(
        client_id=APP_ID, client_secret=APP_SECRET, grant_type="authorization_code", code=code
    )
    assert answer.merchant_id == seller.merchant_id and answer.access_token
    status = Square(token=answer.access_token, base_url=SANDBOX_URL, httpx_client=http).o_auth.retrieve_token_status()
    assert status.merchant_id == seller.merchant_id
    # Then a wrong client secret is refused as Square refuses it (401)
    with pytest.raises(ApiError) as refused:
        client.o_auth.obtain_token(
            client_id=APP_ID, client_secret="wrong", grant_type="refresh_token", refresh_token=answer.refresh_token
        )
    assert refused.value.status_code == 401


def _approve_scopes(seller: SandboxSeller, oauth: SquareOAuth, scopes: tuple[str, ...]) -> TokenGrant:
    answer = seller.control.get(oauth.authorize_url("s", scopes).removeprefix(SANDBOX_URL))
    return oauth.obtain_token(parse_qs(urlsplit(answer.headers["location"]).query)["code"][0])


def _now() -> datetime:
    return datetime.now(UTC)


def test_listing_locations_with_the_oauth_token_is_the_sdks_request_and_fits_its_answer(
    seller: SandboxSeller,
) -> None:
    # Given a connected seller's OAuth token
    oauth, _ = _adapter(seller)
    grant = oauth.obtain_token(_approve(seller, oauth, "s")["code"][0])
    recording = RecordingTransport(httpx.WSGITransport(app=seller.sandbox.wsgi_app))
    # When the adapter lists the seller's locations (the owner picks one)
    found = SquareLocations(SANDBOX_URL, http=httpx.Client(transport=recording)).locations(
        grant.access_token.get_secret_value()
    )
    # Then the request is squareup's locations.list, the answer fits ListLocationsResponse, the location is listed
    (exchange,) = recording.exchanges
    sdk = sdk_request("GET /v2/locations", {}, {})
    assert (exchange.method, exchange.path, exchange.query, exchange.body) == (sdk.method, sdk.path, sdk.query, None)
    assert check(exchange.answer, ListLocationsResponse) == []
    assert [(loc.id, loc.status) for loc in found] == [(seller.location_id, "ACTIVE")]
