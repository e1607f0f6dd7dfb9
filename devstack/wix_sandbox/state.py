"""In-memory Wix sites: one `Instance` per app instance (tenant), a movable clock and the OAuth tokens."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.wix_sandbox.validation import ApiError, not_found

TOKEN_TTL_S = 14400  # Wix app access tokens last 4 hours (wix-api.md section 4)
RATE_WINDOWS = ("fixed", "rolling")
MENU_KINDS = ("menu", "section", "item", "variant", "modifier", "modifierGroup")


def new_id() -> str:
    return str(uuid.uuid4())


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, the way Wix writes dates."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Clock:
    """Real time plus an offset that tests move forward (token expiry, dates)."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def iso(self) -> str:
        return iso(self.now())

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)


@dataclass
class Instance:
    """One Wix site with the app installed. Nothing here is ever reachable from another instance."""

    instance_id: str
    site_id: str
    account_id: str
    owner_user_id: str
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    fulfillments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    menus: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {kind: {} for kind in MENU_KINDS})
    visibility_checks: int = 0
    visibility_violations: list[dict[str, Any]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    sequences: Counter[str] = field(default_factory=Counter)
    last_order_number: int = 10000
    admitted: deque[float] = field(default_factory=deque)  # epoch seconds of requests the rate limit let through
    rate_limited: int = 0  # requests answered 429 by the rate limit (injected faults are counted by the injector)

    @property
    def default_location(self) -> dict[str, Any]:
        return next(loc for loc in self.locations.values() if loc["default"])

    @property
    def default_operation(self) -> dict[str, Any]:
        return next(op for op in self.operations.values() if op["default"])

    def account_info(self) -> dict[str, str]:
        return {"accountId": self.account_id, "siteId": self.site_id}

    def next_sequence(self, entity_id: str) -> int:
        """entityEventSequence: strictly increasing per entity."""
        self.sequences[entity_id] += 1
        return self.sequences[entity_id]

    def get_order(self, order_id: str) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found("Order", order_id)
        return order


@dataclass
class Token:
    instance_id: str
    expires_at: datetime


@dataclass(frozen=True)
class RateLimit:
    """Wix's documented limit, 200 requests/minute per app instance (wix-api.md section 4); off (None) by default.

    Counted per instance on the sandbox clock, over the token-authenticated API routes only (token mints and the
    control API are free). Only admitted requests count. "fixed" (the default): calendar minutes of the sandbox clock
    (epoch seconds // 60), the reading of "per minute" that posbridge's DynamoRateLimiter also uses. "rolling": any
    60 s ending now, the stricter reading (a fixed-window client can burst 2x across a boundary). Wix documents
    neither, nor a Retry-After, so the 429 carries none.
    """

    per_minute: int | None = None
    window: str = "fixed"

    def admits(self, inst: Instance, now: datetime) -> bool:
        """Drops the instance's admissions that left the window; True if one more fits."""
        if self.per_minute is None:
            return True
        t = now.timestamp()
        while inst.admitted and not self._in_window(inst.admitted[0], t):
            inst.admitted.popleft()
        return len(inst.admitted) < self.per_minute

    def _in_window(self, moment: float, now: float) -> bool:
        if self.window == "rolling":
            return moment > now - 60  # (now - 60 s, now]
        return moment >= now // 60 * 60  # [start of the current minute, now]


class Store:
    """All sites and tokens. One re-entrant lock guards everything: requests are short and the server is threaded."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.instances: dict[str, Instance] = {}
        self._tokens: dict[str, Token] = {}
        self.rate_limit = RateLimit()

    def set_rate_limit(self, limit: RateLimit) -> None:
        """A new limit starts with empty windows (earlier calls do not count against it)."""
        with self.lock:
            self.rate_limit = limit
            for inst in self.instances.values():
                inst.admitted.clear()

    def admit(self, inst: Instance) -> None:
        """Count one API request against the instance's budget, or answer 429 RESOURCE_EXHAUSTED."""
        with self.lock:
            now = self.clock.now()
            if not self.rate_limit.admits(inst, now):
                inst.rate_limited += 1
                raise ApiError(429, "Too many requests for this app instance", code="RESOURCE_EXHAUSTED")
            if self.rate_limit.per_minute is not None:
                inst.admitted.append(now.timestamp())

    def add_instance(self, instance_id: str) -> Instance:
        with self.lock:
            if instance_id in self.instances:
                return self.instances[instance_id]
            now = self.clock.iso()
            inst = Instance(instance_id=instance_id, site_id=new_id(), account_id=new_id(), owner_user_id=new_id())
            location = _default_location(now)
            inst.locations[location["id"]] = location
            operation = _default_operation(location, now)
            inst.operations[operation["id"]] = operation
            self.instances[instance_id] = inst
            return inst

    def instance(self, instance_id: str) -> Instance:
        inst = self.instances.get(instance_id)
        if inst is None:
            raise not_found("Instance", instance_id)
        return inst

    def issue_token(self, instance_id: str) -> str:
        token = f"OauthNG.JWS.{secrets.token_urlsafe(32)}"
        with self.lock:
            self._tokens[token] = Token(instance_id, self.clock.now() + timedelta(seconds=TOKEN_TTL_S))
        return token

    def resolve_token(self, authorization: str | None) -> Instance:
        """Accepts both `Authorization: <token>` (@wix/sdk) and `Authorization: Bearer <token>` (wix/skills)."""
        if not authorization:
            raise ApiError(401, "Missing Authorization header", code="UNAUTHENTICATED")
        raw = authorization.removeprefix("Bearer ").strip()
        with self.lock:
            token = self._tokens.get(raw)
            if token is None:
                raise ApiError(401, "Invalid access token", code="UNAUTHENTICATED")
            if self.clock.now() >= token.expires_at:
                raise ApiError(401, "Access token expired", code="UNAUTHENTICATED")
            return self.instances[token.instance_id]


def _default_location(now: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "name": "Main location",
        "description": "",
        "default": True,
        "status": "ACTIVE",
        "locationType": "UNKNOWN",
        "timeZone": "America/New_York",
        "email": "restaurant@example.com",
        "phone": "+1 212 555 0100",
        "fax": "",
        "address": {
            "country": "US",
            "subdivision": "US-NY",
            "city": "New York",
            "postalCode": "10001",
            "streetAddress": {"number": "1", "name": "Main Street", "apt": ""},
            "formattedAddress": "1 Main Street, New York, NY 10001, US",
        },
        "businessSchedule": {"periods": [], "specialHourPeriod": []},
        "revision": "1",
        "archived": False,
    }


def _default_operation(location: dict[str, Any], now: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "revision": "1",
        "createdDate": now,
        "updatedDate": now,
        "name": location["name"],
        "default": True,
        "fulfillmentIds": [],
        "onlineOrderingStatus": "ENABLED",
        "defaultFulfillmentType": "PICKUP",
        "orderScheduling": {
            "type": "ASAP",
            "asapOptions": {
                "preparationTime": {"type": "MAX_TIME", "maxTimeOptions": {"timeUnit": "MINUTES", "duration": 20}}
            },
        },
        "operationGroupId": new_id(),
        "businessLocationId": location["id"],
        "tags": {},
    }
