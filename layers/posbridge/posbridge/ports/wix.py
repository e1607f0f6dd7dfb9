"""The Wix ports: the Wix APIs the flows call (orders and fulfillments, Flows 1-3; Menus, Flows 4 and 5), the reading
of Wix's order events and webhooks, and the Wix order-import format. The adapters are in wix/; their wire formats
trace to the official SDK modules (see each adapter's docstring)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from posbridge.domain.order import Order
from posbridge.domain.order_import import ImportLine
from posbridge.domain.pos_order import PosLine, PosOrderSnapshot
from posbridge.domain.work_message import WorkMessage
from posbridge.errors import PermanentError

# --- webhooks and order events (Flow 1) ------------------------------------------------------------------------------


class WixWebhookEvent(Protocol):
    """A verified, decoded Wix webhook (wix/webhooks.py WixEvent)."""

    @property
    def event_type(self) -> str: ...
    @property
    def instance_id(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def entity_id(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime: ...
    def body(self) -> dict[str, Any]: ...


class WixWebhooks(Protocol):
    def parse(self, raw_body: str) -> WixWebhookEvent:
        """Verify and decode the webhook, or raise posbridge.errors.WebhookRejected (nothing is enqueued then)."""
        ...


@dataclass(frozen=True)
class WixOrderEvent:
    """The order a queued Wix order event carries, as the canonical model."""

    order: Order
    placed_on_pos: bool  # channelInfo.type POS: an order Flow 2 imported from the POS (the loop guard)


@dataclass(frozen=True)
class WixCancelEvent:
    """What a queued Wix cancel or payment status change says of its order."""

    order_id: str
    payment_status: str | None = None  # a payment status change: the order's payment status now
    refunded_minor: int | None = None  # and what Wix refunded in all (minor units; None: it says none)


class WixOrderEvents(Protocol):
    """Wix's order events as the flows read them (wix/orders.py, the module, implements it)."""

    def order_event(self, message: WorkMessage) -> WixOrderEvent:
        """Raises PermanentError when the message is not an order export event or its order cannot be read."""
        ...

    def order_updated_at(self, message: WorkMessage) -> str | None:
        """The order's updatedDate as Wix wrote it (None: none); PermanentError as order_event."""
        ...

    def cancel_event(self, message: WorkMessage) -> WixCancelEvent:
        """The order of an order_canceled or order_payment_status_updated message (and for the latter its payment
        status and refunded total); PermanentError("invalid_wix_event") when it cannot be read."""
        ...


# --- orders and fulfillments (Flows 2 and 3; the reconciliation) -----------------------------------------------------


class FulfillmentRef(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str | None: ...


class WixOrderRef(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def line_ids(self) -> tuple[str, ...]: ...


class WixStatusApi(Protocol):
    def cancel_order(self, order_id: str, *, notify_buyer: bool) -> None: ...
    def fulfillments(self, order_id: str) -> Sequence[FulfillmentRef]: ...
    def create_fulfillment(self, order_id: str, line_ids: tuple[str, ...], status: str) -> str: ...
    def update_fulfillment_status(self, order_id: str, fulfillment_id: str, status: str) -> None: ...


class WixImportApi(WixStatusApi, Protocol):
    def find_by_external_id(self, external_order_id: str) -> WixOrderRef | None: ...
    def create_order(self, body: dict[str, Any]) -> WixOrderRef: ...
    def locations(self) -> list[dict[str, Any]]: ...
    def operations(self) -> list[dict[str, Any]]: ...


class WixOrdersApi(WixImportApi, Protocol):
    def get_order(self, order_id: str) -> Any: ...


class WixOrderFormat(Protocol):
    """The Create Order request of a POS order (wix/order_import.py, the module, implements it)."""

    def whole_quantity(self, line: PosLine) -> int:
        """The line's quantity as Wix takes it; PermanentError when Wix cannot (a weighed line)."""
        ...

    def create_order_body(
        self,
        order: PosOrderSnapshot,
        lines: list[ImportLine],
        *,
        location_id: str,
        operation_id: str,
        bridge_app_id: str,
        notify: bool,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class WixOrdersPage:
    orders: tuple[dict[str, Any], ...]  # whole orders: Flow 1 reads them as its webhooks would carry them
    cursor: str | None


class WixSearch(Protocol):
    def search_restaurant_orders(self, updated_since: str, cursor: str | None = None) -> WixOrdersPage: ...


# --- Menus (Flows 4 and 5) -----------------------------------------------------------------------------------------

BULK_MAX = 100  # entities per bulk create / update / delete
WixKind = Literal["variant", "modifier", "modifierGroup", "item", "section", "menu"]
# The longest name each kind takes (wix/menus_api.py ENTITIES reads it from here; the SDK modules' REST types)
NAME_MAX: dict[WixKind, int] = {
    "variant": 200, "modifier": 200, "modifierGroup": 100, "item": 200, "section": 500, "menu": 500,
}  # fmt: skip
# The kinds without a bulk delete (menus: deleteMenu, one at a time)
NO_BULK_DELETE: frozenset[WixKind] = frozenset({"menu"})


@dataclass(frozen=True)
class Outcome:
    """One entity's result in a bulk call, in the order the entities were sent."""

    index: int
    ok: bool
    id: str | None = None
    revision: str | None = None
    entity: dict[str, Any] | None = None
    code: str = ""
    message: str = ""


class Rejected(PermanentError):
    """A whole bulk call was refused (400) because of some of its entities; `indexes` names them when Wix did."""

    def __init__(self, indexes: set[int], message: str, code: str) -> None:
        super().__init__("wix_rejected", message, {"indexes": sorted(indexes), "code": code})
        self.indexes = indexes
        self.code = code


class WixMenusApi(Protocol):
    """One site's Menus (wix/menus_api.py MenusApi): every call is one request."""

    def bulk_create(self, kind: WixKind, entities: list[dict[str, Any]]) -> list[Outcome]:
        """Create up to BULK_MAX entities; raises Rejected when Wix refuses the call as a whole."""
        ...

    def bulk_update(self, kind: WixKind, updates: list[tuple[dict[str, Any], list[str]]]) -> list[Outcome]:
        """`(entity with id + revision, mask)` pairs; a stale revision fails only its entity (409 per entity)."""
        ...

    def delete_many(self, kind: WixKind, ids: list[str]) -> list[Outcome]: ...
    def query(self, kind: WixKind, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...
    def by_ids(self, kind: WixKind, ids: list[str]) -> list[dict[str, Any]]: ...
    def list_locations(self) -> list[dict[str, Any]]: ...


class WixMenus(Protocol):
    def reads(self, instance_id: str) -> WixMenusApi:
        """For reads, updates and deletes: the client retries 429/5xx/timeouts itself (all idempotent here)."""
        ...

    def creates(self, instance_id: str) -> WixMenusApi:
        """For bulk creates: sent once (an unknown outcome is the catalog journal's to resolve)."""
        ...
