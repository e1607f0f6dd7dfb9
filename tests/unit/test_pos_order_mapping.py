"""Flows 2 and 3's pure mapping: Square order JSON -> canonical POS order -> Wix Create Order body, and the status
table from POS states to Wix."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from posbridge import RESTAURANTS_APP_ID
from posbridge.domain.order_import import ImportLine, WixPlacement
from posbridge.domain.pos_order import PosPosition
from posbridge.errors import PermanentError
from posbridge.flows.apply_status import WixTarget, wix_target
from posbridge.pos.square.order_snapshot import snapshot_from_square, summary_from_event
from posbridge.wix.order_import import create_order_body, custom_item_id
from tests.unit.pos_fakes import BRIDGE_APP_ID, square_line, square_order, stamp

PLACE = WixPlacement(item_id="wix-item", menu_id="wix-menu", section_id="wix-section")


def _body(order: dict[str, object], placement: WixPlacement | None = PLACE, notify: bool = False) -> dict[str, object]:
    snapshot = snapshot_from_square(order)
    lines = [ImportLine(line, placement) for line in snapshot.lines]
    return create_order_body(
        snapshot, lines, location_id="wix-loc", operation_id="wix-op", bridge_app_id=BRIDGE_APP_ID, notify=notify
    )


# ---- Square -> canonical -------------------------------------------------------------------------------------------


def test_a_square_order_reads_as_the_canonical_pos_order() -> None:
    # Given a Square order with a modifier, a variation name, a note, and money in cents
    line = square_line(
        "Margherita",
        1250,
        "2",
        variation_name="Large",
        note="well done",
        modifiers=[{"name": "Extra basil", "quantity": "1", "base_price_money": {"amount": 100, "currency": "USD"}}],
    )
    order = square_order("POS-1", version=3, lines=[line]) | {
        "total_tax_money": {"amount": 80, "currency": "USD"},
        "total_tip_money": {"amount": 200, "currency": "USD"},
    }
    # When it is read
    snapshot = snapshot_from_square(order)
    # Then amounts are exact decimals, the unit total includes the modifier, and the position is the version
    [pos_line] = snapshot.lines
    assert pos_line.unit_price.amount == Decimal("12.50") and pos_line.unit_total().amount == Decimal("13.50")
    assert pos_line.quantity == Decimal(2) and pos_line.variation_id == "VAR-PIZZA"
    assert snapshot.tax.amount == Decimal("0.80") and snapshot.fees.amount == Decimal("2.00")
    assert snapshot.position.version == 3 and not snapshot.made_by_bridge


def test_an_order_rung_up_in_the_pos_app_has_no_version_and_is_ordered_by_updated_at() -> None:
    older = snapshot_from_square(square_order("POS-2", updated=10)).position
    newer = snapshot_from_square(square_order("POS-2", updated=11)).position
    assert older.version is None and newer.is_newer_than(older) and older.is_older_than(newer)
    assert not older.is_newer_than(older)


def test_versions_win_over_timestamps_when_both_sides_have_one() -> None:
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert PosPosition(version=5, updated_at=early).is_newer_than(PosPosition(version=4, updated_at=late))


@pytest.mark.parametrize(
    ("event_type", "key"),
    [
        ("order.created", "order_created"),
        ("order.updated", "order_updated"),
        ("order.fulfillment.updated", "order_fulfillment_updated"),
    ],
)
def test_each_order_event_summary_is_read(event_type: str, key: str) -> None:
    summary_json = {"order_id": "POS-3", "version": 2, "state": "OPEN", "location_id": "L1", "created_at": stamp(0)}
    data = {"type": "order", "id": "POS-3", "object": {key: summary_json | {"updated_at": stamp(1)}}}
    summary = summary_from_event(event_type, data)
    assert (summary.order_id, summary.location_id, summary.position.version) == ("POS-3", "L1", 2)


def test_an_event_without_its_summary_is_refused() -> None:
    with pytest.raises(ValueError, match="order_updated"):
        summary_from_event("order.updated", {"object": {"order_created": {}}})


def test_an_unreadable_square_order_is_a_permanent_error_naming_no_values() -> None:
    with pytest.raises(PermanentError) as caught:
        snapshot_from_square({"id": "POS-4", "location_id": "L", "line_items": [{"uid": "u", "quantity": "-1"}]})
    assert caught.value.reason == "invalid_pos_order"


def test_the_bridge_recognises_orders_it_created_by_their_source() -> None:
    assert snapshot_from_square(square_order(by_bridge=True)).made_by_bridge


# ---- canonical -> Wix Create Order ---------------------------------------------------------------------------------


def test_a_mapped_line_becomes_a_wix_restaurants_line_with_operation_menu_and_section() -> None:
    body = _body(square_order("POS-5", lines=[square_line("Margherita", 1250, "2")]))
    order = body["order"]
    assert isinstance(order, dict)
    [line] = order["lineItems"]
    assert line["catalogReference"] == {
        "appId": RESTAURANTS_APP_ID,
        "catalogItemId": "wix-item",
        "options": {"operationId": "wix-op", "menuId": "wix-menu", "sectionId": "wix-section"},
    }
    assert line["quantity"] == 2 and line["price"] == {"amount": "12.50"}
    assert line["itemType"] == {"preset": "PHYSICAL"} and line["productName"] == {"original": "Margherita"}
    assert order["channelInfo"] == {"type": "POS", "externalOrderId": "POS-5"}
    assert order["businessLocation"] == {"id": "wix-loc"}


def test_the_price_summary_is_complete_and_matches_what_the_pos_charged() -> None:
    order = square_order(lines=[square_line(cents=1000, quantity="2"), square_line(cents=550)]) | {
        "total_money": {"amount": 2650, "currency": "USD"},
        "total_tax_money": {"amount": 200, "currency": "USD"},
        "total_discount_money": {"amount": 100, "currency": "USD"},
        "total_service_charge_money": {"amount": 0, "currency": "USD"},
    }
    summary = _body(order)["order"]["priceSummary"]  # type: ignore[index]
    assert summary == {
        "subtotal": {"amount": "25.50"},
        "shipping": {"amount": "0.00"},
        "tax": {"amount": "2.00"},
        "discount": {"amount": "1.00"},
        "totalAdditionalFees": {"amount": "0.00"},
        "total": {"amount": "26.50"},
    }


def test_modifiers_variation_and_note_travel_as_description_lines_and_in_the_unit_price() -> None:
    line = square_line(
        cents=1000,
        variation_name="Large",
        note="no onions",
        modifiers=[{"name": "Cheese", "quantity": "2", "base_price_money": {"amount": 150, "currency": "USD"}}],
    )
    [wix] = _body(square_order(lines=[line]))["order"]["lineItems"]  # type: ignore[index]
    assert wix["price"] == {"amount": "13.00"}
    texts = [(d["name"]["original"], d["plainText"]["original"]) for d in wix["descriptionLines"]]
    assert texts == [("Variation", "Large"), ("Modifier", "2 x Cheese"), ("Note", "no onions")]


def test_notifications_are_off_unless_the_tenant_wants_them() -> None:
    assert _body(square_order())["settings"] == {
        "notifications": {"sendNotificationToBuyer": False, "sendNotificationsToBusiness": False}
    }
    assert _body(square_order(), notify=True)["settings"]["notifications"]["sendNotificationToBuyer"]  # type: ignore[index]


def test_a_custom_line_belongs_to_the_bridge_app_with_a_stable_id_within_36_chars() -> None:
    [line] = _body(square_order(lines=[square_line(variation=None)]), placement=None)["order"]["lineItems"]  # type: ignore[index]
    assert line["catalogReference"]["appId"] == BRIDGE_APP_ID and "options" not in line["catalogReference"]
    snapshot = snapshot_from_square(square_order(lines=[square_line(variation="V" * 60)]))
    assert len(custom_item_id(snapshot.lines[0])) <= 36
    assert custom_item_id(snapshot.lines[0]) == custom_item_id(snapshot.lines[0])


def test_a_weighed_line_cannot_be_imported_as_a_whole_quantity() -> None:
    with pytest.raises(PermanentError) as caught:
        _body(square_order(lines=[square_line(quantity="1.5")]))
    assert caught.value.reason == "pos_quantity_not_importable"


def test_a_paid_order_is_imported_paid() -> None:
    assert _body(square_order(state="COMPLETED"))["order"]["paymentStatus"] == "PAID"  # type: ignore[index]
    assert _body(square_order(state="OPEN"))["order"]["paymentStatus"] == "NOT_PAID"  # type: ignore[index]


# ---- the status table ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "fulfillment", "details", "expected"),
    [
        ("OPEN", "PROPOSED", None, WixTarget(status="Pending")),
        ("OPEN", "RESERVED", None, WixTarget(status="Accepted")),
        ("OPEN", "PREPARED", None, WixTarget(status="Ready")),
        ("OPEN", "PREPARED", {"courier_pickup_at": "2026-03-01T12:30:00Z"}, WixTarget(status="In_Delivery")),
        ("COMPLETED", "COMPLETED", None, WixTarget(status="Fulfilled")),
        ("CANCELED", "CANCELED", None, WixTarget(cancel=True)),
        ("OPEN", None, None, WixTarget(status="Pending")),
        ("COMPLETED", None, None, WixTarget(status="Fulfilled")),
        ("DRAFT", "PROPOSED", None, WixTarget()),
        ("OPEN", "FAILED", None, WixTarget()),
    ],
)
def test_the_status_table(
    state: str, fulfillment: str | None, details: dict[str, str] | None, expected: WixTarget
) -> None:
    kind = "DELIVERY" if details else "PICKUP"
    order = square_order(state=state, fulfillment=fulfillment, fulfillment_type=kind, details=details)
    assert wix_target(snapshot_from_square(order)) == expected
