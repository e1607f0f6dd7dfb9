"""Customers API: create (idempotent), retrieve, search by exact e-mail address or phone number."""

from __future__ import annotations

import copy
import re
from typing import Any

from devstack.square_sandbox import fields as f
from devstack.square_sandbox.addresses import address, e164, is_valid_phone
from devstack.square_sandbox.errors import bad_request, not_found
from devstack.square_sandbox.state import Merchant, new_id, paginate

NAME_FIELDS = ("given_name", "family_name", "company_name", "nickname")
IDENTITY_FIELDS = ("given_name", "family_name", "company_name", "email_address", "phone_number")
CREATE_SCOPE = "POST /v2/customers"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    key = f.opt_str(body, "idempotency_key", "idempotency_key", 192)
    if key:
        replayed = m.replay(CREATE_SCOPE, key, body)
        if replayed is not None:
            return replayed[1]
    if not any(body.get(k) for k in IDENTITY_FIELDS):
        raise bad_request(
            "MISSING_REQUIRED_PARAMETER",
            "At least one of given_name, family_name, company_name, email_address or phone_number is required.",
        )
    now = m.now()
    customer: dict[str, Any] = {"id": new_id(26), "created_at": now, "updated_at": now}
    for key_name in (*NAME_FIELDS, "reference_id", "note"):
        value = f.opt_str(body, key_name, key_name, 255)
        if value is not None:
            customer[key_name] = value
    email = f.opt_str(body, "email_address", "email_address", 254)
    if email is not None:
        if not _EMAIL.match(email):
            raise bad_request("INVALID_EMAIL_ADDRESS", f"`{email}` is not a valid e-mail address.", "email_address")
        customer["email_address"] = email
    phone = f.opt_str(body, "phone_number", "phone_number", 32)
    if phone is not None:
        if not is_valid_phone(phone):  # Square's code and shape (forum thread "Pre-populated data - Invalid phone")
            raise bad_request("INVALID_PHONE_NUMBER", "Invalid phone number.", "phone_number")
        customer["phone_number"] = phone
    postal = address(body, "address", "address")
    if postal:
        customer["address"] = postal
    customer.update(preferences={"email_unsubscribed": False}, creation_source="THIRD_PARTY", version=0)
    m.customers[customer["id"]] = customer
    response = {"customer": copy.deepcopy(customer)}
    if key:
        m.remember(CREATE_SCOPE, key, body, 200, response)
    return response


def retrieve(m: Merchant, customer_id: str) -> dict[str, Any]:
    customer = m.customers.get(customer_id)
    if customer is None:
        raise not_found(f"Customer `{customer_id}` not found.")
    return {"customer": copy.deepcopy(customer)}


def search(m: Merchant, body: dict[str, Any]) -> dict[str, Any]:
    query = f.opt_object(body, "query", "query") or {}
    where = f.opt_object(query, "filter", "query.filter") or {}
    unsupported = set(where) - {"email_address", "phone_number"}
    if unsupported:
        raise bad_request(
            "BAD_REQUEST",
            f"The sandbox filters on email_address and phone_number only, not {sorted(unsupported)}.",
            "query.filter",
        )
    customers = list(m.customers.values())
    for key in ("email_address", "phone_number"):
        matcher = f.opt_object(where, key, f"query.filter.{key}")
        if matcher is None:
            continue
        if set(matcher) - {"exact"}:
            raise bad_request("BAD_REQUEST", "The sandbox supports `exact` matching only.", f"query.filter.{key}")
        exact = f.req_str(matcher, "exact", f"query.filter.{key}.exact")
        if key == "email_address":  # e-mail addresses match case-insensitively
            customers = [c for c in customers if c.get(key, "").lower() == exact.lower()]
            continue
        # types/customer_filter.py: the exact query "must be of an E.164-compliant form" (leading "+", country code;
        # "+1 (206) 222-3333" is compliant) and stored numbers are converted to E.164 to match it.
        wanted = e164(exact)
        if wanted is None or not is_valid_phone(exact):
            raise bad_request("INVALID_VALUE", "The exact phone number must be E.164-compliant.", f"query.filter.{key}")
        customers = [c for c in customers if e164(c.get(key, "")) == wanted]
    page, following = paginate(
        customers, f.opt_str(body, "cursor", "cursor"), f.limit(body, "limit", 100, 100), "customers.search"
    )
    out: dict[str, Any] = {"customers": [copy.deepcopy(c) for c in page]} if page else {}
    if following:
        out["cursor"] = following
    return out
