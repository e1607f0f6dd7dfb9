"""A JSON client for the Wix REST APIs: OAuth client-credentials tokens, a shared rate limit, bounded retries.

wix-api.md section 4:
- Tokens: `POST /oauth2/token` with client_credentials and the instance id; they last 4 h, there is no refresh
  token. TokenCache keeps one per (base_url, app_id, instance_id) for the whole process and mints a new one
  5 minutes before the old one runs out, or when Wix answers 401 (then the request is retried once).
- Rate limit: about 200 requests/minute per app instance, across every function of the bridge. A RateLimiter slot is
  taken before every attempt (token mints included); DynamoRateLimiter shares the budget through the mappings table.
- Errors: `{message, details: {applicationError: {code, ...} | validationError: {fieldViolations: [...]}}}`.
  429, 5xx and transport failures are retried (posbridge.http_retry, shared with the Square client), then
  TransientError; any other 4xx is a WixApiError (409: WixConflict, so callers can re-read the revision and retry).

Neither the app secret nor a token ever appears in a repr, a log record or an exception: failures carry Wix's
error body (never our request body) and the class of a transport failure, never the httpx exception.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from posbridge import deadline
from posbridge.errors import PermanentError, RateLimited, TransientError
from posbridge.http_retry import DEFAULT_TIMEOUT, MIN_ATTEMPT_S, Outcome, Retrier, encode_json, json_object, send

if TYPE_CHECKING:
    from posbridge.config import WixApiSettings

TOKEN_PATH = "/oauth2/token"
TOKEN_REFRESH_MARGIN_S = 300.0  # a token is replaced 5 minutes before Wix would reject it
APP_SECRET_MAX_AGE_S = 300  # a rotated app secret is picked up within five minutes
RATE_LIMIT_PER_MINUTE = 180  # Wix allows ~200/min/instance; the rest is margin for clock skew and in-flight requests
RATE_LIMIT_MAX_WAIT_S = 120.0

log = logging.getLogger(__name__)


# --- Errors -----------------------------------------------------------------------------------------------------------


class WixApiError(PermanentError):
    """A 4xx other than 429 (after the one token refresh for a 401): the request cannot succeed as it is.

    `code` is Wix's `details.applicationError.code`, `VALIDATION_ERROR` for a `details.validationError` body, else
    `HTTP_<status>`; `body` is Wix's error body, for recording (never a request body, never a credential).
    """

    def __init__(self, status: int, code: str, body: dict[str, Any], message: str) -> None:
        details: dict[str, object] = {"status": status, "code": code}
        fields = _violation_fields(body)
        if fields:
            details["fields"] = fields
        super().__init__(reason=f"wix_{code.lower()}", message=message, details=details)
        self.status = status
        self.code = code
        self.body = body


class WixConflict(WixApiError):
    """409: a stale `revision` or an entity that already exists. Re-read the entity, then retry with its revision."""


def _violation_fields(body: dict[str, Any]) -> list[str]:
    violations = ((body.get("details") or {}).get("validationError") or {}).get("fieldViolations")
    if not isinstance(violations, list):
        return []
    return [str(v.get("field")) for v in violations if isinstance(v, dict) and v.get("field")]


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def wix_error(response: httpx.Response, method: str, path: str) -> WixApiError:
    """The WixApiError (or WixConflict) for a non-retryable answer; the message names no value, only the code."""
    body = _error_body(response)
    details = body.get("details")
    details = details if isinstance(details, dict) else {}
    application = details.get("applicationError")
    code = ""
    if isinstance(application, dict) and application.get("code"):
        code = str(application["code"])
    elif isinstance(details.get("validationError"), dict):
        code = "VALIDATION_ERROR"
    code = code or f"HTTP_{response.status_code}"
    message = f"Wix {method} {path} answered {response.status_code} {code}"
    kind = WixConflict if response.status_code == 409 else WixApiError
    return kind(response.status_code, code, body, message)


def _describe(response: httpx.Response) -> str:
    application = (_error_body(response).get("details") or {}).get("applicationError") or {}
    code = application.get("code", "") if isinstance(application, dict) else ""
    return f"HTTP {response.status_code} {code}".strip()


# --- Tokens -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenKey:
    base_url: str
    app_id: str
    instance_id: str


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # on the cache's clock

    def __repr__(self) -> str:  # never the token
        return f"_Token(refresh_at={self.refresh_at!r})"


class TokenCache:
    """Process-wide, thread-safe access tokens per (base_url, app_id, instance_id).

    A token is reused until `margin_s` before its `expires_in` runs out. Concurrent callers for one key wait for a
    single mint instead of each minting their own. Share one instance per process (module scope in a handler).
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, margin_s: float = TOKEN_REFRESH_MARGIN_S
    ) -> None:
        self._clock = clock
        self._margin_s = margin_s
        self._tokens: dict[TokenKey, _Token] = {}
        self._lock = threading.Lock()
        self._mint_locks: dict[TokenKey, threading.Lock] = {}

    def __repr__(self) -> str:  # never a token
        with self._lock:
            return f"TokenCache(cached={len(self._tokens)})"

    def token(self, key: TokenKey, mint: Callable[[], tuple[str, float]]) -> str:
        """The cached token for `key`, or a new one from `mint() -> (access_token, expires_in seconds)`."""
        cached = self._fresh(key)
        if cached is not None:
            return cached
        with self._lock:
            mint_lock = self._mint_locks.setdefault(key, threading.Lock())
        with mint_lock:
            cached = self._fresh(key)  # another thread may have minted while this one waited
            if cached is not None:
                return cached
            started = self._clock()
            value, expires_in = mint()
            with self._lock:
                self._tokens[key] = _Token(value, started + max(0.0, expires_in - self._margin_s))
            return value

    def invalidate(self, instance_id: str, *, token: str | None = None) -> None:
        """Forget the instance's tokens (all of them, or only `token`, the one Wix just refused)."""
        with self._lock:
            for key in [k for k, t in self._tokens.items() if k.instance_id == instance_id]:
                if token is None or self._tokens[key].value == token:
                    del self._tokens[key]

    def _fresh(self, key: TokenKey) -> str | None:
        with self._lock:
            cached = self._tokens.get(key)
            return cached.value if cached is not None and self._clock() < cached.refresh_at else None


