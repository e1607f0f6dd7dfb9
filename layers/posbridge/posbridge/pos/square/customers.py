"""Customers: reuse the seller's existing profile (exact e-mail, then exact phone) or create one, idempotently.

Square's search index lags behind creates (seconds, occasionally a minute), so a search alone cannot stop a
duplicate when the same buyer orders twice in quick succession: the caller's deterministic idempotency key does.

Phone numbers (squareup 46.0.0.20260916 customers/raw_client.py create/update, and developer.squareup.com/docs/
customers-api/use-the-api/keep-records#phone-number): "must be valid and can contain 9-16 digits, with an optional `+`
prefix and country code"; Square answers INVALID_PHONE_NUMBER otherwise. Formatting is accepted and kept: Square's own
example profile stores "+1 (206) 222-3456", and its exact phone search converts stored numbers to E.164 itself
(types/customer_filter.py). A number outside the rule is left off the customer rather than failing the order.
"""

from __future__ import annotations

import re
from typing import Any

from posbridge.domain.order import Buyer
from posbridge.errors import PermanentError
from posbridge.pos.square.address import to_square_address
from posbridge.pos.square.client import SquareClient, fit_idempotency_key

# Square's CreateCustomer reference documents no maximum for idempotency_key; 45 is the smallest limit Square
# documents on any endpoint (CreatePayment), so longer keys are hashed down to stay valid whatever the real limit.
CUSTOMER_KEY_MAX = 45
PHONE_DIGITS_MIN, PHONE_DIGITS_MAX = 9, 16
# Digits, an optional leading "+", and the separators Square's examples show (spaces, parentheses, hyphens). Dots,
# common in North American numbers but in no Square example, become spaces; anything else (letters, "ext", "%")
# makes the number unusable.
_PHONE_SHAPE = re.compile(r"^\+?[0-9() \-]+$")


def normalise_email(email: str | None) -> str | None:
    value = (email or "").strip()
    return value or None


def square_phone(phone: str | None) -> str | None:
    """The buyer's phone as Square takes it (formatting kept), or None when Square's rule would refuse it."""
    value = " ".join((phone or "").replace(".", " ").split())
    if not _PHONE_SHAPE.match(value):
        return None
    digits = sum(c.isdigit() for c in value)
    return value if PHONE_DIGITS_MIN <= digits <= PHONE_DIGITS_MAX else None


def find_or_create(client: SquareClient, buyer: Buyer, idempotency_key: str) -> str | None:
    email, phone = normalise_email(buyer.email), square_phone(buyer.phone)
    if email is None and phone is None:
        return None
    searches = [("email_address", email)]
    # Square's exact phone search takes an E.164-compliant number only (a leading "+" and country code:
    # types/customer_filter.py); a national number cannot be searched exactly, so it is only stored.
    if phone is not None and phone.startswith("+"):
        searches.append(("phone_number", phone))
    for field, value in searches:
        if value is not None:
            found = _search(client, field, value)
            if found is not None:
                return found
    body: dict[str, Any] = {"idempotency_key": fit_idempotency_key(idempotency_key, CUSTOMER_KEY_MAX)}
    for key, value in (
        ("given_name", buyer.first_name),
        ("family_name", buyer.last_name),
        ("email_address", email),
        ("phone_number", phone),
    ):
        if value:
            body[key] = value
    address = to_square_address(buyer.address)
    if address:
        body["address"] = address
    created = _customer_id(client.post("/v2/customers", body).get("customer"))
    if created is None:
        raise PermanentError("square_unexpected_response", "Square created a customer but returned no id.")
    return created


def _search(client: SquareClient, field: str, value: str) -> str | None:
    body = {"query": {"filter": {field: {"exact": value}}}, "limit": 1}
    customers = client.post("/v2/customers/search", body).get("customers") or []
    return _customer_id(customers[0]) if customers else None


def _customer_id(customer: Any) -> str | None:
    if isinstance(customer, dict) and isinstance(customer.get("id"), str) and customer["id"]:
        return str(customer["id"])
    return None
