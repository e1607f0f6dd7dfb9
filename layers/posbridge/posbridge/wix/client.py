"""A JSON client for the Wix REST APIs: OAuth client-credentials tokens, a shared rate limit, bounded retries.

wix-api.md section 4:
- Tokens: `POST /oauth2/token` with client_credentials and the instance id, minted here and kept by a TokenCache
  (wix/tokens.py); when Wix answers 401 the token is forgotten and the request is retried once with a new one.
- Rate limit: a RateLimiter slot (wix/rate_limit.py) is taken before every attempt, token mints included.
- Errors: 429, 5xx and transport failures are retried (posbridge.http_retry, shared with the Square client), then
  TransientError; any other 4xx is a WixApiError or WixConflict (wix/errors.py).

Neither the app secret nor a token ever appears in a repr, a log record or an exception: failures carry Wix's
error body (never our request body) and the class of a transport failure, never the httpx exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from posbridge.errors import PermanentError, TransientError
from posbridge.http_retry import DEFAULT_TIMEOUT, Outcome, Retrier, encode_json, json_object, send
from posbridge.wix.errors import describe_answer, wix_error
from posbridge.wix.rate_limit import DynamoRateLimiter, RateLimiter
from posbridge.wix.tokens import TokenCache, TokenKey

if TYPE_CHECKING:
    from posbridge.config import WixApiSettings

TOKEN_PATH = "/oauth2/token"
APP_SECRET_MAX_AGE_S = 300  # a rotated app secret is picked up within five minutes

log = logging.getLogger(__name__)


# --- The client -------------------------------------------------------------------------------------------------------


class WixClient:
    """The Wix REST APIs as one app instance (tenant). Thread-safe as far as httpx.Client is."""

    def __init__(
        self,
        base_url: str,
        app_id: str,
        app_secret: str,
        instance_id: str,
        *,
        tokens: TokenCache,
        limiter: RateLimiter,
        http: httpx.Client | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._retrier = Retrier("Wix", max_attempts, sleep, log)  # raises on max_attempts < 1
        self._one_attempt = Retrier("Wix", 1, sleep, log)
        if not app_secret.strip():
            raise ValueError("app_secret must not be empty")
        if not instance_id.strip():
            raise ValueError("instance_id must not be empty")
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._instance_id = instance_id
        self._key = TokenKey(self._base_url, app_id, instance_id)
        self._tokens = tokens
        self._limiter = limiter
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._timeout = timeout

    def __repr__(self) -> str:  # never the secret or a token
        return f"WixClient(base_url={self._base_url!r}, app_id={self._app_id!r}, instance_id={self._instance_id!r})"

    @property
    def instance_id(self) -> str:
        return self._instance_id

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> WixClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.request("POST", path, body if body is not None else {})

    def post_once(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A create Wix cannot deduplicate: sent once (a 401 is still retried with a fresh token: Wix refused it
        unread). A timeout, a 5xx or a 429 is a TransientError for the caller to resolve, e.g. by searching for what
        the lost attempt may have created before trying again."""
        return self.request("POST", path, body, once=True)

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", path, body)

    def delete(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.request("DELETE", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        *,
        once: bool = False,
    ) -> dict[str, Any]:
        """Wix's JSON answer (an empty body reads as {}). Raises WixApiError / WixConflict or TransientError."""
        content = encode_json(body)  # once: every attempt sends these bytes
        url = f"{self._base_url}{path}"
        refreshed = False

        def attempt() -> Outcome:
            nonlocal refreshed
            outcome = self._send_as_app(method, url, content, params)
            if isinstance(outcome, httpx.Response) and outcome.status_code == 401 and not refreshed:
                # Expired or revoked: forget the token, mint another and retry this attempt once.
                refreshed = True
                stale = outcome.request.headers.get("Authorization")
                self._tokens.invalidate(self._instance_id, token=stale)
                outcome = self._send_as_app(method, url, content, params)
            return outcome

        retrier = self._one_attempt if once else self._retrier
        response = retrier.run(
            method, path, attempt, permanent=lambda answer: wix_error(answer, method, path), describe=describe_answer
        )
        return json_object(response, "Wix", method, path, empty_is_object=True)

    def _send_as_app(self, method: str, url: str, content: bytes | None, params: dict[str, Any] | None) -> Outcome:
        token = self._tokens.token(self._key, self._mint)
        self._limiter.acquire(self._instance_id)
        headers = {"Authorization": token, "Accept": "application/json"}  # the raw token, as @wix/sdk sends it
        if content is not None:
            headers["Content-Type"] = "application/json"
        return send(self._http, method, url, content=content, headers=headers, timeout=self._timeout, params=params)

    def _mint(self) -> tuple[str, float]:
        """POST /oauth2/token (client credentials), with the same retries and rate limit as any call."""
        content = encode_json(
            {
                "grant_type": "client_credentials",
                "client_id": self._app_id,
                "client_secret": self._app_secret,
                "instance_id": self._instance_id,
            }
        )
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        url = f"{self._base_url}{TOKEN_PATH}"

        def attempt() -> Outcome:
            self._limiter.acquire(self._instance_id)
            return send(self._http, "POST", url, content=content, headers=headers, timeout=self._timeout)

        response = self._retrier.run(
            "POST", TOKEN_PATH, attempt, permanent=lambda answer: wix_error(answer, "POST", TOKEN_PATH),
            describe=describe_answer,
        )  # fmt: skip
        payload = json_object(response, "Wix", "POST", TOKEN_PATH)
        token, expires_in = payload.get("access_token"), payload.get("expires_in")
        if not isinstance(token, str) or not token or isinstance(expires_in, bool):
            raise TransientError("Wix POST /oauth2/token answered without an access token")
        if not isinstance(expires_in, int | float) or expires_in <= 0:
            raise TransientError("Wix POST /oauth2/token answered without a positive expires_in")
        return token, float(expires_in)


# --- Factory ----------------------------------------------------------------------------------------------------------


class WixClients:
    """One per process: a WixClient per instance, sharing the token cache, the rate limiter and one httpx.Client.

    The app secret is read from Secrets Manager through Powertools' cache, so it costs one call per five minutes.
    """

    def __init__(
        self,
        base_url: str,
        app_id: str,
        app_secret_name: str,
        limiter: RateLimiter,
        *,
        tokens: TokenCache | None = None,
        http: httpx.Client | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._base_url = base_url
        self._app_id = app_id
        self._app_secret_name = app_secret_name
        self._limiter = limiter
        self._tokens = tokens or TokenCache()
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: WixApiSettings, **options: Any) -> WixClients:
        """Clients with the shared DynamoDB rate limit in the mappings table (options: tokens, http, sleep, ...)."""
        limiter = DynamoRateLimiter(settings.mappings_table)
        return cls(settings.wix_api_base_url, settings.wix_app_id, settings.wix_app_secret_name, limiter, **options)

    def __repr__(self) -> str:
        return f"WixClients(base_url={self._base_url!r}, app_id={self._app_id!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> WixClients:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def for_instance(self, instance_id: str) -> WixClient:
        return WixClient(
            self._base_url,
            self._app_id,
            self._app_secret(),
            instance_id,
            tokens=self._tokens,
            limiter=self._limiter,
            http=self._http,
            max_attempts=self._max_attempts,
            sleep=self._sleep,
            timeout=self._timeout,
        )

    def _app_secret(self) -> str:
        try:
            value = parameters.get_secret(self._app_secret_name, max_age=APP_SECRET_MAX_AGE_S)
        except GetParameterError as exc:
            if "ResourceNotFoundException" in str(exc):
                raise PermanentError("missing_wix_app_secret", "the Wix app secret is not in Secrets Manager") from exc
            raise TransientError("Secrets Manager unavailable for the Wix app secret") from exc
        if isinstance(value, bytes):
            value = value.decode()
        if not isinstance(value, str) or not value.strip():
            raise PermanentError("invalid_wix_app_secret", "the Wix app secret in Secrets Manager is empty")
        return value
