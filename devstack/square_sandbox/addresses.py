"""Square's `Address` and phone rules as the Customers and Orders APIs apply them (squareup 46.0.0.20260916)."""

from __future__ import annotations

import copy
import re
from typing import Any

from devstack.square_sandbox import fields as f
from devstack.square_sandbox.errors import bad_request
from posbridge.pos.square.address import SQUARE_COUNTRIES  # a copy of square/types/country.py, not adapter logic

# square/types/address.py: every field is a string; `country` is the `Country` enum.
ADDRESS_FIELDS = (
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "locality",
    "sublocality",
    "sublocality_2",
    "sublocality_3",
    "administrative_district_level_1",
    "administrative_district_level_2",
    "administrative_district_level_3",
    "postal_code",
    "first_name",
    "last_name",
)
# Customers API (customers/raw_client.py create/update): "must be valid and can contain 9-16 digits, with an optional
# `+` prefix and country code". Separators: only those Square's own examples show ("+1 (206) 222-3456"), stricter
# than Square may be, never more lenient.
_PHONE_SHAPE = re.compile(r"^\+?[0-9() \-]+$")
PHONE_DIGITS = range(9, 17)


def address(parent: dict[str, Any], key: str, field: str) -> dict[str, Any] | None:
    raw = f.opt_object(parent, key, field)
    if raw is None:
        return None
    for name in ADDRESS_FIELDS:
        f.opt_str(raw, name, f"{field}.{name}")
    country = raw.get("country")
    if country is not None and country not in SQUARE_COUNTRIES:
        raise bad_request(
            "INVALID_ENUM_VALUE", f"`{field}.country` must be a Country; got {country!r}.", f"{field}.country"
        )
    return copy.deepcopy(raw)


def is_valid_phone(phone: str) -> bool:
    return bool(_PHONE_SHAPE.match(phone)) and sum(c.isdigit() for c in phone) in PHONE_DIGITS


def e164(phone: str) -> str | None:
    """The standard E.164 form Square's exact search compares ("+1 (206) 222-3333" -> "+12062223333"); a number
    without its "+" and country code has none here (Square would need the seller's country to guess it)."""
    return "+" + "".join(c for c in phone if c.isdigit()) if phone.strip().startswith("+") else None
