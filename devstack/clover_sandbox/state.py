"""In-memory Clover: one app (ours), merchants that installed it, their tokens, inventory references and orders."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack.clover_sandbox.errors import unauthorized
from devstack.clover_sandbox.ids import new_id

# TenderConstants.java (clover/clover-android-sdk, com.clover.sdk.v3.base): the label keys of Clover's system tenders.
CASH = "com.clover.tender.cash"
CREDIT_CARD = "com.clover.tender.credit_card"
DEBIT_CARD = "com.clover.tender.debit_card"
EXTERNAL_PAYMENT = "com.clover.tender.external_payment"
CARD_TENDERS = frozenset({CREDIT_CARD, DEBIT_CARD})

# docs.clover.com/docs/api-usage-rate-limits: 16 requests/s and 5 in flight per token, 50/s and 10 per app.
TOKEN_RATE = 16
TOKEN_CONCURRENCY = 5
APP_RATE = 50
APP_CONCURRENCY = 10


def now_ms(clock: Callable[[], float]) -> int:
    return int(clock() * 1000)


@dataclass
class Merchant:
    merchant_id: str
    currency: str = "USD"
    tax_rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    tenders: dict[str, dict[str, Any]] = field(default_factory=dict)
    order_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    modifiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    item_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    modifier_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_charge: dict[str, Any] | None = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)


@dataclass
class Grant:
    merchant_id: str
    expires: int  # Unix seconds, as Clover's `*_expiration` fields
    used: bool = False


@dataclass
class Outgoing:
    merchant_id: str
    object_id: str  # "O:<orderId>", "P:<paymentId>" (docs.clover.com/docs/webhooks, objectId prefixes)
    type: str  # CREATE | UPDATE | DELETE
    ts: int  # Unix ms


@dataclass
class App:
    """Our app as registered in Clover's Developer Dashboard: id, secret, the one webhook URL and its codes."""

    client_id: str = field(default_factory=new_id)
    client_secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    webhook_url: str | None = None
    verification_code: str | None = None
    auth_code: str | None = None  # the "Clover Auth Code", shown once the URL is verified


class SandboxState:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.app = App()
        self.merchants: dict[str, Merchant] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.access_ttl = 3600  # seconds; Clover documents none ("short-lived"): configurable, never hard-coded
        self.refresh_ttl = 366 * 24 * 3600  # doc samples: about a year after the access token
        self.max_refresh_tokens = 10  # Clover caps active refresh tokens per merchant+app; the number is unpublished
        self.outbox: list[Outgoing] = []
        self._recent: dict[str, deque[float]] = {}
        self._in_flight: Counter[str] = Counter()

    # ---- tokens (docs.clover.com/docs/refresh-access-tokens) ----------------------------------------------------

    def issue(self, merchant_id: str) -> dict[str, Any]:
        now = int(self.clock())
        access, refresh = str(uuid.uuid4()), str(uuid.uuid4())
        self.access[access] = Grant(merchant_id, now + self.access_ttl)
        self.refresh[refresh] = Grant(merchant_id, now + self.refresh_ttl)
        live = [t for t, g in self.refresh.items() if g.merchant_id == merchant_id and not g.used]
        for stale in live[: max(0, len(live) - self.max_refresh_tokens)]:  # over the cap: the oldest go silently
            self.refresh[stale].used = True
        return {
            "access_token": access,
            "access_token_expiration": self.access[access].expires,
            "refresh_token": refresh,
            "refresh_token_expiration": self.refresh[refresh].expires,
        }

    def redeem(self, refresh_token: str) -> dict[str, Any]:
        """Single use: the token is spent the moment the new pair exists, whatever happens to the answer."""
        grant = self.refresh.get(refresh_token)
        if grant is None or grant.used or grant.expires <= int(self.clock()):
            raise unauthorized("Invalid refresh token")
        grant.used = True
        return self.issue(grant.merchant_id)

    def merchant_for(self, access_token: str) -> Merchant:
        grant = self.access.get(access_token)
        if grant is None or grant.expires <= int(self.clock()):
            raise unauthorized()
        return self.merchants[grant.merchant_id]

    def expire_access(self, merchant_id: str) -> int:
        expired = 0
        for grant in self.access.values():
            if grant.merchant_id == merchant_id and grant.expires > int(self.clock()):
                grant.expires = int(self.clock())
                expired += 1
        return expired

    # ---- rate limits ---------------------------------------------------------------------------------------------

    def admit(self, token: str) -> str | None:
        """The X-RateLimit-* header naming the limit this request breaks, or None (and the request is counted)."""
        now = self.clock()
        for key, limit, header in (("app", APP_RATE, "crossTokenLimit"), (token, TOKEN_RATE, "tokenLimit")):
            window = self._recent.setdefault(key, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                return header
        if self._in_flight["app"] >= APP_CONCURRENCY:
            return "crossTokenConcurrentLimit"
        if self._in_flight[token] >= TOKEN_CONCURRENCY:
            return "tokenConcurrentLimit"
        for key in ("app", token):
            self._recent[key].append(now)
            self._in_flight[key] += 1
        return None

    def done(self, token: str) -> None:
        for key in ("app", token):
            self._in_flight[key] -= 1

    # ---- merchants -----------------------------------------------------------------------------------------------

    def add_merchant(self, merchant_id: str | None = None, currency: str = "USD") -> Merchant:
        merchant = Merchant(merchant_id or new_id(), currency=currency)
        for key, label in ((CASH, "Cash"), (EXTERNAL_PAYMENT, "External Payment"), (CREDIT_CARD, "Credit Card")):
            tender_id = new_id()
            merchant.tenders[tender_id] = {
                "id": tender_id,
                "editable": False,
                "labelKey": key,
                "label": label,
                "opensCashDrawer": key == CASH,
                "supportsTipping": True,
                "enabled": True,
                "visible": True,
            }
        self.merchants[merchant.merchant_id] = merchant
        return merchant

    def emit(self, merchant_id: str, prefix: str, object_id: str, kind: str) -> None:
        self.outbox.append(Outgoing(merchant_id, f"{prefix}:{object_id}", kind, now_ms(self.clock)))

    def drain_outbox(self) -> list[Outgoing]:
        with self.lock:
            out, self.outbox = self.outbox, []
            return out


def new_secret() -> str:
    return secrets.token_urlsafe(16)
