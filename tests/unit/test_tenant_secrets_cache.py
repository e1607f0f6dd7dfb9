"""The tenant credentials cache (posbridge/secrets.py): a restaurant that reconnected Square is served with its new
token at once. Its new tenant record (updated_at) bypasses the five-minute cache once; the same record reads cached."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from posbridge.secrets import TenantSecrets


def test_a_changed_tenant_record_bypasses_the_credentials_cache_once(monkeypatch: pytest.MonkeyPatch) -> None:
    forced: list[bool] = []

    def get_secret(name: str, **options: Any) -> dict[str, str]:
        forced.append(bool(options.get("force_fetch")))
        return {"accessToken": "EAAA-token", "webhookSignatureKey": "key"}

    monkeypatch.setattr(parameters, "get_secret", get_secret)
    vault = TenantSecrets("posbridge/stack/tenants")
    # Given a worker that read a tenant's credentials for its record of 10:00, twice
    vault.pos_credentials("site-a", "2026-12-06T10:00:00Z")
    vault.pos_credentials("site-a", "2026-12-06T10:00:00Z")
    # When the tenant record changed (the owner reconnected Square at 10:05), and the worker reads again, twice
    vault.pos_credentials("site-a", "2026-12-06T10:05:00Z")
    vault.pos_credentials("site-a", "2026-12-06T10:05:00Z")
    # And another site, and a caller that names no record (the webhook ingest's signature key)
    vault.pos_credentials("site-b", "2026-12-06T10:05:00Z")
    vault.pos_credentials("site-a")
    # Then only the first read after the change bypassed the cache
    assert forced == [False, False, True, False, False, False]
