"""GET /admin/tenants' data access against the mappings table deployed from template.yaml into moto: the directory is
read a page at a time, each page with one Query and one BatchGetItem however many tenants it holds."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack.app import Devstack
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.domain.tenant_records import Installation
from posbridge.store.lifecycle import LifecycleStore
from posbridge.store.tenants import TenantStore


@pytest.fixture(scope="module")
def table_name(devstack: Devstack) -> str:
    assert devstack.stack is not None
    return devstack.stack.output("MappingsTableName")


@pytest.fixture
def dynamodb_calls() -> Iterator[Counter[str]]:
    """Operations the tenant stores send to DynamoDB (counted on the session boto3 makes its resources from)."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events = boto3.DEFAULT_SESSION._session.get_component("event_emitter") if boto3.DEFAULT_SESSION else None
    assert events is not None
    events.register("before-call.dynamodb", count)
    yield calls
    events.unregister("before-call.dynamodb", count)


def _connected(table_name: str, instance_id: str) -> None:
    TenantStore(table_name).put(
        Tenant(
            instance_id=instance_id,
            pos=PosConnection(provider="square", merchant_id=f"M-{instance_id}", location_id=f"L-{instance_id}"),
            settings=TenantSettings(),
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
        )
    )


def test_the_directory_is_paged_in_order_two_requests_a_page(table_name: str, dynamodb_calls: Counter[str]) -> None:
    # Given 5 connected tenants and 3 awaiting their POS (among the session's others)
    prefix = f"dir-{uuid.uuid4().hex[:6]}"
    store = LifecycleStore(table_name)
    connected, pending = [f"{prefix}-c{i}" for i in range(5)], [f"{prefix}-p{i}" for i in range(3)]
    for instance_id in connected:
        _connected(table_name, instance_id)
    for instance_id in pending:
        store.save_installation(Installation(instance_id, "installed", installed_at="2026-01-02T00:00:00Z"))
    # When the whole directory is read 3 entries at a time
    dynamodb_calls.clear()
    pages, after = [], None
    while True:
        page = store.directory_page(3, after)
        pages.append(page.entries)
        if page.last is None:
            break
        after = page.last
    # Then every entry comes once, in instance id order, no page over 3, the last one not empty
    ids = [e.instance_id for entries in pages for e in entries]
    assert ids == sorted(set(ids)) and len(pages) > 1
    assert all(0 < len(entries) <= 3 for entries in pages)
    mine = {e.instance_id: e for entries in pages for e in entries if e.instance_id.startswith(prefix)}
    assert sorted(mine) == sorted(connected + pending)
    # And each carries what is stored of it: the connected ones their tenant, the others their installation
    assert all((t := mine[i].tenant) is not None and t.pos.location_id == f"L-{i}" for i in connected)
    assert all(mine[i].tenant is None and mine[i].installation is not None for i in pending)
    # And each page cost one Query and one BatchGetItem (not a GetItem per tenant)
    assert dynamodb_calls == Counter({"Query": len(pages), "BatchGetItem": len(pages)})
