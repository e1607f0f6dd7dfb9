"""Inventory API: BatchRetrieveInventoryCounts, and the seller's own stock counts (control API).

Shapes from squareup 46.0.0.20260916: the request is `BatchGetInventoryCountsRequestParams` (catalog_object_ids,
location_ids, updated_after, cursor, states, limit; square/requests/batch_get_inventory_counts_request.py), the answer
`BatchGetInventoryCountsResponse` {counts[InventoryCount], cursor}; InventoryCount is {catalog_object_id,
catalog_object_type, state, location_id, quantity (decimal string, up to 5 decimals), calculated_at}. Counts come newest
`calculated_at` first, and `updated_after` keeps those calculated after it (square/inventory/raw_client.py).

A count that reaches zero on a tracked variation marks it sold out at the location, in a new catalog version with
catalog.version.updated (developer.squareup.com/docs/inventory-api/monitor-sold-out-status-on-item-variation: "When an
item variation becomes sold out, a catalog.version.updated event notification is sent"); every count change sends
inventory.count.updated (.../docs/inventory-api/webhooks). Square documents no automatic un-marking when stock comes
back, so the sandbox does not un-mark: the seller does (the sold-out control).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from devstack.square_sandbox import catalog
from devstack.square_sandbox import fields as f
from devstack.square_sandbox.errors import bad_request
from devstack.square_sandbox.state import Merchant, paginate

# square/types/inventory_state.py
STATES = (
    "CUSTOM", "IN_STOCK", "SOLD", "RETURNED_BY_CUSTOMER", "RESERVED_FOR_SALE", "SOLD_ONLINE", "ORDERED_FROM_VENDOR",
    "RECEIVED_FROM_VENDOR", "IN_TRANSIT_TO", "NONE", "WASTE", "UNLINKED_RETURN", "COMPOSED", "DECOMPOSED",
    "SUPPORTED_BY_NEWER_VERSION", "IN_TRANSIT", "UNTRACKED",
)  # fmt: skip
# "Ignored are untracked states of NONE, SOLD, and UNLINKED_RETURN" (the `states` filter)
UNTRACKED_FILTERS = ("NONE", "SOLD", "UNLINKED_RETURN")
# Page size: undocumented; Square staff on the forum report 100
# (developer.squareup.com/forums/t/batch-retrieve-counts-page-size/2106)
PAGE = 100
_QUANTITY = re.compile(r"^-?\d+(\.\d{1,5})?$")


def _strings(body: dict[str, Any], key: str) -> list[str] | None:
    if body.get(key) is None:
        return None
    values = f.opt_list(body, key, key)
    for k, value in enumerate(values):
        if not isinstance(value, str) or not value:
            raise bad_request("EXPECTED_STRING", f"Expected a string for `{key}[{k}]`.", f"{key}[{k}]")
    return values


def batch_retrieve_counts(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    object_ids = _strings(body, "catalog_object_ids")
    location_ids = _strings(body, "location_ids")
    after = f.rfc3339(body["updated_after"], "updated_after") if body.get("updated_after") is not None else None
    states = None
    if body.get("states") is not None:
        states = [f.enum(s, STATES, f"states[{k}]") for k, s in enumerate(f.opt_list(body, "states", "states"))]
        states = [s for s in states if s not in UNTRACKED_FILTERS] or None
    limit = f.limit(body, "limit", PAGE, 1000)
    counts = [
        c
        for c in m.inventory.values()
        if (object_ids is None or c["catalog_object_id"] in object_ids)
        and (location_ids is None or c["location_id"] in location_ids)
        and (states is None or c["state"] in states)
        and (after is None or f.rfc3339(c["calculated_at"], "calculated_at") > after)
    ]
    counts.sort(key=lambda c: c["calculated_at"], reverse=True)
    page, following = paginate(counts, f.opt_str(body, "cursor", "cursor"), limit, "inventory.counts")
    out: dict[str, Any] = {"counts": [dict(c) for c in page]} if page else {}
    if following:
        out["cursor"] = following
    return out


def set_count(m: Merchant, variation_id: str, quantity: Any) -> dict[str, Any]:
    """A physical count of a variation's IN_STOCK quantity at the merchant's location, as the seller records it."""
    if isinstance(quantity, bool) or not isinstance(quantity, int | str) or not _QUANTITY.match(str(quantity)):
        raise ValueError("'quantity' must be an integer or a decimal string with at most 5 decimals")
    variation = catalog.live(m, variation_id, "ITEM_VARIATION")
    if variation is None:
        raise ValueError(f"no live ITEM_VARIATION with id {variation_id!r}")
    counted = {
        "catalog_object_id": variation_id,
        "catalog_object_type": "ITEM_VARIATION",
        "state": "IN_STOCK",
        "location_id": m.location_id,
        "quantity": str(quantity),
        "calculated_at": m.now(),
    }
    m.inventory[variation_id] = counted
    if Decimal(str(quantity)) <= 0 and catalog.tracked(m, variation) and not catalog.sold_out(m, variation):
        catalog.set_sold_out(m, variation_id, True)
    # Square guarantees no order between webhooks: the catalog version's goes first, so a test can drop it alone
    m.emit("inventory.count.updated", "inventory_counts", variation_id, {"inventory_counts": [dict(counted)]})
    return counted
