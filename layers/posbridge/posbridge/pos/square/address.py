"""The canonical Address -> Square's `Address` (squareup 46.0.0.20260916, square/types/address.py).

Square lays addresses out after Google's address format (developer.squareup.com/docs/build-basics/common-data-types/
working-with-addresses): `address_line_1`/`address_line_2` free-form street lines, `locality` the city,
`administrative_district_level_1` the state or province ("MA" in Square's own customer example, i.e. the subdivision
part of the ISO 3166-2 code "US-MA" that Wix sends), `postal_code`, and `country` from Square's `Country` enum.
"""

from __future__ import annotations

from typing import Any

from posbridge.domain.order import Address

# Square's `Country` enum (square/types/country.py): ISO 3166-1 alpha-2 plus "ZZ" (unknown). A code Square does not
# list (e.g. "XK") is left off rather than failing the order on an enum error.
SQUARE_COUNTRIES = frozenset({
    "ZZ", "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB",
    "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ",
    "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ",
    "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR",
    "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY",
    "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO",
    "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS",
    "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR",
    "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU",
    "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO",
    "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV",
    "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT",
    "ZA", "ZM", "ZW",
})  # fmt: skip


def square_country(country: str | None, subdivision: str | None) -> str | None:
    """The country, or the one an ISO 3166-2 subdivision code starts with ("US-NY" -> "US"), if Square knows it."""
    code = (country or "").strip().upper() or (subdivision or "").strip().upper().partition("-")[0]
    return code if code in SQUARE_COUNTRIES else None


def district(subdivision: str | None) -> str | None:
    """ISO 3166-2 "US-NY" -> "NY": the part after the country code, which is what Square's examples store."""
    value = (subdivision or "").strip()
    if not value:
        return None
    country, dash, local = value.partition("-")
    return local if dash and len(country) == 2 and local else value


def to_square_address(address: Address | None) -> dict[str, Any] | None:
    """Square's Address with only the fields we know; None when nothing is left."""
    if address is None:
        return None
    fields = {
        "address_line_1": address.line1,
        "address_line_2": address.line2,
        "locality": address.city,
        "administrative_district_level_1": district(address.subdivision),
        "postal_code": address.postal_code,
        "country": square_country(address.country, address.subdivision),
    }
    square = {key: value for key, value in fields.items() if value}
    return square or None
