"""The restaurant page's recent orders (posbridge/store/activity.py) against the mappings table deployed from
template.yaml into moto, read from the records the flows write: both ways, newest first, skips with their reason,
the kitchen's progress on each, and never another site's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devstack.app import Devstack
from posbridge.domain.order_mapping import OrderMapping
from posbridge.domain.order_sync import PosOrderSync
from posbridge.domain.pos_order import PosPosition
from posbridge.store.activity import OrderActivityStore
from posbridge.store.order_sync import OrderSyncStore
from posbridge.store.orders import OrderMappings

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def table_name(devstack: Devstack) -> str:
    assert devstack.stack is not None
    return devstack.stack.output("MappingsTableName")


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def test_recent_orders_both_ways_newest_first_with_skips_and_progress_and_only_the_sites_own(table_name: str) -> None:
    site, other = f"inst-{uuid.uuid4()}", f"inst-{uuid.uuid4()}"
    mappings, syncs = OrderMappings(table_name), OrderSyncStore(table_name)
    # Given an online order sent to Square (unpaid: to collect) that the kitchen then accepted, an order rung up on
    # Square and imported into Wix, an online order skipped, a POS order skipped, and another site's order
    mappings.save(site, OrderMapping(wix_order_id="w-online", pos_order_id="p-online", lines={"l1": "u1"},
                                     created_at=_at(1), to_collect_minor=1250))  # fmt: skip
    syncs.record(site, PosOrderSync(pos_order_id="p-online", wix_order_id="w-online", wix_status="Accepted",
                                    position=PosPosition(version=3, updated_at=T0 + timedelta(minutes=2))))  # fmt: skip
    mappings.save(site, OrderMapping(wix_order_id="w-rung", pos_order_id="p-rung", lines={"l1": "u1"},
                                     created_at=_at(3), origin="pos"))  # fmt: skip
    syncs.record(site, PosOrderSync(pos_order_id="p-rung", wix_order_id="w-rung", wix_status="Ready",
                                    position=PosPosition(version=2, updated_at=T0 + timedelta(minutes=4))))  # fmt: skip
    mappings.record_skip(site, "w-store", "no_restaurant_lines")
    syncs.record_skip(site, "p-canceled", "canceled_before_import")
    mappings.save(other, OrderMapping(wix_order_id="w-other", pos_order_id="p-other", lines={}, created_at=_at(9)))

    # When the site's page reads its recent orders
    rows = OrderActivityStore(table_name).recent(site)

    # Then it has each of its orders once, newest first (the skips were recorded now, after the others)
    assert [(r.direction, r.wix_order_id, r.pos_order_id, r.outcome) for r in rows[2:]] == [
        ("pos_to_wix", "w-rung", "p-rung", "imported"),
        ("wix_to_pos", "w-online", "p-online", "sent"),
    ]
    assert {(r.direction, r.wix_order_id, r.pos_order_id, r.skip_reason) for r in rows[:2]} == {
        ("wix_to_pos", "w-store", None, "no_restaurant_lines"),
        ("pos_to_wix", None, "p-canceled", "canceled_before_import"),
    }
    # And the kitchen's progress and what to collect show on the orders, and no other site's order is there
    online, rung = rows[3], rows[2]
    assert (online.wix_status, online.to_collect_minor) == ("Accepted", 1250)
    assert rung.wix_status == "Ready"
    assert all("other" not in (r.wix_order_id or "") for r in rows) and len(rows) == 4
