"""Square webhook signatures: base64(HMAC-SHA256(key = subscription signature key, msg = notification URL + raw body)).

The URL must be exactly the one registered with Square (scheme, host, path, query), so it is configuration, not
something read from the request (a proxy may rewrite the Host header)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def signature(signature_key: str, notification_url: str, raw_body: bytes) -> str:
    digest = hmac.new(signature_key.encode(), notification_url.encode() + raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_valid(signature_key: str, notification_url: str, raw_body: bytes, header_value: str | None) -> bool:
    if not header_value:
        return False
    # As bytes: compare_digest refuses a str with non-ASCII characters (TypeError), and a header is anyone's to write.
    expected = signature(signature_key, notification_url, raw_body).encode()
    return hmac.compare_digest(expected, header_value.strip().encode("utf-8", "surrogateescape"))
