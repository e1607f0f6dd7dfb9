"""The POS ports: what every POS adapter (pos/<provider>/) offers the flows, built per tenant by pos/registry.py.

Adapters map to and from the canonical model (domain/); flows never see wire formats. They raise
posbridge.errors.TransientError for what may succeed later (after their own bounded retries) and PermanentError for
what never will.

- PosGateway: orders (Flows 1-3), with PosGateways building one per tenant;
- CatalogSource: the catalog reader (Flows 4 and 5), with CatalogSources building one per tenant;
- PosWebhooks: a provider's webhooks, verified and read into neutral PosNotice events (the ingest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, Protocol

from posbridge.domain.catalog import Catalog, CatalogChanges, LayoutOptions
from posbridge.domain.order import Buyer, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.pos_events import PosNotice
from posbridge.domain.pos_export import OrderPayment, PosOrder, PosOrderPage, PosRefund
from posbridge.domain.pos_order import PosOrderSnapshot
from posbridge.domain.tenant import Tenant
from posbridge.errors import WebhookRejected

# PermanentError.reason of a create_order the POS refused because a catalog id it was given does not exist (any more)
CATALOG_REFERENCE_UNKNOWN = "pos_catalog_reference_unknown"
# PermanentError.reason of a refund_payment the POS's API cannot make (Clover: a payment recorded with an external
# tender); its details carry `refunded_minor`, what the POS shows refunded already. The cancel flow records it for
# operators instead of failing the message (flows/cancel_order.py).
REFUND_NOT_SUPPORTED = "pos_refund_not_supported"


class PosGateway(Protocol):
    def find_or_create_customer(self, buyer: Buyer, idempotency_key: str) -> str | None:
        """The POS customer id for this buyer (looked up by e-mail, then phone; created otherwise), or None when
        the buyer gave neither."""
        ...

    def create_order(
        self,
        order: Order,
        customer_id: str | None,
        idempotency_key: str,
        catalog: Mapping[str, CatalogLine] | None = None,
    ) -> PosOrder:
        """Create the order; the same key with the same order returns the same POS order (no duplicate). Lines in
        `catalog` (by Wix line id) go as POS catalog lines at the order's prices, the others ad hoc; a catalog id the
        POS does not know raises PermanentError(CATALOG_REFERENCE_UNKNOWN)."""
        ...

    def pay_order(self, order: PosOrder, payment: OrderPayment, payment_key: str, pay_key: str) -> str | None:
        """Settle the created order in full with money taken outside the POS; the id of the POS payment (None when
        there was nothing to pay). The same keys replay the same payment: a retry never pays twice, and a retry
        after the payment was recorded but before it was applied completes it."""
        ...

    def order_snapshot(self, order_id: str) -> PosOrderSnapshot:
        """The whole order as the POS holds it now, whoever created it (Flows 2 and 3)."""
        ...

    def cancel_order(self, order: PosOrderSnapshot, idempotency_key: str) -> None:
        """Cancel the order as `order` shows it (its version, its open fulfillments; an order with payments applied,
        `tendered`, keeps its state and only its fulfillments are canceled, as the POS refuses more). Raises
        TransientError when the order changed on the POS since that snapshot (read it again), PermanentError when the
        POS refuses."""
        ...

    def refund_payment(self, payment_id: str, idempotency_key: str, reason: str) -> PosRefund:
        """Refund what is left of the payment (all it took, tip included, unless part was refunded already); a
        payment with nothing left is not refunded again. The same key replays the same refund. A POS whose API
        cannot refund this payment raises PermanentError(REFUND_NOT_SUPPORTED)."""
        ...

    def orders_updated_since(self, since: str, cursor: str | None = None) -> PosOrderPage:
        """Orders of the tenant's location changed at or after `since` (RFC 3339), oldest change first, paged."""
        ...


class PosGateways(Protocol):
    def for_tenant(self, tenant: Tenant) -> PosGateway: ...


class CatalogSource(Protocol):
    """The catalog side of the POS port."""

    def load_catalog(self, options: LayoutOptions) -> Catalog:
        """The POS catalog of the tenant's location, as the canonical model (POS ids kept), with `as_of`: the POS
        catalog time it is complete up to (where an incremental sync may start after an import)."""
        ...

    def load_items(self, item_ids: Iterable[str], group_ids: Iterable[str], options: LayoutOptions) -> Catalog:
        """Just these items and modifier groups (with the groups the items use), without menus."""
        ...

    def changes_since(self, begin_time: str | None) -> CatalogChanges:
        """What changed after `begin_time`, deleted objects included: the incremental sync's scope."""
        ...


class CatalogSources(Protocol):
    def for_tenant(self, tenant: Tenant) -> CatalogSource: ...


# Why a POS webhook was refused: the `reason` dimension of the WebhooksRejected metric (a closed set, so few metrics).
RejectReason = Literal[
    "too_large", "malformed", "missing_signature", "bad_signature", "not_configured", "key_unavailable"
]
# 400 malformed, 401 not verifiable, 503 not configured / try again.
Rejected = WebhookRejected[RejectReason]


class PosWebhooks(Protocol):
    """One provider's webhooks. The envelope is read before the signature is checked only to know whose key to check
    it with (the POS account, and the order's location); the flow acts on nothing until `verifies` holds."""

    @property
    def provider(self) -> str:
        """The provider's name in PosConnection.provider, the POS links and WorkMessage.source."""
        ...

    def read(self, raw_body: bytes, signature: str | None) -> PosNotice:
        """The notice the body carries, unverified. Raises Rejected: 503 not_configured (the adapter lacks what it
        verifies with), 401 missing_signature, 400 malformed (not this provider's webhook)."""
        ...

    def verifies(self, signature_key: str, raw_body: bytes, signature: str) -> bool:
        """Whether `signature` is the provider's signature of the body under this tenant's key (constant time)."""
        ...

    # What the one webhook handler (functions/pos_webhook) asks of the provider's webhook URL, before `read`:

    @property
    def signature_header(self) -> str:
        """The request header the signature (or the provider's static code) arrives in."""
        ...

    @property
    def max_body_bytes(self) -> int:
        """A body over this is not the provider's: refused (413) before anything reads it."""
        ...

    @property
    def delivers_many(self) -> bool:
        """True when one POST carries many deliveries (Clover): the POST is answered 200 with counts unless every
        delivery was refused. False: one delivery per POST (Square), answered with its outcome or its refusal."""
        ...

    def handshake(self, raw_body: bytes) -> str | None:
        """A provider's own setup message, handled here (Clover's verification code, kept for the operator): the
        status the handler answers 200 with, before anything is verified. None: a delivery. Raises Rejected."""
        ...

    def split(self, raw_body: bytes, signature: str | None) -> list[bytes]:
        """The deliveries a POST carries, each for `read` (Square: the body itself). Raises Rejected: 401
        missing_signature, 400 malformed, where the provider refuses a POST before cutting it."""
        ...
