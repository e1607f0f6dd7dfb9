"""Menus (New) requests: what posbridge.wix.menus_api sends is the request the official SDK builds for the same call."""

from __future__ import annotations

import pytest

from posbridge.wix.menus_api import MenusApi
from tests.contracts.wix_sdk import WixSdk
from tests.contracts.wix_wire import RecordingWix, assert_same_request

pytestmark = pytest.mark.contracts

ITEMS = "@wix/auto_sdk_restaurants_items"


def test_bulk_create_items_is_the_sdks_request(wix_sdk: WixSdk) -> None:
    # Given one item to create
    item = {"name": "Soup", "priceInfo": {"price": "4.50"}}
    created = {"results": [{"itemMetadata": {"originalIndex": 0, "success": True}, "item": {}}]}
    wire = RecordingWix(lambda request: created)

    # When posbridge creates it
    MenusApi(wire.client()).bulk_create("item", [item])

    # Then the SDK builds the very same request for bulkCreateItems
    assert_same_request(wire.only(), wix_sdk.request(ITEMS, "bulkCreateItems", [item], {"returnEntity": True}))
