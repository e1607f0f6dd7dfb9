"""The Wix client: tokens, retries and Wix's error model against the real Wix sandbox over HTTP, then the few
behaviours a sandbox cannot show (Retry-After, transport failures) against a mock transport.

Every sleep is injected and recorded, so retries and backoff cost no wall-clock time.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.httpserver import BackgroundServer
from devstack.wix_sandbox import WixSandbox
from posbridge import http_retry
from posbridge.config import WixApiSettings
from posbridge.errors import PermanentError, TransientError
from posbridge.wix import client as wix_client
from posbridge.wix.client import WixClient, WixClients
from posbridge.wix.errors import WixApiError, WixConflict
from posbridge.wix.rate_limit import NoRateLimit
from posbridge.wix.tokens import TokenCache, TokenKey

APP_ID = "0d9f3c1e-5b7a-4e2f-8c6d-1a2b3c4d5e6f"
APP_SECRET = "s3cr3t-app-secret-never-shown"
INSTANCE = "instance-a"
LOCATIONS = "/locations/v1/locations"
MENUS = "/restaurants/menus-menu/v1/menus"
TOKEN_ROUTE = "POST /oauth2/token"


# --- Fixtures: one HTTP server per module in front of a fresh sandbox per test ---------------------------------------


class Front:
    """Forwards to the current test's sandbox, so each test gets clean state behind the same port."""

    def __init__(self) -> None:
        self.app: Callable[..., Iterable[bytes]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def front() -> Iterator[tuple[Front, BackgroundServer]]:
    app = Front()
    with BackgroundServer(app) as server:
        yield app, server


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired: list[str] = []

    def acquire(self, instance_id: str) -> None:
        self.acquired.append(instance_id)


@dataclass
class Wix:
    """The sandbox behind HTTP, plus what the client under test did: answers seen, sleeps, request bodies."""

    url: str
    sandbox: WixSandbox
    control: httpx.Client
    http: httpx.Client
    tokens: TokenCache = field(default_factory=TokenCache)
    sleeps: list[float] = field(default_factory=list)
    answers: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status)
    bodies: list[tuple[str, bytes]] = field(default_factory=list)  # (path, request body)
    limiter: CountingLimiter = field(default_factory=CountingLimiter)

    def client(self, instance_id: str = INSTANCE, secret: str = APP_SECRET, **options: Any) -> WixClient:
        options.setdefault("tokens", self.tokens)
        return WixClient(
            self.url, APP_ID, secret, instance_id, limiter=self.limiter, http=self.http, sleep=self.sleeps.append,
            **options,
        )  # fmt: skip

    def fault(self, path: str, status: int | None, times: int, method: str | None = None) -> None:
        body = {"path": path, "method": method, "status": status, "times": times}
        assert self.control.post("/_sandbox/faults", json=body).status_code == 200

    def state(self, instance_id: str = INSTANCE) -> dict[str, Any]:
        return dict(self.control.get(f"/_sandbox/instances/{instance_id}/state").json())

    def mints(self, instance_id: str = INSTANCE) -> int:
        return int(self.state(instance_id)["calls"].get(TOKEN_ROUTE, 0))

    def statuses(self, path: str) -> list[int]:
        return [status for _, p, status in self.answers if p == path]


