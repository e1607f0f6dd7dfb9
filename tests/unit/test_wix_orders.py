"""Wix eCommerce order JSON -> canonical Order: only Wix Restaurants lines are kept, money stays exact, and a
malformed order is a permanent error whose message carries no personal data."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posbridge import RESTAURANTS_APP_ID
from posbridge.domain.money import Money
from posbridge.domain.order import Address, Buyer, Fulfillment, LineItem, Modifier
from posbridge.errors import PermanentError
from posbridge.wix.orders import is_restaurant_line, restaurant_order

EVENTS = Path(__file__).resolve().parents[2] / "events" / "wix_webhook"
ORDER_ID = "5a2c7e4e-8f3b-4d1e-9a63-1c2b3d4e5f60"
STORES_APP_ID = "215238eb-22a5-4c36-9e7b-e7c08025e04e"  # Wix Stores
LEGACY_RESTAURANTS_APP_ID = "13e8d036-5516-6104-b456-c8466db39542"  # old Restaurants Orders: not ours

# Every piece of personal data in the samples: none may leak into an error message.
PERSONAL_DATA = ("Ada", "Example", "ada@example.com", "+15555550100", "Extra napkins", "1 Main St", "Elm")


def _sample(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


def _created_order() -> dict[str, Any]:
    return dict(_sample("order_created.json")["event"]["createdEvent"]["entity"])


def _approved_order() -> dict[str, Any]:
    return dict(_sample("order_approved.json")["event"]["actionEvent"]["body"]["order"])


def _line(line_id: str, app_id: str | None, name: str = "Item", amount: str = "5.00") -> dict[str, Any]:
    line: dict[str, Any] = {
        "id": line_id,
        "productName": {"original": name},
        "quantity": 1,
        "price": {"amount": amount},
        "itemType": {"preset": "PHYSICAL"},
    }
    if app_id is not None:
        line["catalogReference"] = {"catalogItemId": f"cat-{line_id}", "appId": app_id}
    return line


def _variant(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    order = copy.deepcopy(_created_order())
    change(order)
    return order


def _usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


# ---- the samples ---------------------------------------------------------------------------------------------------


def test_the_created_sample_parses_to_the_canonical_order() -> None:
    # Given the decoded order_created sample
    wix = _created_order()
    # When it is parsed
    order = restaurant_order(wix)
    # Then the header, both restaurant lines, buyer, note, pickup and total are carried over
    assert (order.id, order.number, order.status, order.currency) == (ORDER_ID, "10042", "INITIALIZED", "USD")
    margherita, tiramisu = order.line_items
    assert margherita.id == "00000000-0000-4000-8000-00000000a001"
    assert margherita.name == "Margherita"
    assert margherita.quantity == 2
    # Wix's line price (12.50) includes the Basil (1.00); the canonical unit price is the item alone
    assert margherita.unit_price == _usd("11.50")
    assert margherita.catalog_item_id == "11111111-0000-4000-8000-000000000001"
    assert margherita.variant_name == "Size: Large"
    assert margherita.modifiers == (
        Modifier(name="Basil", quantity=1, price=_usd("1.00"), group_name="Extras", wix_id="m-1"),
    )
    assert margherita.wix_variant_id is None  # the sample's options name no priceVariant
    assert (tiramisu.name, tiramisu.quantity, tiramisu.unit_price, tiramisu.modifiers) == (
        "Tiramisu",
        1,
        _usd("6.00"),
        (),
    )
    assert tiramisu.variant_name is None
    assert order.buyer == Buyer(
        contact_id="c0ffee00-0000-4000-8000-000000000002",
        first_name="Ada",
        last_name="Example",
        email="ada@example.com",
        phone="+15555550100",
    )
    assert order.buyer_note == "Extra napkins, please"
    assert order.fulfillment == Fulfillment(
        type="PICKUP",
        promised_at=datetime(2026, 11, 20, 18, 30, tzinfo=UTC),
        window_end=datetime(2026, 11, 20, 18, 45, tzinfo=UTC),
    )
    assert order.total == _usd("33.75")


def test_the_approved_sample_is_the_same_order_but_approved() -> None:
    # Given the Created and Approved samples of one order
    # When both are parsed
    created, approved = restaurant_order(_created_order()), restaurant_order(_approved_order())
    # Then they differ only in status
    assert approved.status == "APPROVED"
    assert approved.model_copy(update={"status": created.status}) == created


# ---- which lines are kept ------------------------------------------------------------------------------------------


def test_only_wix_restaurants_lines_are_kept_in_their_order() -> None:
    # Given an order mixing restaurant lines with a Stores product, a legacy-app line and a line with no reference
    order = _variant(
        lambda o: o.update(
            lineItems=[
                _line("store-1", STORES_APP_ID, "T-shirt"),
                o["lineItems"][0],
                _line("legacy-1", LEGACY_RESTAURANTS_APP_ID, "Old menu pizza"),
                _line("free-1", None, "Gift wrap"),
                o["lineItems"][1],
            ]
        )
    )
    # When it is parsed
    parsed = restaurant_order(order)
    # Then only the two lines whose catalogReference.appId is Wix Restaurants remain, in the order Wix sent them
    assert [line.name for line in parsed.line_items] == ["Margherita", "Tiramisu"]


def test_an_order_without_restaurant_lines_parses_with_none() -> None:
    # Given an order with only a Stores product
    order = _variant(lambda o: o.update(lineItems=[_line("store-1", STORES_APP_ID, "T-shirt")]))
    # When it is parsed
    parsed = restaurant_order(order)
    # Then it is a valid order with no lines (the flow skips it), not an error
    assert parsed.id == ORDER_ID
    assert parsed.line_items == ()


def test_non_restaurant_lines_are_not_validated() -> None:
    # Given a Stores line that would be malformed for us (no id, no price)
    broken_store_line = {"catalogReference": {"appId": STORES_APP_ID}, "quantity": 1}
    order = _variant(lambda o: o["lineItems"].append(broken_store_line))
    # When it is parsed
    parsed = restaurant_order(order)
    # Then it is ignored: what the bridge does not export cannot poison the order
    assert len(parsed.line_items) == 2


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"catalogReference": {"appId": RESTAURANTS_APP_ID}}, True),
        ({"catalogReference": {"appId": RESTAURANTS_APP_ID.upper()}}, False),
        ({"catalogReference": {"appId": STORES_APP_ID}}, False),
        ({"catalogReference": {"appId": LEGACY_RESTAURANTS_APP_ID}}, False),
        ({"catalogReference": {}}, False),
        ({"catalogReference": None}, False),
        ({}, False),
    ],
)
def test_is_restaurant_line_matches_the_exact_app_id(line: dict[str, Any], expected: bool) -> None:
    # Given a line item's catalogReference
    # When it is classified
    # Then only the exact Wix Restaurants Orders (New) app id counts
    assert is_restaurant_line(line) is expected


# ---- modifiers -----------------------------------------------------------------------------------------------------


def test_modifiers_carry_label_quantity_price_and_group_name() -> None:
    # Given a 12.50 line with two modifier groups: a paid modifier x2, a free one, a translated label and a
    # details-only one
    groups = [
        {
            "id": "mg-1",
            "name": {"original": "Extras"},
            "modifiers": [
                {"id": "m-1", "quantity": 2, "label": {"original": "Cheese"}, "price": {"amount": "0.75"}},
                {"id": "m-2", "quantity": 1, "label": {"original": "Oregano"}},
            ],
        },
        {
            "id": "mg-2",
            "name": {"original": "Sauce", "translated": "Salsa"},
            "modifiers": [
                {"id": "m-3", "label": {"original": "Spicy", "translated": "Picante"}, "price": {"amount": "0"}},
                {"id": "m-4", "details": {"original": "Garlic dip"}, "price": {"amount": ""}},
            ],
        },
    ]
    order = _variant(lambda o: o["lineItems"][0].update(modifierGroups=groups))
    # When it is parsed
    line = restaurant_order(order).line_items[0]
    # Then each modifier keeps its label (translated first), quantity (1 when absent), unit price (None = included)
    # and the name of its group, and its Wix id
    assert line.modifiers == (
        Modifier(name="Cheese", quantity=2, price=_usd("0.75"), group_name="Extras", wix_id="m-1"),
        Modifier(name="Oregano", quantity=1, price=None, group_name="Extras", wix_id="m-2"),
        Modifier(name="Picante", quantity=1, price=_usd("0"), group_name="Salsa", wix_id="m-3"),
        Modifier(name="Garlic dip", quantity=1, price=None, group_name="Salsa", wix_id="m-4"),
    )
    # And the item's own price is what remains of Wix's line price: 12.50 - 2 x 0.75 = 11.00
    assert line.unit_price == _usd("11.00")


def _unit_total(line: LineItem) -> Decimal:
    return line.unit_price.amount + sum(
        (m.price.amount * m.quantity for m in line.modifiers if m.price is not None), Decimal(0)
    )


@pytest.mark.parametrize(
    ("line_price", "modifier_price", "modifier_quantity", "unit_price"),
    [
        ("12.50", "1.00", 1, "11.50"),
        ("10.00", "0.10", 3, "9.70"),  # 3 x 0.10 in floats is 0.30000000000000004
        ("19.99", "19.99", 1, "0.00"),
        ("1200", "150", 2, "900"),
    ],
)
def test_the_unit_price_plus_modifiers_is_exactly_the_wix_line_price(
    line_price: str, modifier_price: str, modifier_quantity: int, unit_price: str
) -> None:
    # Given a Wix line whose price includes a paid modifier
    def change(o: dict[str, Any]) -> None:
        line = o["lineItems"][0]
        line["price"] = {"amount": line_price}
        line["modifierGroups"][0]["modifiers"][0].update(price={"amount": modifier_price}, quantity=modifier_quantity)

    # When it is parsed
    line = restaurant_order(_variant(change)).line_items[0]
    # Then the POS (which adds modifiers on top of the base price) charges exactly what Wix charged, to the digit
    assert line.unit_price.amount == Decimal(unit_price)
    assert _unit_total(line) == Decimal(line_price)


def test_modifiers_dearer_than_the_line_are_made_free_and_the_line_keeps_its_price() -> None:
    # Given inconsistent data: a 5.00 line whose modifier claims 2 x 3.00
    def change(o: dict[str, Any]) -> None:
        line = o["lineItems"][0]
        line["price"] = {"amount": "5.00"}
        line["modifierGroups"][0]["modifiers"][0].update(price={"amount": "3.00"}, quantity=2)

    # When it is parsed
    line = restaurant_order(_variant(change)).line_items[0]
    # Then the total Wix charged is kept on the item and the modifier is still listed, but free
    assert line.unit_price == _usd("5.00")
    assert line.modifiers == (Modifier(name="Basil", quantity=2, price=None, group_name="Extras", wix_id="m-1"),)


def test_a_line_without_modifier_groups_has_no_modifiers() -> None:
    # Given a line whose modifierGroups is empty, and one where it is absent
    order = _variant(lambda o: o["lineItems"][0].update(modifierGroups=[]))
    # When it is parsed
    lines = restaurant_order(order).line_items
    # Then neither has modifiers
    assert [line.modifiers for line in lines] == [(), ()]


# ---- money ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("12.50", "USD", "12.50"),
        ("19.99", "USD", "19.99"),  # 19.99 is not representable as a float
        ("0.10", "USD", "0.10"),
        ("1200", "JPY", "1200"),
        ("12.345", "KWD", "12.345"),
        (19.99, "USD", "19.99"),  # a JSON number still lands as the decimal Wix meant, not 19.98999...
    ],
)
def test_prices_are_exact_decimals(amount: Any, currency: str, expected: str) -> None:
    # Given a line without modifiers and a modifier, both priced in Wix's decimal format
    def change(o: dict[str, Any]) -> None:
        o["currency"] = currency
        o.pop("priceSummary")  # the sample's summary is in cents: not a JPY amount (see test_invalid_money_*)
        o["lineItems"][1]["price"] = {"amount": amount}
        o["lineItems"][0]["price"] = {"amount": "99999"}  # dearer than its modifier
        o["lineItems"][0]["modifierGroups"][0]["modifiers"][0]["price"] = {"amount": amount}

    # When it is parsed
    margherita, tiramisu = restaurant_order(_variant(change)).line_items
    # Then the prices are Decimals equal to the string, in the order's currency, never floats
    assert isinstance(tiramisu.unit_price.amount, Decimal)
    assert str(tiramisu.unit_price.amount) == expected
    assert tiramisu.unit_price.currency == currency
    assert margherita.modifiers[0].price is not None
    assert str(margherita.modifiers[0].price.amount) == expected
    assert margherita.modifiers[0].price.currency == currency


def test_a_missing_total_is_none() -> None:
    # Given an order without a priceSummary
    order = _variant(lambda o: o.pop("priceSummary"))
    # When it is parsed
    # Then the total is unknown rather than zero
    assert restaurant_order(order).total is None


# ---- buyer ---------------------------------------------------------------------------------------------------------


def test_buyer_name_and_phone_come_from_billing_email_and_contact_id_from_buyer_info() -> None:
    # Given the sample (billing contact details, buyerInfo e-mail and contact id)
    # When it is parsed
    buyer = restaurant_order(_created_order()).buyer
    # Then the buyer joins both
    assert buyer == Buyer(
        contact_id="c0ffee00-0000-4000-8000-000000000002",
        first_name="Ada",
        last_name="Example",
        email="ada@example.com",
        phone="+15555550100",
    )


def test_recipient_info_is_used_when_there_is_no_billing_info() -> None:
    # Given an order (e.g. a delivery) whose contact details are only on recipientInfo
    def change(o: dict[str, Any]) -> None:
        o["recipientInfo"] = o.pop("billingInfo")

    # When it is parsed
    buyer = restaurant_order(_variant(change)).buyer
    # Then the recipient's name and phone are the buyer's
    assert (buyer.first_name, buyer.last_name, buyer.phone) == ("Ada", "Example", "+15555550100")


def test_billing_details_win_over_recipient_details_field_by_field() -> None:
    # Given billing and recipient contacts that overlap on the first name only
    def change(o: dict[str, Any]) -> None:
        o["billingInfo"] = {"contactDetails": {"firstName": "Ada"}}
        o["recipientInfo"] = {"contactDetails": {"firstName": "Bob", "lastName": "Elm", "phone": "+15555550199"}}

    # When it is parsed
    buyer = restaurant_order(_variant(change)).buyer
    # Then billing's first name wins, the recipient fills the gaps
    assert (buyer.first_name, buyer.last_name, buyer.phone) == ("Ada", "Elm", "+15555550199")


def test_an_anonymous_buyer_has_no_contact() -> None:
    # Given an order with no buyerInfo e-mail and no contact details at all
    def change(o: dict[str, Any]) -> None:
        o.pop("billingInfo")
        o["buyerInfo"] = {"visitorId": "v-1"}

    # When it is parsed
    buyer = restaurant_order(_variant(change)).buyer
    # Then the buyer is empty (no customer will be created) but still has a display name
    assert buyer == Buyer()
    assert buyer.display_name == "Online customer"


def test_empty_contact_strings_become_none() -> None:
    # Given empty strings where Wix had no value
    def change(o: dict[str, Any]) -> None:
        o["billingInfo"] = {"contactDetails": {"firstName": "", "lastName": "", "phone": ""}}
        o["buyerInfo"] = {"email": ""}

    # When it is parsed
    # Then they are absent, so no empty e-mail or phone reaches the POS
    assert restaurant_order(_variant(change)).buyer == Buyer()


# ---- buyer note ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("note", "expected"), [("No onions", "No onions"), ("", None), (None, None)])
def test_buyer_note(note: str | None, expected: str | None) -> None:
    # Given an order with a buyer note, an empty one, or none
    def change(o: dict[str, Any]) -> None:
        o.pop("buyerNote")
        if note is not None:
            o["buyerNote"] = note

    # When it is parsed
    # Then only a real note is kept
    assert restaurant_order(_variant(change)).buyer_note == expected


# ---- pickup and delivery -------------------------------------------------------------------------------------------


def test_pickup_with_a_time_slot_is_promised_at_its_start() -> None:
    # Given a pickup with a time slot (in UTC, with a non-UTC offset) and instructions
    def change(o: dict[str, Any]) -> None:
        logistics = o["shippingInfo"]["logistics"]
        logistics["deliveryTimeSlot"] = {"from": "2026-11-20T13:30:00-05:00", "to": "2026-11-20T13:45:00-05:00"}
        logistics["instructions"] = "Side door"

    # When it is parsed
    fulfillment = restaurant_order(_variant(change)).fulfillment
    # Then it is a pickup promised at the slot's start (the same instant), with the instructions
    assert fulfillment is not None
    assert fulfillment.type == "PICKUP"
    assert fulfillment.promised_at == datetime(2026, 11, 20, 18, 30, tzinfo=UTC)
    assert fulfillment.promised_at.utcoffset() is not None
    assert fulfillment.instructions == "Side door"
    assert fulfillment.address is None


def test_pickup_without_a_time_slot_is_asap() -> None:
    # Given a pickup with no time slot
    order = _variant(lambda o: o["shippingInfo"]["logistics"].pop("deliveryTimeSlot"))
    # When it is parsed
    # Then there is no promised time (as soon as possible)
    assert restaurant_order(order).fulfillment == Fulfillment(type="PICKUP")


def test_delivery_carries_a_structured_address_time_and_instructions() -> None:
    # Given a delivery in a slot, with instructions, to an address in Wix's eCommerce shape (meta.d.ts `Address`:
    # addressLine, addressLine2, city, subdivision in ISO 3166-2, postalCode, country; no numbered first line)
    def change(o: dict[str, Any]) -> None:
        o["shippingInfo"] = {
            "title": "Delivery",
            "logistics": {
                "shippingDestination": {
                    "address": {
                        "addressLine": "12 Elm Rd",
                        "addressLine2": "Apt 3",
                        "city": "Springfield",
                        "subdivision": "US-IL",
                        "postalCode": "12345",
                        "country": "US",
                        "streetAddress": {"number": "12", "name": "Elm Rd"},
                        "countryFullname": "United States",
                    },
                    "contactDetails": {"firstName": "Ada"},
                },
                "deliveryTimeSlot": {"from": "2026-11-20T19:00:00.000Z", "to": "2026-11-20T19:30:00.000Z"},
                "instructions": "Ring twice",
            },
        }

    # When it is parsed
    fulfillment = restaurant_order(_variant(change)).fulfillment
    # Then it is a delivery with every address part, the slot's start and end, and the instructions
    assert fulfillment == Fulfillment(
        type="DELIVERY",
        promised_at=datetime(2026, 11, 20, 19, 0, tzinfo=UTC),
        window_end=datetime(2026, 11, 20, 19, 30, tzinfo=UTC),
        address=Address(
            line1="12 Elm Rd", line2="Apt 3", city="Springfield", subdivision="US-IL", postal_code="12345", country="US"
        ),
        instructions="Ring twice",
    )


def test_a_street_given_only_as_number_and_name_still_makes_the_first_line() -> None:
    # Given a delivery address with `streetAddress{number, name}` and no `addressLine`, and no slot
    def change(o: dict[str, Any]) -> None:
        address = {"streetAddress": {"number": "12", "name": "Elm Rd"}, "city": "Springfield"}
        o["shippingInfo"] = {"logistics": {"shippingDestination": {"address": address}}}

    # When it is parsed
    # Then the street makes the first line, only the parts present are kept, and the delivery is ASAP
    assert restaurant_order(_variant(change)).fulfillment == Fulfillment(
        type="DELIVERY", address=Address(line1="12 Elm Rd", city="Springfield")
    )


def test_a_destination_without_address_falls_back_to_the_recipient() -> None:
    # Given a delivery whose destination carries only contact details, and the final recipient's address
    def change(o: dict[str, Any]) -> None:
        o["shippingInfo"] = {"logistics": {"shippingDestination": {"contactDetails": {"firstName": "Ada"}}}}
        o["recipientInfo"] = {"address": {"addressLine": "1 Side St", "country": "US"}}

    # When it is parsed / Then the recipient's address is where the order goes
    fulfillment = restaurant_order(_variant(change)).fulfillment
    assert fulfillment is not None and fulfillment.address == Address(line1="1 Side St", country="US")


def test_the_billing_address_is_the_buyers_address() -> None:
    # Given an order with a billing address
    def change(o: dict[str, Any]) -> None:
        o["billingInfo"]["address"] = {"addressLine": "9 Bill Ave", "subdivision": "US-NY", "country": "US"}

    # When it is parsed / Then the buyer carries it (the POS customer profile gets it)
    buyer = restaurant_order(_variant(change)).buyer
    assert buyer.address == Address(line1="9 Bill Ave", subdivision="US-NY", country="US")


def test_no_shipping_info_means_no_fulfillment() -> None:
    # Given an order without shippingInfo
    order = _variant(lambda o: o.pop("shippingInfo"))
    # When it is parsed
    # Then fulfillment is left to the POS adapter's default
    assert restaurant_order(order).fulfillment is None


# ---- malformed orders ----------------------------------------------------------------------------------------------


def _set_line(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda o: o["lineItems"][0].update({key: value})


def _pop_line(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda o: o["lineItems"][0].pop(key)


MALFORMED: dict[str, Callable[[dict[str, Any]], None]] = {
    "missing id": lambda o: o.pop("id"),
    "empty id": lambda o: o.update(id=""),
    "missing status": lambda o: o.pop("status"),
    "missing currency": lambda o: o.pop("currency"),
    "bad currency": lambda o: o.update(currency="DOLLARS"),
    "bad price string": _set_line("price", {"amount": "12,50"}),
    "price not a number": _set_line("price", {"amount": "twelve"}),
    "price missing": _pop_line("price"),
    "price amount empty": _set_line("price", {"amount": ""}),
    "bad modifier price": lambda o: o["lineItems"][0]["modifierGroups"][0]["modifiers"][0].update(
        price={"amount": "1.0.0"}
    ),
    "bad total": lambda o: o["priceSummary"].update(total={"amount": "35.97 USD"}),
    "quantity missing": _pop_line("quantity"),
    "quantity zero": _set_line("quantity", 0),
    "quantity not a number": _set_line("quantity", "two"),
    "line id missing": _pop_line("id"),
    "bad time slot": lambda o: o["shippingInfo"]["logistics"]["deliveryTimeSlot"].update({"from": "tonight"}),
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_order_is_a_permanent_error_without_personal_data(change: Callable[[dict[str, Any]], None]) -> None:
    # Given the sample (full of personal data) with one field broken
    order = _variant(change)
    # When it is parsed
    with pytest.raises(PermanentError) as caught:
        restaurant_order(order)
    # Then it is refused as invalid_wix_order, and neither the message nor the details quote the buyer
    assert caught.value.reason == "invalid_wix_order"
    text = f"{caught.value} {caught.value.details}"
    for personal in PERSONAL_DATA:
        assert personal not in text


def test_a_fractional_quantity_is_refused_not_truncated() -> None:
    # Given a restaurant line with a fractional quantity (Wix quantities are integers 1..100000)
    order = _variant(_set_line("quantity", 2.5))
    # When it is parsed
    # Then it is refused rather than exported as 2
    with pytest.raises(PermanentError) as caught:
        restaurant_order(order)
    assert caught.value.reason == "invalid_wix_order"


WRONG_SHAPES: dict[str, Callable[[dict[str, Any]], None]] = {
    "price is a string, not a Price object": _set_line("price", "12.50"),
    "productName is a string": _set_line("productName", "Margherita"),
    "time slot start is a number": lambda o: o["shippingInfo"]["logistics"]["deliveryTimeSlot"].update({"from": 1}),
    "lineItems is an object": lambda o: o.update(lineItems={"0": o["lineItems"][0]}),
}


@pytest.mark.parametrize("change", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_a_field_of_the_wrong_json_type_is_a_permanent_error(change: Callable[[dict[str, Any]], None]) -> None:
    # Given the sample with one field of the wrong JSON type
    order = _variant(change)
    # When it is parsed
    # Then it is refused as invalid_wix_order like any other malformed order
    with pytest.raises(PermanentError) as caught:
        restaurant_order(order)
    assert caught.value.reason == "invalid_wix_order"


def test_the_chosen_size_and_the_modifier_ids_are_read_for_the_catalog() -> None:
    # Given a restaurant line whose cart options name the size chosen (options.priceVariant.id)
    def choose_large(order: dict[str, Any]) -> None:
        order["lineItems"][0]["catalogReference"]["options"]["priceVariant"] = {"id": "v-large", "formattedPrice": "$1"}

    # When it is parsed
    margherita, tiramisu = restaurant_order(_variant(choose_large)).line_items
    # Then the line keeps the Wix variant and each modifier its Wix id, for the catalog mapping
    assert margherita.wix_variant_id == "v-large"
    assert [m.wix_id for m in margherita.modifiers] == ["m-1"]
    assert tiramisu.wix_variant_id is None


@pytest.mark.parametrize("variant", [None, "", 7, {"id": ""}, {"id": 5}, ["v-1"]])
def test_a_malformed_price_variant_is_no_variant(variant: Any) -> None:
    # Given options.priceVariant in a shape Wix does not send
    def odd(order: dict[str, Any]) -> None:
        order["lineItems"][0]["catalogReference"]["options"]["priceVariant"] = variant

    # When it is parsed, Then the order still reads, with no variant (the line will go ad hoc if it needs one)
    assert restaurant_order(_variant(odd)).line_items[0].wix_variant_id is None
