"""OrderMappings against the mappings table deployed from template.yaml into moto: two-way pairs in one transaction,
replay vs conflict, shared customers, tenant isolation and skips."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from botocore.stub import Stubber

from devstack.app import Devstack
from posbridge.domain.order_mapping import OrderMapping
from posbridge.errors import TransientError
from posbridge.store.orders import MappingConflict, OrderMappings


@pytest.fixture(scope="module")
def table_name(devstack: Devstack) -> str:
    assert devstack.stack is not None
    return devstack.stack.output("MappingsTableName")


@pytest.fixture(scope="module")
def table(table_name: str) -> Any:
    # Made after the devstack started: AWS_ENDPOINT_URL points boto3 at moto
    return boto3.resource("dynamodb").Table(table_name)


@pytest.fixture
def mappings(table_name: str) -> OrderMappings:
    return OrderMappings(table_name)


@pytest.fixture
def tenant() -> str:
    """A fresh instance id per test: the table is shared by the whole session."""
    return f"inst-{uuid.uuid4()}"


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _mapping(
    wix_order_id: str | None = None,
    pos_order_id: str | None = None,
    customer: tuple[str, str] | None = None,
    **changes: Any,
) -> OrderMapping:
    wix_contact_id, pos_customer_id = customer or (None, None)
    fields: dict[str, Any] = {
        "wix_order_id": wix_order_id or _id("wix"),
        "pos_order_id": pos_order_id or _id("POS"),
        "pos_version": 1,
        "lines": {"wix-line-1": "pos-uid-1", "wix-line-2": "pos-uid-2"},
        "wix_contact_id": wix_contact_id,
        "pos_customer_id": pos_customer_id,
    }
    fields.update(changes)
    return OrderMapping(**fields)


def _items(table: Any, tenant: str) -> dict[str, dict[str, Any]]:
    """Every item under the tenant's partition, by sort key."""
    items = table.query(KeyConditionExpression=Key("PK").eq(f"TENANT#{tenant}"), ConsistentRead=True)["Items"]
    return {item["SK"]: item for item in items}


# ---- save and read back, both ways ---------------------------------------------------------------------------------


def test_a_saved_mapping_reads_back_both_ways(mappings: OrderMappings, table: Any, tenant: str) -> None:
    # Given an order mapping with two lines and a customer
    mapping = _mapping(customer=("contact-ada", "CUST-1"))
    # When it is saved
    mappings.save(tenant, mapping)
    # Then the Wix side reads back whole (with a creation time), and the POS side names the Wix order
    stored = mappings.by_wix_order(tenant, mapping.wix_order_id)
    assert stored is not None
    assert stored.model_copy(update={"created_at": ""}) == mapping
    assert stored.created_at
    assert stored.pos_version == 1 and isinstance(stored.pos_version, int)
    assert mappings.wix_order_for_pos(tenant, mapping.pos_order_id) == mapping.wix_order_id
    # And the items hold the pair, the lines reversed on the POS side, and the customer both ways
    items = _items(table, tenant)
    assert set(items) == {
        f"ORDER#WIX#{mapping.wix_order_id}",
        f"ORDER#POS#{mapping.pos_order_id}",
        "CUSTOMER#WIX#contact-ada",
        "CUSTOMER#POS#CUST-1",
    }
    pos_side = items[f"ORDER#POS#{mapping.pos_order_id}"]
    assert pos_side["lines"] == {"pos-uid-1": "wix-line-1", "pos-uid-2": "wix-line-2"}
    assert pos_side["wix_order_id"] == mapping.wix_order_id
    assert pos_side["created_at"] == stored.created_at
    assert items["CUSTOMER#WIX#contact-ada"]["pos_customer_id"] == "CUST-1"
    assert items["CUSTOMER#POS#CUST-1"]["wix_contact_ids"] == {"contact-ada"}


