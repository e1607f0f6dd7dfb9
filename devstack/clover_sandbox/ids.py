"""Clover ids: 13 characters from an upper-case alphanumeric alphabet (SDK `ID_MAX_LEN = 13`, clover-android-sdk
v3 data classes; doc examples such as `"O:GHIVJT2ABCRSC"` in docs.clover.com/docs/webhooks)."""

from __future__ import annotations

import secrets
import string

ID_LENGTH = 13
_ALPHABET = string.ascii_uppercase + string.digits


def new_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))


def is_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == ID_LENGTH and all(c in _ALPHABET for c in value)
