"""What the sandbox accepts in a request body: Clover's field names and JSON types, nothing else.

Field names come from Clover's own generated types: the v3 data classes of npm `remote-pay-cloud-api` 4.0.5 (ISC,
repo clover/remote-pay-cloud-api; `order/LineItem.js`, `order/Modification.js`, `order/Discount.js`,
`base/ServiceCharge.js`, `payments/Payment.js`, `base/Tender.js`, `order/OrderType.js`) and, for the atomic order
body, the `OrderCart` / `OrderSubmitRequest` / `OrderCheckoutRequest` models of a client generated from Clover's
Platform API OpenAPI document (openapi-typescript-codegen; `orderCart` holds `id, currency, title, note,
clientCreatedTime, serviceCharge, discounts, lineItems, orderType, merchant, groupLineItems`: no
`externalReferenceId`). Money is integer cents ("Total price of the order in cents", Order.js).

A field Clover's model lists but the sandbox does not model (read-only reporting fields such as
`priceWithModifiers`, `refunded`) is refused too: the sandbox may be stricter than Clover, never laxer. An unknown
field or a wrong JSON type is Clover's plain 400 `bad_request` (docs.clover.com/docs/working-with-orders).
"""

from __future__ import annotations

from typing import Any

from devstack.clover_sandbox.errors import bad_request

Spec = Any  # "str" | "int" | "bool" | {"field": Spec} (an object) | ["list", Spec]

REF: Spec = {"id": "str"}  # base.Reference ({id}); Clover refers to other objects by id only
MODIFICATION: Spec = {"modifier": REF, "name": "str", "amount": "int"}  # order/Modification.js
DISCOUNT: Spec = {"name": "str", "amount": "int", "percentage": "int", "discount": REF}  # order/Discount.js
LINE_ITEM: Spec = {  # order/LineItem.js: the writable subset the sandbox models
    "item": REF,
    "name": "str",
    "alternateName": "str",
    "price": "int",
    "unitQty": "int",
    "note": "str",
    "printed": "bool",
    "itemCode": "str",
    "discounts": ["list", DISCOUNT],
    "modifications": ["list", MODIFICATION],
    "taxRates": ["list", REF],
    "isRevenue": "bool",
}
ORDER_CART: Spec = {  # OrderCart (generated from Clover's OpenAPI)
    "id": "str",
    "currency": "str",
    "title": "str",
    "note": "str",
    "clientCreatedTime": "int",
    "serviceCharge": REF,
    "discounts": ["list", DISCOUNT],
    "lineItems": ["list", LINE_ITEM],
    "orderType": REF,
    "merchant": REF,
    "groupLineItems": "bool",
}
ATOMIC_REQUEST: Spec = {"orderCart": ORDER_CART}  # OrderSubmitRequest / OrderCheckoutRequest
PAYMENT: Spec = {  # payments/Payment.js: what an external-tender record takes
    "amount": "int",
    "tipAmount": "int",
    "taxAmount": "int",
    "tender": REF,
    "externalPaymentId": "str",
    "note": "str",
    "offline": "bool",
}
ORDER_TYPE: Spec = {  # order/OrderType.js: the writable subset
    "label": "str",
    "labelKey": "str",
    "taxable": "bool",
    "isDefault": "bool",
    "isHidden": "bool",
    "systemOrderTypeId": "str",
}
CUSTOMER: Spec = {"firstName": "str", "lastName": "str", "marketingAllowed": "bool"}  # customers/Customer.js
REFRESH: Spec = {"client_id": "str", "refresh_token": "str"}  # docs.clover.com/docs/refresh-access-tokens


def check(body: Any, spec: Spec, path: str = "") -> None:
    """Raise Clover's 400 at the first field that does not fit `spec`."""
    where = path or "body"
    if isinstance(spec, dict):
        if not isinstance(body, dict):
            raise bad_request("bad_request", f"{where} must be an object")
        for key, value in body.items():
            if key not in spec:
                raise bad_request("bad_request", f"Unrecognized field {path + '.' if path else ''}{key}")
            if value is None:
                continue  # Clover's models are nullable
            check(value, spec[key], f"{path + '.' if path else ''}{key}")
        return
    if isinstance(spec, list):
        if not isinstance(body, list):
            raise bad_request("bad_request", f"{where} must be an array")
        for i, element in enumerate(body):
            check(element, spec[1], f"{where}[{i}]")
        return
    kinds = {"str": str, "int": int, "bool": bool}
    wanted = kinds[spec]
    if (isinstance(body, bool) and wanted is not bool) or not isinstance(body, wanted):
        raise bad_request("bad_request", f"{where} must be of type {spec}")
