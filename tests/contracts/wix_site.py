"""A Wix sandbox site driven through the official SDK, for the orders contract tests (responses and webhooks)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from devstack.wix_sandbox import WixSandbox
from posbridge.domain.order_import import ImportLine, WixPlacement
from posbridge.pos.square.order_snapshot import snapshot_from_square
from posbridge.wix.order_import import create_order_body
from tests.contracts.wix_sdk import SdkExchange, WixSdk
from tests.unit.pos_fakes import BRIDGE_APP_ID, square_line, square_order

ORDERS = "@wix/auto_sdk_ecom_orders"
FULFILLMENTS = "@wix/auto_sdk_ecom_order-fulfillments"
LOCATIONS = "@wix/auto_sdk_business-tools_locations"
OPERATIONS = "@wix/auto_sdk_restaurants_operations"
APP_ID = "6f3c2b7e-0d1a-4c55-9a7e-1b2c3d4e5f60"
APP_SECRET = "app-secret"


@dataclass
class Site:
    """One installed app instance, called through the SDK with the token AppStrategy got from the sandbox."""

    sdk: WixSdk
    base_url: str
    instance_id: str
    location_id: str
    operation_id: str
    token: str

    def send(self, module: str, fn: str, *args: Any) -> SdkExchange:
        return self.sdk.send(self.base_url, {"Authorization": self.token}, module, fn, *args)

    def ok(self, module: str, fn: str, response_type: str, *args: Any) -> SdkExchange:
        """A 200 whose body is the REST response type exactly."""
        exchange = self.send(module, fn, *args)
        assert exchange.status == 200, exchange.body
        assert self.sdk.errors(module, response_type, exchange.body) == []
        return exchange


def install(box: WixSandbox, url: str, wix_sdk: WixSdk) -> Site:
    """A new instance on the sandbox, with the token @wix/sdk's AppStrategy gets from it."""
    instance_id = str(uuid.uuid4())
    summary = box.add_instance(instance_id)
    token = wix_sdk.app_token(APP_ID, APP_SECRET, instance_id, base_url=url)
    assert token["request"]["body"]["grant_type"] == "client_credentials"
    return Site(
        wix_sdk, url, instance_id, summary["locationId"], summary["operationId"], token["headers"]["Authorization"]
    )


def imported_order(site: Site, pos_id: str = "POS-1") -> dict[str, Any]:
    """posbridge's own Create Order body for a POS order, placed on this site's location and operation."""
    line = square_line("Margherita", 1250, "2", variation_name="Large", note="well done")
    snapshot = snapshot_from_square(square_order(pos_id, version=3, lines=[line]))
    placement = WixPlacement(item_id=str(uuid.uuid4()), menu_id=str(uuid.uuid4()), section_id=str(uuid.uuid4()))
    return create_order_body(
        snapshot,
        [ImportLine(line, placement) for line in snapshot.lines],
        location_id=site.location_id,
        operation_id=site.operation_id,
        bridge_app_id=BRIDGE_APP_ID,
        notify=False,
    )


def create(site: Site, pos_id: str = "POS-1") -> dict[str, Any]:
    body = imported_order(site, pos_id)
    exchange = site.ok(ORDERS, "createOrder", "CreateOrderResponse", body["order"], {"settings": body["settings"]})
    order: dict[str, Any] = exchange.body["order"]
    return order
