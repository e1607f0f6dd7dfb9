"""Search Orders' filter and sort rules as the SDK declares them (OrderSearchSpec in the orders module's typings: which
fields take which operators, which may be sorted): posbridge's searches keep to them, and the sandbox allows no more."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.httpserver import BackgroundServer
from devstack.wix_sandbox import WixSandbox
from devstack.wix_sandbox import orders as sandbox_orders
from posbridge import RESTAURANTS_APP_ID
from posbridge.wix.orders_api import WixOrders
from tests.contracts.wix_sdk import CONTRACTS, WixSdk
from tests.contracts.wix_site import APP_ID, APP_SECRET, ORDERS, Site, install
from tests.contracts.wix_wire import RecordingWix

pytestmark = pytest.mark.contracts

ALL_OPERATORS = frozenset(
    {"$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists", "$startsWith", "$contains", "$hasSome",
     "$hasAll"}
)  # fmt: skip


@dataclass(frozen=True)
class Rule:
    operators: frozenset[str]
    sortable: bool


def _rest_name(sdk_field: str) -> str:
    """The spec names fields as the SDK does (`_id`, `_createdDate`); REST says `id`, `createdDate`."""
    return ".".join(part[1:] if part.startswith("_") else part for part in sdk_field.split("."))


def search_spec() -> dict[str, Rule]:
    """REST field name -> its operators and whether it sorts, read from `interface OrderSearchSpec`."""
    [typings] = (CONTRACTS / "node_modules" / ORDERS / "build" / "cjs").glob("ecom-v1-order-orders.universal-*.d.ts")
    text = Path(typings).read_text()
    spec = text[text.index("interface OrderSearchSpec extends SearchSpec {") :]
    spec = spec[: spec.index("\n}\n")]
    rules: dict[str, Rule] = {}
    pattern = r"operators: (\[[^\]]*\]|'\*');\s*fields: \[([^\]]*)\];\s*sort: '(\w+)'"
    for operators, fields, sort in re.findall(pattern, spec):
        ops = ALL_OPERATORS if operators == "'*'" else frozenset(re.findall(r"'(\$\w+)'", operators))
        for field in re.findall(r"'([^']+)'", fields):
            rules[_rest_name(field)] = Rule(ops, sort != "NONE")
    assert rules, "OrderSearchSpec not found in the typings"
    return rules


def test_posbridges_searches_keep_to_the_search_spec() -> None:
    # Given every search posbridge makes (find an imported order, the reconciliation's first page)
    wire = RecordingWix(lambda request: {"orders": []})
    wix = WixOrders(wire.client())
    wix.find_by_external_id("POS-1")
    wix.search_restaurant_orders("2026-11-20T18:00:00.000Z")
    spec = search_spec()
    # Then each filter field takes its operator, and each sort field sorts
    for sent in wire.sent:
        search = sent.body["search"]
        for field, condition in search.get("filter", {}).items():
            assert set(condition) <= spec[field].operators, field
        for entry in search.get("sort", []):
            assert spec[entry["fieldName"]].sortable, entry["fieldName"]
    assert wire.sent[1].body["search"]["filter"]["lineItems.catalogReference.appId"] == {
        "$hasSome": [RESTAURANTS_APP_ID]
    }


def test_the_sandbox_filters_and_sorts_no_more_than_the_spec_allows() -> None:
    spec = search_spec()
    for field, operators in sandbox_orders.SEARCH_FIELDS.items():
        assert field in spec and operators <= spec[field].operators, field
    for field in sandbox_orders.SORTABLE_FIELDS:
        assert spec[field].sortable, field


@pytest.fixture(scope="module")
def site(wix_sdk: WixSdk) -> Iterator[Site]:
    box = WixSandbox(APP_ID, APP_SECRET)
    with BackgroundServer(box.wsgi_app) as server:
        yield install(box, server.url, wix_sdk)


@pytest.mark.parametrize("field", ["id", "channelInfo.externalOrderId", "lineItems.catalogReference.appId"])
def test_sorting_by_a_field_the_spec_does_not_sort_is_a_400(site: Site, field: str) -> None:
    # Given a search sorted by a field Search Orders can filter on but not sort by
    search = {"sort": [{"fieldName": field, "order": "ASC"}], "cursorPaging": {"limit": 10}}
    # When the SDK sends it / Then the sandbox refuses it, as Wix does
    exchange = site.send(ORDERS, "searchOrders", search)
    assert exchange.status == 400, exchange.body