@pytest.fixture(scope="module")
def private_key() -> bytes:
    """One webhook signing key per module: generating one per sandbox costs ~0.1 s."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8, no_password = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, no_password)


@pytest.fixture
def wix(front: tuple[Front, BackgroundServer], private_key: bytes) -> Iterator[Wix]:
    sandbox = WixSandbox(APP_ID, APP_SECRET, private_key)
    front[0].app = sandbox.wsgi_app
    url = front[1].url
    answers: list[tuple[str, str, int]] = []
    bodies: list[tuple[str, bytes]] = []

    def on_request(request: httpx.Request) -> None:
        bodies.append((request.url.path, request.read()))

    def on_response(response: httpx.Response) -> None:
        answers.append((response.request.method, response.request.url.path, response.status_code))

    hooks: dict[str, list[Callable[..., Any]]] = {"request": [on_request], "response": [on_response]}
    with httpx.Client(base_url=url, timeout=5) as control, httpx.Client(event_hooks=hooks) as http:
        sandbox.add_instance(INSTANCE)
        yield Wix(url, sandbox, control, http, answers=answers, bodies=bodies)


# --- Tokens -----------------------------------------------------------------------------------------------------------


def test_a_token_is_minted_once_and_reused_across_calls_and_clients(wix: Wix) -> None:
    # Given two clients for one instance sharing the process's token cache
    first, second = wix.client(), wix.client()
    # When they make five calls between them
    for client in (first, second, first, second, first):
        assert "locations" in client.get(LOCATIONS)
    # Then Wix minted one token, sent raw in the Authorization header (as @wix/sdk does)
    assert wix.mints() == 1
    assert wix.state()["calls"][f"GET {LOCATIONS}"] == 5
    assert set(wix.statuses(LOCATIONS)) == {200}


def test_each_instance_gets_its_own_token(wix: Wix) -> None:
    # Given a second installed instance
    wix.sandbox.add_instance("instance-b")
    # When a client of each calls the same route
    wix.client().get(LOCATIONS)
    wix.client("instance-b").get(LOCATIONS)
    # Then each instance minted its own token and sees its own location
    assert (wix.mints(), wix.mints("instance-b")) == (1, 1)
    assert wix.state()["locationId"] != wix.state("instance-b")["locationId"]


def test_an_expired_token_is_reminted_transparently(wix: Wix) -> None:
    # Given a client whose cached token worked
    client = wix.client()
    client.get(LOCATIONS)
    # When the sandbox clock moves past the token's 4 hours and the client calls again
    wix.control.post("/_sandbox/clock", json={"advanceSeconds": 14400 + 1})
    answer = client.get(LOCATIONS)
    # Then Wix's 401 was answered by one new token and the call succeeded without any backoff
    assert "locations" in answer
    assert wix.statuses(LOCATIONS) == [200, 401, 200]
    assert wix.mints() == 2 and wix.sleeps == []


def test_a_token_is_replaced_five_minutes_before_it_expires(wix: Wix) -> None:
    # Given a token cache on a clock the test moves
    now = [1000.0]
    wix.tokens = TokenCache(clock=lambda: now[0])
    client = wix.client()
    client.get(LOCATIONS)
    # When the clock reaches 1 s before, then exactly, 5 minutes before the 4 h expiry
    now[0] += 14400 - 300 - 1
    client.get(LOCATIONS)
    mints_just_before = wix.mints()
    now[0] += 1
    client.get(LOCATIONS)
    # Then the old token is used until then, and replaced before Wix ever refuses it
    assert mints_just_before == 1 and wix.mints() == 2
    assert 401 not in wix.statuses(LOCATIONS)


def test_a_401_refreshes_the_token_once_then_succeeds(wix: Wix) -> None:
    # Given a cached token that Wix will refuse once (revoked, say)
    client = wix.client()
    client.get(LOCATIONS)
    wix.fault("/locations/", 401, times=1)
    # When the client calls
    answer = client.get(LOCATIONS)
    # Then it minted one new token and retried immediately, without spending a retry attempt on it
    assert "locations" in answer
    assert wix.statuses(LOCATIONS) == [200, 401, 200]
    assert wix.mints() == 2 and wix.sleeps == []


def test_a_401_after_the_refresh_is_permanent(wix: Wix) -> None:
    # Given Wix refuses every token for this route
    wix.fault("/locations/", 401, times=5)
    # When the client calls
    with pytest.raises(WixApiError) as caught:
        wix.client().get(LOCATIONS)
    # Then it refreshed once only and gave up with Wix's code
    assert caught.value.status == 401 and caught.value.code == "UNAUTHENTICATED"
    assert caught.value.reason == "wix_unauthenticated"
    assert wix.statuses(LOCATIONS) == [401, 401] and wix.mints() == 2


def test_a_wrong_app_secret_is_permanent_and_never_shown(wix: Wix) -> None:
    # Given a client built with a wrong app secret
    wrong = "wrong-secret-value-7f3a"
    client = wix.client(secret=wrong)
    # When it calls the API
    with pytest.raises(PermanentError) as caught:
        client.get(LOCATIONS)
    # Then the token request was refused, no API call was made, and the secret is nowhere in the error or the client
    error = caught.value
    assert isinstance(error, WixApiError) and error.status == 401 and error.reason == "wix_unauthenticated"
    assert wix.statuses(LOCATIONS) == [] and wix.statuses("/oauth2/token") == [401]
    shown = [str(error), repr(error), json.dumps(error.body), json.dumps(error.details), repr(client), repr(wix.tokens)]
    assert not any(wrong in text or APP_SECRET in text for text in shown)
    assert error.__cause__ is None and error.__context__ is None


def test_an_uninstalled_instance_is_a_validation_error(wix: Wix) -> None:
    # Given an instance the app is not installed on
    # When its client calls
    with pytest.raises(WixApiError) as caught:
        wix.client("not-installed").get(LOCATIONS)
    # Then the token request's 400 is permanent
    assert caught.value.status == 400 and caught.value.code == "INVALID_ARGUMENT"


# --- Retries ----------------------------------------------------------------------------------------------------------


def test_429_twice_then_success(wix: Wix) -> None:
    # Given Wix throttles the next two requests
    client = wix.client()
    wix.fault("/locations/", 429, times=2)
    # When the client calls
    answer = client.get(LOCATIONS)
    # Then it backed off twice within the full-jitter bounds and returned Wix's answer
    assert "locations" in answer
    assert wix.statuses(LOCATIONS) == [429, 429, 200]
    assert len(wix.sleeps) == 2
    for attempt, delay in enumerate(wix.sleeps, start=1):
        assert 0 <= delay <= min(http_retry.BACKOFF_CAP, http_retry.BACKOFF_BASE * 2 ** (attempt - 1))


def test_503_on_every_attempt_is_transient_after_max_attempts(wix: Wix) -> None:
    # Given Wix is unavailable on every attempt, and the client's log records are captured
    client = wix.client()
    client.get(LOCATIONS)  # a token in the cache, so the token appears in the headers of every failed attempt
    wix.fault("/locations/", 503, times=10)
    records = _capture_logs()
    # When the client calls
    with pytest.raises(TransientError) as caught:
        client.get(LOCATIONS)
    # Then it made max_attempts (4) attempts, slept between them only, and says why without any credential
    assert wix.statuses(LOCATIONS) == [200, 503, 503, 503, 503]
    assert len(wix.sleeps) == 3
    assert str(caught.value) == "Wix GET /locations/v1/locations failed after 4 attempts: HTTP 503 UNAVAILABLE"
    assert len(records) == 3 and records[0]["failure"] == "HTTP 503 UNAVAILABLE"
    logged = json.dumps(records, default=str)
    tokens = list(wix.sandbox.store._tokens)
    assert len(tokens) == 1 and APP_SECRET not in logged
    assert tokens[0] not in logged and tokens[0] not in str(caught.value)


def test_a_limiter_slot_is_taken_before_every_attempt(wix: Wix) -> None:
    # Given Wix throttles twice
    wix.fault("/locations/", 429, times=2)
    # When a fresh client calls
    wix.client().get(LOCATIONS)
    # Then it took a slot for the token mint and for each of the three attempts
    assert wix.limiter.acquired == [INSTANCE] * 4


def test_every_attempt_sends_the_same_bytes(wix: Wix) -> None:
    # Given a body and a Wix that fails twice
    client = wix.client()
    wix.fault(MENUS, 503, times=2, method="POST")
    # When the entity is created
    menu = client.post(MENUS, {"menu": {"name": "Lunch", "description": "Noon to three"}})["menu"]
    # Then all three attempts carried the identical serialised body
    sent = [body for path, body in wix.bodies if path == MENUS]
    assert len(sent) == 3 and len(set(sent)) == 1
    assert json.loads(sent[0]) == {"menu": {"name": "Lunch", "description": "Noon to three"}}
    assert menu["name"] == "Lunch"


# --- Wix's error model ------------------------------------------------------------------------------------------------


def test_a_stale_menu_revision_is_a_wix_conflict_with_wix_body(wix: Wix) -> None:
    # Given a menu someone else has already updated to revision 2
    client = wix.client()
    menu = client.post(MENUS, {"menu": {"name": "Lunch"}})["menu"]
    client.patch(f"{MENUS}/{menu['id']}", {"menu": {"revision": "1", "name": "Brunch"}})
    # When it is updated with the stale revision 1
    with pytest.raises(WixConflict) as caught:
        client.patch(f"{MENUS}/{menu['id']}", {"menu": {"revision": "1", "name": "Dinner"}})
    # Then the conflict carries Wix's body and code, and a refresh-and-retry succeeds
    conflict = caught.value
    assert conflict.status == 409 and conflict.code == "REVISION_MISMATCH"
    assert conflict.reason == "wix_revision_mismatch" and isinstance(conflict, PermanentError)
    assert conflict.body["details"]["applicationError"]["code"] == "REVISION_MISMATCH"
    assert "Dinner" not in json.dumps(conflict.body)  # Wix's answer, not our request body
    current = client.get(f"{MENUS}/{menu['id']}")["menu"]
    updated = client.patch(f"{MENUS}/{menu['id']}", {"menu": {"revision": current["revision"], "name": "Dinner"}})
    assert updated["menu"]["revision"] == "3"


def test_a_validation_error_carries_code_and_field_violations(wix: Wix) -> None:
    # Given an order missing its required fields
    # When it is created
    with pytest.raises(WixApiError) as caught:
        wix.client().post("/ecom/v1/orders", {"order": {"lineItems": []}})
    # Then it is permanent, not retried, with Wix's field violations in the body and their fields in the details
    error = caught.value
    assert not isinstance(error, WixConflict)
    assert error.status == 400 and error.code == "VALIDATION_ERROR" and error.reason == "wix_validation_error"
    violations = error.body["details"]["validationError"]["fieldViolations"]
    fields = [v["field"] for v in violations]
    assert {"order.channelInfo", "order.lineItems", "order.priceSummary"} <= set(fields)
    assert error.details == {"status": 400, "code": "VALIDATION_ERROR", "fields": fields}
    assert wix.sleeps == []


def test_not_found_uses_the_application_error_code(wix: Wix) -> None:
    # Given no such order
    # When it is read
    with pytest.raises(WixApiError) as caught:
        wix.client().get("/ecom/v1/orders/00000000-0000-0000-0000-000000000000")
    # Then the code is Wix's applicationError.code
    assert (caught.value.status, caught.value.code, caught.value.reason) == (404, "NOT_FOUND", "wix_not_found")


# --- Behaviours a sandbox cannot show: a mock transport ---------------------------------------------------------------


def _mock_client(handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float]) -> WixClient:
    """A client whose token request succeeds and whose API calls go to `handler`."""

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": "OauthNG.JWS.tok3n", "expires_in": 14400})
        return handler(request)

    http = httpx.Client(transport=httpx.MockTransport(route))
    return WixClient(
        "https://wix.test", APP_ID, APP_SECRET, INSTANCE, tokens=TokenCache(), limiter=NoRateLimit(), http=http,
        sleep=sleeps.append,
    )  # fmt: skip


def test_retry_after_is_honoured_and_capped() -> None:
    # Given Wix throttles with Retry-After 1.5 s, then with an excessive 120 s, then answers
    answers = [
        httpx.Response(429, headers={"Retry-After": "1.5"}),
        httpx.Response(429, headers={"Retry-After": "120"}),
        httpx.Response(200, json={"ok": True}),
    ]
    sleeps: list[float] = []
    client = _mock_client(lambda request: answers.pop(0), sleeps)
    # When a request is made
    answer = client.get(LOCATIONS)
    # Then the client waited as told, never longer than the cap
    assert answer == {"ok": True}
    assert sleeps == [1.5, http_retry.RETRY_AFTER_CAP]


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2015 07:28:00 GMT", "-1", "nan", "soon"])
def test_a_retry_after_that_is_not_seconds_falls_back_to_backoff(value: str) -> None:
    # Given a 429 whose Retry-After is a date, negative, NaN or garbage
    response = httpx.Response(429, headers={"Retry-After": value})
    # When it is read
    # Then it is ignored (the caller's jittered backoff applies)
    assert http_retry.retry_after(response) is None


def test_a_transport_failure_never_carries_the_httpx_exception() -> None:
    # Given every API call times out (an httpx exception holds the request and its Authorization header)
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    sleeps: list[float] = []
    client = _mock_client(timeout, sleeps)
    # When a request is made
    with pytest.raises(TransientError) as caught:
        client.get(LOCATIONS)
    # Then it was retried, and the error names the failure class without a chained exception
    assert len(sleeps) == 3
    assert str(caught.value).endswith("failed after 4 attempts: ConnectTimeout")
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_an_unsendable_request_is_permanent_at_once() -> None:
    # Given a base URL with a scheme httpx cannot send
    client = WixClient("ftp://wix.test", APP_ID, APP_SECRET, INSTANCE, tokens=TokenCache(), limiter=NoRateLimit())
    # When a request is made
    with pytest.raises(PermanentError) as caught:
        client.get(LOCATIONS)
    # Then it is not retried
    assert caught.value.reason == "wix_request_unsendable"
    assert caught.value.__context__ is None


def test_an_empty_2xx_body_reads_as_an_empty_object_and_html_is_transient() -> None:
    # Given Wix answers a DELETE with no body, then a proxy answers 200 with HTML
    answers = [httpx.Response(200), httpx.Response(200, text="<html>maintenance</html>")]
    client = _mock_client(lambda request: answers.pop(0), [])
    # When both are read
    # Then the first is {}, the second a TransientError (not a verdict on the request)
    assert client.delete(f"{MENUS}/m1") == {}
    with pytest.raises(TransientError):
        client.get(LOCATIONS)


def test_query_params_are_sent() -> None:
    # Given a route with offset paging
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"locations": []})

    # When it is called with params
    _mock_client(handler, []).get(LOCATIONS, params={"paging.limit": 10, "includeArchived": "true"})
    # Then they are in the query string
    assert seen[0].params["paging.limit"] == "10" and seen[0].params["includeArchived"] == "true"


# --- TokenCache -------------------------------------------------------------------------------------------------------


def test_concurrent_callers_share_one_mint() -> None:
    # Given a slow token endpoint and eight threads needing a token at once
    cache, key, mints = TokenCache(), TokenKey("https://wix.test", APP_ID, INSTANCE), []

    def mint() -> tuple[str, float]:
        mints.append(1)
        time.sleep(0.05)
        return "tok", 14400.0

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.token(key, mint))) for _ in range(8)]
    # When they all ask
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one token was minted and all got it
    assert len(mints) == 1 and results == ["tok"] * 8


def test_invalidating_a_refused_token_keeps_a_newer_one() -> None:
    # Given a cache holding token "new" (another thread already replaced "old")
    cache, key = TokenCache(), TokenKey("https://wix.test", APP_ID, INSTANCE)
    cache.token(key, lambda: ("new", 14400.0))
    # When a late caller invalidates the "old" token Wix refused, and then the instance as a whole
    cache.invalidate(INSTANCE, token="old")
    kept = cache.token(key, lambda: ("minted", 14400.0))
    cache.invalidate(INSTANCE)
    # Then "new" survives the first, not the second
    assert kept == "new"
    assert cache.token(key, lambda: ("minted", 14400.0)) == "minted"


# --- WixClients -------------------------------------------------------------------------------------------------------


def test_wix_clients_read_the_secret_through_powertools_and_share_tokens(
    wix: Wix, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the app secret in Secrets Manager (Powertools' get_secret, faked) and a factory
    reads: list[tuple[str, Any]] = []

    def get_secret(name: str, **kwargs: Any) -> str:
        reads.append((name, kwargs.get("max_age")))
        return APP_SECRET

    monkeypatch.setattr(parameters, "get_secret", get_secret)
    clients = WixClients(wix.url, APP_ID, "posbridge/stack/wix-app-secret", NoRateLimit(), sleep=wix.sleeps.append)
    # When two clients for one instance call Wix
    clients.for_instance(INSTANCE).get(LOCATIONS)
    clients.for_instance(INSTANCE).get(LOCATIONS)
    # Then the secret was read by name with a five-minute TTL, one token served both, and nothing shows the secret
    assert reads == [("posbridge/stack/wix-app-secret", 300)] * 2
    assert wix.mints() == 1
    assert APP_SECRET not in repr(clients) + repr(clients.for_instance(INSTANCE))


@pytest.mark.parametrize(
    ("message", "error", "reason"),
    [
        ("An error occurred (ResourceNotFoundException) when calling GetSecretValue", PermanentError,
         "missing_wix_app_secret"),
        ("An error occurred (ThrottlingException) when calling GetSecretValue", TransientError, None),
    ],
)  # fmt: skip
def test_wix_clients_classify_secret_failures(
    monkeypatch: pytest.MonkeyPatch, message: str, error: type[Exception], reason: str | None
) -> None:
    # Given Secrets Manager fails
    def get_secret(name: str, **kwargs: Any) -> str:
        raise GetParameterError(message)

    monkeypatch.setattr(parameters, "get_secret", get_secret)
    clients = WixClients("https://wix.test", APP_ID, "name", NoRateLimit())
    # When a client is built
    with pytest.raises(error) as caught:
        clients.for_instance(INSTANCE)
    # Then a missing secret is permanent, anything else transient
    assert getattr(caught.value, "reason", None) == reason


def test_wix_api_settings_come_from_the_environment() -> None:
    # Given the variables template.yaml sets
    env = {
        "WIX_API_BASE_URL": "https://www.wixapis.com",
        "WIX_APP_ID": APP_ID,
        "WIX_APP_SECRET_NAME": "posbridge/prod/wix-app-secret",
        "MAPPINGS_TABLE": "mappings",
    }
    # When the settings are read
    settings = WixApiSettings.from_env(env)
    # Then every field is filled, and the factory builds from them
    assert settings.wix_app_secret_name == "posbridge/prod/wix-app-secret"
    with WixClients.from_settings(settings) as clients:
        assert repr(clients) == f"WixClients(base_url='https://www.wixapis.com', app_id='{APP_ID}')"


# --- helpers ----------------------------------------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({"message": record.getMessage(), **record.__dict__})


def _capture_logs() -> list[dict[str, Any]]:
    """The records posbridge.wix.client emits from now on (pytest's logging plugin is off in this repo's runs)."""
    handler = _Records()
    logger = logging.getLogger(wix_client.__name__)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    _HANDLERS.append((logger, handler))
    return handler.records


_HANDLERS: list[tuple[logging.Logger, logging.Handler]] = []


@pytest.fixture(autouse=True)
def _remove_log_handlers() -> Iterator[None]:
    yield
    while _HANDLERS:
        logger, handler = _HANDLERS.pop()
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