# --- Rate limits ------------------------------------------------------------------------------------------------------


class RateLimiter(Protocol):
    def acquire(self, instance_id: str) -> None:
        """Return once one more request to Wix for this instance fits the budget (may sleep)."""


class NoRateLimit:
    """For tests and tools that talk to a sandbox without a limit."""

    def acquire(self, instance_id: str) -> None:
        return None


class DynamoRateLimiter:
    """A fixed-window counter per instance per minute in the mappings table, shared by every function and process.

    Item: PK `RATELIMIT#<instanceId>`, SK `<epoch minute>`, `count` (ADD 1 under the condition `count < limit`),
    `expires_at` (epoch seconds, the table's TTL attribute: one minute after the window closes). When the window is
    full the caller sleeps until the next minute and tries again, unless that wait would pass `max_wait_s` or the
    invocation's deadline (posbridge/deadline.py): then it raises RateLimited with the seconds until the next window,
    so the message goes back to its queue for that long rather than a Lambda sleeping past its timeout.

    A fixed window admits up to 2 x limit within a 60 s span straddling a boundary; if Wix counts a rolling minute,
    such a burst can still draw a 429, which the client retries. 180 of 200 also leaves room for clock skew between
    functions and requests granted just before a boundary that reach Wix just after it.
    """

    def __init__(
        self,
        table_name: str,
        limit_per_minute: int = RATE_LIMIT_PER_MINUTE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        *,
        max_wait_s: float = RATE_LIMIT_MAX_WAIT_S,
        dynamodb: Any = None,
    ) -> None:
        if limit_per_minute < 1:
            raise ValueError("limit_per_minute must be at least 1")
        self._table_name = table_name
        self._limit = limit_per_minute
        self._sleep = sleep
        self._clock = clock
        self._max_wait_s = max_wait_s
        self._injected_dynamodb = dynamodb

    def __repr__(self) -> str:
        return f"DynamoRateLimiter(table_name={self._table_name!r}, limit_per_minute={self._limit})"

    @cached_property
    def _dynamodb(self) -> Any:
        if self._injected_dynamodb is not None:
            return self._injected_dynamodb
        import boto3  # imported late: cold starts that never build a limiter skip it

        return boto3.client("dynamodb")

    def acquire(self, instance_id: str) -> None:
        waited = 0.0
        while True:
            now = self._clock()
            minute = int(now // 60)
            if self._take(instance_id, minute):
                return
            delay = max(0.0, (minute + 1) * 60 - now)
            bound = deadline.current()
            if waited + delay > self._max_wait_s or (bound is not None and delay + MIN_ATTEMPT_S > bound.remaining()):
                # The message comes back when the next window opens (the queue waits, not a Lambda).
                raise RateLimited(f"Wix rate limit for instance {instance_id}: the window is full", delay)
            log.info("wix rate limit window full, waiting", extra={"instance_id": instance_id, "delay": delay})
            self._sleep(delay)
            waited += delay

    def _take(self, instance_id: str, minute: int) -> bool:
        """One slot in the window, atomically across every caller; False when the window is full."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._dynamodb.update_item(
                TableName=self._table_name,
                Key={"PK": {"S": f"RATELIMIT#{instance_id}"}, "SK": {"S": str(minute)}},
                UpdateExpression="ADD #count :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self._limit)},
                    ":expires": {"N": str((minute + 2) * 60)},
                },
            )
            return True
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                return False
            raise TransientError(f"rate limiter table unavailable: {code}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"rate limiter table unavailable: {type(exc).__name__}") from exc


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
            method, path, attempt, permanent=lambda answer: wix_error(answer, method, path), describe=_describe
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
            describe=_describe,
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
