"""Shared by the catalog publish tests: a restaurant on the devstack's sandboxes, the flow's dependencies wired to the
devstack's moto table and bucket, a Wix that fails on cue, and readers of what customers could see."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from devstack.app import Devstack
from devstack.kitchen import Kitchen
from posbridge.config import WixApiSettings
from posbridge.errors import TransientError
from posbridge.flows import catalog_publish as flow
from posbridge.pos.registry import PosCatalogs
from posbridge.secrets import TenantSecrets
from posbridge.store.blobs import S3Blobs
from posbridge.store.catalog_jobs import CatalogJobs
from posbridge.store.catalog_mappings import CatalogMappings
from posbridge.store.catalog_sync_state import CatalogSyncState
from posbridge.store.tenants import TenantStore
from posbridge.wix.client import WixClients
from posbridge.wix.menus_api import MenusApi, WixHttp
from posbridge.wix.rate_limit import NoRateLimit
from posbridge.wix.tokens import TokenCache
from tests.unit.catalog_fakes import STEPS, run_step  # the state machine's steps, run as it runs them

STACK = "posbridge"  # the devstack's stack name: secrets live under posbridge/<stack>/...
MENU_KINDS = ("menus", "sections", "items", "variants", "modifiers", "modifierGroups")


@dataclass
class Restaurant:
    """A Wix site + Square merchant connected through the admin API (like tests/e2e/conftest.py's, with a catalog)."""

    devstack: Devstack
    instance_id: str
    merchant_id: str
    location_id: str
    token: str
    http: httpx.Client

    @classmethod
    def connect(cls, devstack: Devstack, seed: bool = True) -> Restaurant:
        suffix = uuid.uuid4().hex[:10]
        http = httpx.Client(timeout=30)
        r = cls(devstack, f"cat-{suffix}", f"M{suffix.upper()}", f"L{suffix.upper()}", f"tok-{suffix}", http)
        Kitchen(devstack, r.instance_id, r.merchant_id, r.location_id, r.token, f"sig-{suffix}", http).set_up()
        if seed:
            r.seed()
        return r

    def seed(self) -> list[dict[str, Any]]:
        url = f"{self.devstack.pos_url}/_sandbox/merchants/{self.merchant_id}/seed-catalog"
        return list(self.http.post(url).raise_for_status().json()["objects"])

    def upsert(self, objects: list[dict[str, Any]]) -> dict[str, Any]:
        """Square BatchUpsertCatalogObjects as the seller's own tooling would call it."""
        body = {"idempotency_key": uuid.uuid4().hex, "batches": [{"objects": objects[i : i + 1000]}
                                                                 for i in range(0, len(objects), 1000)]}  # fmt: skip
        response = self.http.post(
            f"{self.devstack.pos_url}/v2/catalog/batch-upsert",
            json=body,
            headers={"Authorization": f"Bearer {self.token}", "Square-Version": "2025-10-16"},
        )
        response.raise_for_status()
        return dict(response.json())

    def set_price(self, variation_id: str, cents: int) -> None:
        url = f"{self.devstack.pos_url}/_sandbox/merchants/{self.merchant_id}/catalog/price"
        self.http.post(url, json={"variationId": variation_id, "amount": cents}).raise_for_status()

    def wix_state(self) -> dict[str, Any]:
        return dict(self.http.get(f"{self.devstack.wix_url}/_sandbox/instances/{self.instance_id}/state").json())

    def wix_fault(self, **fault: Any) -> None:
        self.http.post(f"{self.devstack.wix_url}/_sandbox/faults", json=fault).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete(f"{self.devstack.wix_url}/_sandbox/faults")


def customer_view(state: dict[str, Any]) -> dict[str, Any]:
    """What a customer can see: visible menus -> their sections -> their items (names, prices, stock)."""
    sections = {s["id"]: s for s in state["sections"]}
    items = {i["id"]: i for i in state["items"]}
    view = {}
    for menu in state["menus"]:
        if not menu.get("visible", True):
            continue
        view[menu["id"]] = [(s, [_shown(items[i]) for i in sections[s]["itemIds"]]) for s in menu.get("sectionIds", [])]
    return view


def _shown(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["name"], item.get("priceInfo"), item.get("priceVariants"), item["orderSettings"]["inStock"])


def entity_ids(state: dict[str, Any]) -> dict[str, set[str]]:
    return {kind: {e["id"] for e in state[kind]} for kind in MENU_KINDS}


class Sabotage:
    """Wraps the Wix HTTP client: the `nth` call that `matches` fails with TransientError, before it reaches Wix, or
    after (`lost_answer`: Wix applied it, posbridge never heard back, as after a timeout)."""

    def __init__(self, matches: Callable[[str, str], bool], nth: int = 1, lost_answer: bool = False) -> None:
        self.matches = matches
        self.nth = nth
        self.lost_answer = lost_answer
        self.seen = 0
        self.fired = False

    def wrap(self, client: WixHttp) -> WixHttp:
        sabotage = self

        class Flaky:
            def request(
                self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
            ) -> dict[str, Any]:
                hit = not sabotage.fired and sabotage.matches(method, path)
                if hit:
                    sabotage.seen += 1
                    hit = sabotage.seen == sabotage.nth
                if hit and not sabotage.lost_answer:
                    sabotage.fired = True
                    raise TransientError(f"injected: Wix {method} {path} unavailable")
                answer = client.request(method, path, body, params)
                if hit:
                    sabotage.fired = True
                    raise TransientError(f"injected: the answer to Wix {method} {path} was lost")
                return answer

        return Flaky()


@dataclass
class SandboxWix:
    """The WixMenus port (ports/wix.py) on the devstack's Wix sandbox: no rate limit, short timeouts, sabotage."""

    settings: WixApiSettings
    timeout_s: float = 5.0
    sabotage: Sabotage | None = None
    tokens: TokenCache = field(default_factory=TokenCache)
    http: httpx.Client = field(default_factory=httpx.Client)

    def _clients(self, max_attempts: int) -> WixClients:
        return WixClients(
            self.settings.wix_api_base_url, self.settings.wix_app_id, self.settings.wix_app_secret_name,
            NoRateLimit(), tokens=self.tokens, http=self.http, max_attempts=max_attempts,
            sleep=lambda _s: None, timeout=httpx.Timeout(self.timeout_s),
        )  # fmt: skip

    def _api(self, instance_id: str, max_attempts: int) -> MenusApi:
        client: WixHttp = self._clients(max_attempts).for_instance(instance_id)
        return MenusApi(self.sabotage.wrap(client) if self.sabotage else client)

    def reads(self, instance_id: str) -> MenusApi:
        return self._api(instance_id, 3)

    def creates(self, instance_id: str) -> MenusApi:
        return self._api(instance_id, 1)


def make_deps(devstack: Devstack, wix: SandboxWix | None = None, **overrides: Any) -> flow.Deps:
    assert devstack.stack is not None
    table = devstack.stack.output("MappingsTableName")
    settings = WixApiSettings(
        wix_api_base_url=devstack.wix_url,
        wix_app_id=devstack.options.wix_app_id,
        wix_app_secret_name=f"posbridge/{STACK}/wix-app-secret",
        mappings_table=table,
    )
    deps = flow.Deps(
        jobs=CatalogJobs(table),
        blobs=S3Blobs(devstack.stack.output("SnapshotBucketName")),
        mappings=CatalogMappings(table),
        tenants=TenantStore(table),
        catalogs=PosCatalogs({"square": devstack.pos_url}, TenantSecrets(f"posbridge/{STACK}/tenants")),
        wix=wix or SandboxWix(settings),
        cursors=CatalogSyncState(table),
        sleep=lambda _s: None,
    )
    for name, value in overrides.items():
        setattr(deps, name, value)
    return deps


def settings_of(deps: flow.Deps) -> WixApiSettings:
    assert isinstance(deps.wix, SandboxWix)
    return deps.wix.settings


def import_catalog(deps: flow.Deps, instance_id: str, job_id: str | None = None, steps: tuple[str, ...] = STEPS) -> str:
    job_id = job_id or f"t-{uuid.uuid4().hex[:12]}"
    for name in steps:
        run_step(deps, name, job_id, instance_id)
    return job_id


class LateClock:
    """A clock `ahead` in the future: what the health check sees once a job has been silent that long."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def wait_for(predicate: Callable[[], Any], timeout_s: float = 30.0, interval_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s")
