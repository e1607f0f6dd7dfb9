"""Customers: reuse the seller's existing profile (exact e-mail, then exact phone) or create one, idempotently.

Square's search index lags behind creates (seconds, occasionally a minute), so a search alone cannot stop a
duplicate when the same buyer orders twice in quick succession: the caller's deterministic idempotency key does.
"""

from __future__ import annotations

import re
from typing import Any

from posbridge.domain.order import Buyer
from posbridge.errors import PermanentError
from posbridge.pos.square.client import SquareClient, fit_idempotency_key

# Square's CreateCustomer reference documents no maximum for idempotency_key; 45 is the smallest limit Square
# documents on any endpoint (CreatePayment), so longer keys are hashed down to stay valid whatever the real limit.
CUSTOMER_KEY_MAX = 45
_PHONE_SEPARATORS = re.compile(r"[\s().\-]")
_COMPACT_PHONE = re.compile(r"^\+?\d{7,16}$")


def normalise_email(email: str | None) -> str | None:
    value = (email or "").strip()
    return value or None


def normalise_phone(phone: str | None) -> str | None:
    """Spell a phone one way ("+1 (212) 555-0100" -> "+12125550100"): exact search matches one spelling only."""
    value = (phone or "").strip()
    compact = _PHONE_SEPARATORS.sub("", value)
    if _COMPACT_PHONE.match(compact):
        return compact
    return value or None


def find_or_create(client: SquareClient, buyer: Buyer, idempotency_key: str) -> str | None:
    email, phone = normalise_email(buyer.email), normalise_phone(buyer.phone)
    if email is None and phone is None:
        return None
    for field, value in (("email_address", email), ("phone_number", phone)):
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
