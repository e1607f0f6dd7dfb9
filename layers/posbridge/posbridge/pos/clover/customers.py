"""The buyer as a Clover customer: looked up by e-mail, then phone, else created (Flow 1, as Square's).

Routes (client generated from Clover's Platform API OpenAPI, cmacha2/GlobalStock-Manager-backend
`.api/apis/clover-platform/index.js`): `GET /customers` ("Get a list of customers"), `POST /customers` ("Creates
customer record for a merchant. Note that the request body cannot be null."), `POST /customers/{customerId}/
email_addresses` and `/phone_numbers`. Fields: npm `remote-pay-cloud-api` 4.0.5 `customers/Customer.js`
(`firstName, lastName, marketingAllowed, emailAddresses, phoneNumbers`), `EmailAddress.js` (`emailAddress`),
`PhoneNumber.js` (`phoneNumber`). Filters `emailAddress=` / `phoneNumber=`: the forms integrators use (Clover's filter
list for customers is not in a source we hold: UNCONFIRMED). `marketingAllowed` stays false: the buyer agreed to
nothing with the restaurant.

Clover documents no idempotency key: a create whose reply is lost is looked up again (by the e-mail or phone it was
about to get) before it is made twice; a customer made but not yet given its e-mail can still be duplicated, which
costs a duplicate contact record, never money.
"""

from __future__ import annotations

from urllib.parse import quote

from posbridge.domain.order import Buyer
from posbridge.errors import PermanentError
from posbridge.pos.clover.client import CloverClient, OutcomeUnknown

NAME_MAX = 64


def find(client: CloverClient, buyer: Buyer) -> str | None:
    for field, value in (("emailAddress", buyer.email), ("phoneNumber", buyer.phone)):
        if not value:
            continue
        found = client.get("/customers", [("filter", f"{field}={value}")]).get("elements") or []
        ids = sorted(str(c["id"]) for c in found if isinstance(c, dict) and c.get("id"))
        if ids:
            return ids[0]  # several: the same one every time
    return None


def find_or_create(client: CloverClient, buyer: Buyer) -> str | None:
    if not buyer.email and not buyer.phone:
        return None
    found = find(client, buyer)
    if found is not None:
        return found
    body = {
        "firstName": (buyer.first_name or "")[:NAME_MAX] or None,
        "lastName": (buyer.last_name or "")[:NAME_MAX] or None,
        "marketingAllowed": False,
    }
    try:
        made = client.post("/customers", {k: v for k, v in body.items() if v is not None}, safe=False)
    except OutcomeUnknown:
        found = find(client, buyer)
        if found is None:
            raise
        return found
    customer_id = made.get("id")
    if not isinstance(customer_id, str) or not customer_id:
        raise PermanentError("clover_unexpected_response", "Clover's customer answer has no id.")
    path = f"/customers/{quote(customer_id, safe='')}"
    if buyer.email:
        client.post(f"{path}/email_addresses", {"emailAddress": buyer.email}, safe=False)
    if buyer.phone:
        client.post(f"{path}/phone_numbers", {"phoneNumber": buyer.phone}, safe=False)
    return customer_id