def test_a_mapping_without_a_customer_writes_no_customer_items(
    mappings: OrderMappings, table: Any, tenant: str
) -> None:
    # Given an order from an anonymous buyer
    mapping = _mapping(pos_version=None)
    # When it is saved
    mappings.save(tenant, mapping)
    # Then only the order pair exists, and the missing version reads back as None
    assert set(_items(table, tenant)) == {f"ORDER#WIX#{mapping.wix_order_id}", f"ORDER#POS#{mapping.pos_order_id}"}
    stored = mappings.by_wix_order(tenant, mapping.wix_order_id)
    assert stored is not None
    assert (stored.pos_version, stored.wix_contact_id, stored.pos_customer_id) == (None, None, None)


def test_unknown_ids_read_as_none(mappings: OrderMappings, tenant: str) -> None:
    # Given an empty tenant
    # When ids that were never mapped are looked up
    # Then both directions answer None
    assert mappings.by_wix_order(tenant, "never-seen") is None
    assert mappings.wix_order_for_pos(tenant, "never-seen") is None


# ---- replay vs conflict --------------------------------------------------------------------------------------------


def test_saving_the_same_mapping_again_is_a_no_op(mappings: OrderMappings, table: Any, tenant: str) -> None:
    # Given a saved mapping
    mapping = _mapping(customer=("contact-ada", "CUST-1"))
    mappings.save(tenant, mapping)
    before = _items(table, tenant)
    # When the same pair is saved again (a redelivered event), even with another creation time
    mappings.save(tenant, mapping)
    mappings.save(tenant, mapping.model_copy(update={"created_at": "2000-01-01T00:00:00+00:00"}))
    # Then nothing is raised and no item changed (the first created_at is kept)
    assert _items(table, tenant) == before


def test_another_pos_order_for_the_same_wix_order_is_a_conflict(
    mappings: OrderMappings, table: Any, tenant: str
) -> None:
    # Given Wix order W mapped to POS order P1
    original = _mapping()
    mappings.save(tenant, original)
    before = _items(table, tenant)
    # When W is saved against another POS order P2
    with pytest.raises(MappingConflict):
        mappings.save(tenant, _mapping(original.wix_order_id, customer=("contact-ada", "CUST-1")))
    # Then the stored mapping is intact, and nothing of the rejected pair (order or customer) was written
    assert _items(table, tenant) == before
    stored = mappings.by_wix_order(tenant, original.wix_order_id)
    assert stored is not None and stored.pos_order_id == original.pos_order_id


