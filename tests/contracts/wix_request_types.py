"""The REST request types the Wix sandbox checks requests against, generated from the pinned official SDK.

devstack/wix_sandbox/rest_requests.json is this module's output, kept in the repository so the sandbox needs no Node:
`python -m tests.contracts.wix_request_types` regenerates it (after a change of contracts/wix/package-lock.json), and
tests/contracts/test_wix_orders_responses.py fails while it differs from what the SDK declares.
"""

from __future__ import annotations

import json
from typing import Any

from devstack.wix_sandbox.rest_types import REQUESTS_FILE
from tests.contracts.wix_sdk import WixSdk

# module -> the request types of the routes the sandbox serves for it
REQUEST_TYPES: dict[str, tuple[str, ...]] = {
    "@wix/auto_sdk_ecom_orders": (
        "CreateOrderRequest", "GetOrderRequest", "SearchOrdersRequest", "CancelOrderRequest",
    ),
    "@wix/auto_sdk_ecom_order-fulfillments": (
        "ListFulfillmentsForSingleOrderRequest", "ListFulfillmentsForMultipleOrdersRequest", "CreateFulfillmentRequest",
        "UpdateFulfillmentRequest", "DeleteFulfillmentRequest",
    ),
    "@wix/auto_sdk_business-tools_locations": ("ListLocationsRequest",),
    "@wix/auto_sdk_restaurants_operations": ("ListOperationsRequest", "GetOperationRequest"),
}  # fmt: skip


def generate(sdk: WixSdk) -> dict[str, Any]:
    """{type name: JSON Schema with the type as its root}, in a stable order."""
    return {name: sdk.schema(module, name) for module, names in REQUEST_TYPES.items() for name in names}


def render(types: dict[str, Any]) -> str:
    return json.dumps(types, sort_keys=True, separators=(",", ":")) + "\n"


def main() -> None:
    sdk = WixSdk()
    try:
        REQUESTS_FILE.write_text(render(generate(sdk)))
    finally:
        sdk.close()
    print(f"wrote {REQUESTS_FILE}")


if __name__ == "__main__":
    main()
