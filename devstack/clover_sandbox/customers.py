"""Clover's customers: `GET/POST /customers`, `POST /customers/{customerId}/email_addresses` and `/phone_numbers`
(routes `customersGetCustomers`, `customersCreateCustomer`, `customersCreateCustomerEmailAddress`,
`customersCreateCustomerPhoneNumber` of the client generated from Clover's Platform API OpenAPI, repo
cmacha2/GlobalStock-Manager-backend `.api/apis/clover-platform/index.js`). Fields: npm `remote-pay-cloud-api` 4.0.5
`customers/Customer.js` (`id, merchant, firstName, lastName, marketingAllowed, customerSince, orders, addresses,
emailAddresses, phoneNumbers, cards, metadata`), `customers/EmailAddress.js` (`id, emailAddress, verifiedTime,
primaryEmail`), `customers/PhoneNumber.js` (`id, phoneNumber`).

Sandbox choices (UNCONFIRMED by Clover): the list filters modelled are `emailAddress=` and `phoneNumber=` (the forms
integrators use: exact, email case-insensitive); a customer is created with names only and its e-mail and phone are
added through their own routes (the sandbox refuses them nested in the create, the stricter reading); the lists
expand `emailAddresses` and `phoneNumbers` only.
"""

from __future__ import annotations

from typing import Any

from devstack.clover_sandbox import schema
from devstack.clover_sandbox.errors import bad_request, not_found
from devstack.clover_sandbox.ids import new_id
from devstack.clover_sandbox.state import Merchant, SandboxState, now_ms

NAME_MAX = 64  # Customer.java javadoc limits are not in the JS classes: the sandbox takes a conservative 64
EXPANDS = {"emailAddresses", "phoneNumbers"}
FILTERS = {"emailAddress", "phoneNumber"}


def _present(customer: dict[str, Any], expand: set[str]) -> dict[str, Any]:
    row = {k: v for k, v in customer.items() if k not in ("emailAddresses", "phoneNumbers")}
    for key in EXPANDS & expand:
        row[key] = {"elements": [dict(e) for e in customer[key]]}
    return row


def list_customers(m: Merchant, filters: list[str], args: dict[str, str]) -> dict[str, Any]:
    expand = {f.strip() for f in (args.get("expand") or "").split(",") if f.strip()}
    if expand - EXPANDS:
        raise bad_request("bad_request", f"Invalid expand: {','.join(sorted(expand))}")
    rows = list(m.customers.values())
    for clause in filters:
        name, found, value = clause.partition("=")
        if not found or name not in FILTERS or not value:
            raise bad_request("bad_request", f"Invalid filter: {clause}")
        if name == "emailAddress":
            rows = [c for c in rows if any(e["emailAddress"].lower() == value.lower() for e in c["emailAddresses"])]
        else:
            rows = [c for c in rows if any(p["phoneNumber"] == value for p in c["phoneNumbers"])]
    return {"elements": [_present(c, expand) for c in rows]}


def create_customer(state: SandboxState, m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    schema.check(body, schema.CUSTOMER)
    if not body:
        raise bad_request("bad_request", "The request body cannot be null")  # "the request body cannot be null"
    for key in ("firstName", "lastName"):
        if len(body.get(key) or "") > NAME_MAX:
            raise bad_request("bad_request", f"{key} is longer than {NAME_MAX} characters")
    customer_id = new_id()
    customer: dict[str, Any] = {
        "id": customer_id,
        "merchant": {"id": m.merchant_id},
        "firstName": body.get("firstName"),
        "lastName": body.get("lastName"),
        "marketingAllowed": bool(body.get("marketingAllowed", False)),
        "customerSince": now_ms(state.clock),
        "emailAddresses": [],
        "phoneNumbers": [],
    }
    m.customers[customer_id] = customer
    state.emit(m.merchant_id, "C", customer_id, "CREATE")
    return _present(customer, set())


def add_contact(state: SandboxState, m: Merchant, customer_id: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """`kind`: emailAddresses | phoneNumbers."""
    customer = m.customers.get(customer_id)
    if customer is None:
        raise not_found()
    key = "emailAddress" if kind == "emailAddresses" else "phoneNumber"
    schema.check(body, {key: "str"})
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise bad_request("bad_request", f"{key} is required")
    if key == "emailAddress" and "@" not in value:
        raise bad_request("bad_request", "Invalid email address")
    entry = {"id": new_id(), key: value}
    customer[kind].append(entry)
    state.emit(m.merchant_id, "C", customer_id, "UPDATE")
    return entry


def get_customer(m: Merchant, customer_id: str) -> dict[str, Any]:
    customer = m.customers.get(customer_id)
    if customer is None:
        raise not_found()
    return _present(customer, EXPANDS)