@pytest.mark.parametrize("code", ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_busy_table_is_transient_not_a_conflict(mappings: OrderMappings, tenant: str, code: str) -> None:
    # Given DynamoDB cancels the mapping transaction because the items are busy, not because they are taken
    reasons = [{"Code": "None"}, {"Code": code, "Message": "busy"}]
    with Stubber(mappings._client) as dynamodb:
        dynamodb.add_client_error(
            "transact_write_items", "TransactionCanceledException", "cancelled", 400,
            modeled_fields={"CancellationReasons": reasons},
        )  # fmt: skip
        # When the mapping is saved / Then it is retried later (the message comes back), never parked as a conflict
        with pytest.raises(TransientError, match=code):
            mappings.save(tenant, _mapping())
    # And the same write then succeeds
    retried = _mapping()
    mappings.save(tenant, retried)
    assert mappings.by_wix_order(tenant, retried.wix_order_id) is not None


def test_another_wix_order_for_the_same_pos_order_is_a_conflict(
    mappings: OrderMappings, table: Any, tenant: str
) -> None:
    # Given POS order P mapped to Wix order W1
    original = _mapping()
    mappings.save(tenant, original)
    before = _items(table, tenant)
    # When another Wix order W2 is saved against P
    other = _mapping(pos_order_id=original.pos_order_id)
    with pytest.raises(MappingConflict):
        mappings.save(tenant, other)
    # Then P still names W1 and W2 is not mapped
    assert _items(table, tenant) == before
    assert mappings.wix_order_for_pos(tenant, original.pos_order_id) == original.wix_order_id
    assert mappings.by_wix_order(tenant, other.wix_order_id) is None


# ---- customers -----------------------------------------------------------------------------------------------------


def test_one_customer_mapping_is_shared_by_two_orders(mappings: OrderMappings, table: Any, tenant: str) -> None:
    # Given a returning buyer: two orders resolved to the same Wix key and POS customer
    first = _mapping(customer=("contact-ada", "CUST-1"))
    second = _mapping(customer=("contact-ada", "CUST-1"))
    # When both are saved
    mappings.save(tenant, first)
    mappings.save(tenant, second)
    # Then both orders are mapped with that customer, and the customer pair exists once
    for mapping in (first, second):
        stored = mappings.by_wix_order(tenant, mapping.wix_order_id)
        assert stored is not None and stored.pos_customer_id == "CUST-1"
    customer_items = [sk for sk in _items(table, tenant) if sk.startswith("CUSTOMER#")]
    assert sorted(customer_items) == ["CUSTOMER#POS#CUST-1", "CUSTOMER#WIX#contact-ada"]


def test_a_wix_customer_mapped_to_another_pos_customer_is_a_conflict(
    mappings: OrderMappings, table: Any, tenant: str
) -> None:
    # Given the Wix buyer "contact-ada" mapped to POS customer CUST-1
    mappings.save(tenant, _mapping(customer=("contact-ada", "CUST-1")))
    before = _items(table, tenant)
    # When a new order maps the same buyer to CUST-2
    second = _mapping(customer=("contact-ada", "CUST-2"))
    with pytest.raises(MappingConflict):
        mappings.save(tenant, second)
    # Then the transaction wrote nothing: neither the new order pair nor CUST-2's side
    assert _items(table, tenant) == before
    assert mappings.by_wix_order(tenant, second.wix_order_id) is None


def test_a_second_wix_contact_for_the_same_pos_customer_still_maps_the_order(
    mappings: OrderMappings, table: Any, tenant: str
) -> None:
    # Given a Wix contact whose first order created POS customer CUST-1
    mappings.save(tenant, _mapping(customer=("contact-ada", "CUST-1")))
    # When another Wix contact (new e-mail, same phone) resolves to CUST-1 through Square's phone search
    second = _mapping(customer=("contact-ada-2", "CUST-1"))
    mappings.save(tenant, second)
    # Then the second order is mapped, and CUST-1 remembers both contacts
    stored = mappings.by_wix_order(tenant, second.wix_order_id)
    assert stored is not None and stored.pos_customer_id == "CUST-1"
    assert _items(table, tenant)["CUSTOMER#POS#CUST-1"]["wix_contact_ids"] == {"contact-ada", "contact-ada-2"}


# ---- tenant isolation ----------------------------------------------------------------------------------------------


def test_one_tenants_mappings_are_invisible_to_another(mappings: OrderMappings, table: Any) -> None:
    # Given tenants A and B, and a mapping (with customer) saved under A
    tenant_a, tenant_b = f"inst-a-{uuid.uuid4()}", f"inst-b-{uuid.uuid4()}"
    mapping = _mapping(customer=("contact-ada", "CUST-1"))
    mappings.save(tenant_a, mapping)
    # When B looks the same ids up
    # Then it sees nothing
    assert mappings.by_wix_order(tenant_b, mapping.wix_order_id) is None
    assert mappings.wix_order_for_pos(tenant_b, mapping.pos_order_id) is None
    # And every item A wrote lives under A's partition key, none under B's
    assert len(_items(table, tenant_a)) == 4
    assert all(item["PK"] == f"TENANT#{tenant_a}" for item in _items(table, tenant_a).values())
    assert _items(table, tenant_b) == {}


def test_the_same_ids_map_independently_per_tenant(mappings: OrderMappings) -> None:
    # Given Wix order W and customer key K mapped under tenant A
    tenant_a, tenant_b = f"inst-a-{uuid.uuid4()}", f"inst-b-{uuid.uuid4()}"
    in_a = _mapping(customer=("contact-ada", "CUST-A"))
    mappings.save(tenant_a, in_a)
    # When tenant B maps the same W and K to its own POS order and customer
    in_b = _mapping(in_a.wix_order_id, customer=("contact-ada", "CUST-B"))
    mappings.save(tenant_b, in_b)
    # Then there is no conflict across tenants and each reads its own
    stored_a, stored_b = (
        mappings.by_wix_order(tenant_a, in_a.wix_order_id),
        mappings.by_wix_order(tenant_b, in_a.wix_order_id),
    )
    assert stored_a is not None and stored_b is not None
    assert (stored_a.pos_order_id, stored_a.pos_customer_id) == (in_a.pos_order_id, "CUST-A")
    assert (stored_b.pos_order_id, stored_b.pos_customer_id) == (in_b.pos_order_id, "CUST-B")


# ---- skips ---------------------------------------------------------------------------------------------------------


def test_a_recorded_skip_reads_back(mappings: OrderMappings, table: Any, tenant: str) -> None:
    # Given an order skipped because it had no restaurant lines
    wix_order_id = _id("wix")
    # When the skip is recorded, and recorded again (the Approved event after the Created one)
    mappings.record_skip(tenant, wix_order_id, "no Wix Restaurants line items")
    mappings.record_skip(tenant, wix_order_id, "no Wix Restaurants line items")
    # Then its reason reads back under the tenant only, as one item, and it is not an order mapping
    assert mappings.skip_reason(tenant, wix_order_id) == "no Wix Restaurants line items"
    assert mappings.skip_reason(f"other-{tenant}", wix_order_id) is None
    assert mappings.skip_reason(tenant, "never-seen") is None
    assert mappings.by_wix_order(tenant, wix_order_id) is None
    items = _items(table, tenant)
    assert list(items) == [f"ORDERSKIP#WIX#{wix_order_id}"]
    assert items[f"ORDERSKIP#WIX#{wix_order_id}"]["recorded_at"]


def test_the_payment_and_the_amount_to_collect_read_back_and_old_items_stay_readable(
    mappings: OrderMappings, table: Any, tenant: str
) -> None:
    # Given a mapping with its POS payment and an amount to collect, and an item written before payments existed
    paid = _mapping(pos_payment_id="PAY-1", to_collect_minor=3375)
    mappings.save(tenant, paid)
    old = _mapping()
    mappings.save(tenant, old)
    table.update_item(
        Key={"PK": f"TENANT#{tenant}", "SK": f"ORDER#WIX#{old.wix_order_id}"},
        UpdateExpression="REMOVE pos_payment_id, to_collect_minor",
    )
    # When both are read
    read_paid = mappings.by_wix_order(tenant, paid.wix_order_id)
    read_old = mappings.by_wix_order(tenant, old.wix_order_id)
    # Then the payment and the amount (an int, not DynamoDB's Decimal) come back; the old item reads with neither
    assert read_paid is not None and (read_paid.pos_payment_id, read_paid.to_collect_minor) == ("PAY-1", 3375)
    assert type(read_paid.to_collect_minor) is int
    assert read_old is not None and (read_old.pos_payment_id, read_old.to_collect_minor) == (None, None)


def test_refunds_are_recorded_on_the_mapping_and_wix_refunds_only_grow(mappings: OrderMappings, tenant: str) -> None:
    # Given an exported order's mapping
    mapping = _mapping()
    mappings.save(tenant, mapping)
    order_id = mapping.wix_order_id
    # When Wix reports 12.00 refunded, then a stale 5.25 (delivered late) and the 12.00 again (a duplicate)
    recorded = [
        mappings.record_wix_refund(tenant, order_id, "PARTIALLY_REFUNDED", 1200),
        mappings.record_wix_refund(tenant, order_id, "PARTIALLY_REFUNDED", 525),
        mappings.record_wix_refund(tenant, order_id, "PARTIALLY_REFUNDED", 1200),
    ]
    # And the POS refund of the payment is recorded
    mappings.record_pos_refund(tenant, order_id, "REFUND-1", 3875)
    # Then only the first Wix report was written, and the mapping reads back both, exactly
    assert recorded == [True, False, False]
    read = mappings.by_wix_order(tenant, order_id)
    assert read is not None
    assert (read.wix_payment_status, read.wix_refunded_minor) == ("PARTIALLY_REFUNDED", 1200)
    assert (read.pos_refund_id, read.pos_refunded_minor) == ("REFUND-1", 3875)
    # And an order with no mapping gets no half-written item
    assert mappings.record_wix_refund(tenant, "never-exported", "PARTIALLY_REFUNDED", 100) is False
    assert mappings.by_wix_order(tenant, "never-exported") is None
