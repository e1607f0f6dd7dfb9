"""The Square adapter: pure mapping tests, then the client and SquarePos against the real Square sandbox over HTTP."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devstack.httpserver import BackgroundServer
from devstack.square_sandbox import SquareSandbox
from posbridge.domain.money import Money
from posbridge.domain.order import Address, Buyer, Fulfillment, LineItem, Modifier, Order
from posbridge.domain.order_catalog import CatalogLine
from posbridge.domain.order_money import AdditionalFee, Balance, OrderMoney, PaymentStatus, PriceSummary
from posbridge.domain.pos_export import OrderPayment
from posbridge.errors import PermanentError, TransientError
from posbridge.ports.pos import CATALOG_REFERENCE_UNKNOWN, PosGateway
from posbridge.pos.square import SquarePos
from posbridge.pos.square import orders as orders_mapping
from posbridge.pos.square.client import SquareClient, fit_idempotency_key
from posbridge.pos.square.order_money import minor_units
from posbridge.pos.square.orders import SOURCE_NAME, from_square_order, ticket_name, to_square_order

WIX_ORDER_ID = "3f2a9c4e-8b1d-4e6f-9a7c-2d5b8e1f0a3c"  # Wix ids are 36-character GUIDs


def _usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def _money(status: PaymentStatus, balance: str, total: str = "27.49", tip: str | None = None) -> OrderMoney:
    """The money of _order() as Wix reports it: only the parts the payment reads (status, balance, total, tip)."""
    zero = _usd("0")
    fees = (AdditionalFee(name="Tip", code=str(uuid.uuid4()), price=_usd(tip), is_tip=True),) if tip else ()
    return OrderMoney(
        currency="USD",
        tax_included_in_prices=False,
        payment_status=status,
        lines=(),
        fees=fees,
        summary=PriceSummary(
            subtotal=_usd(total), shipping=zero, tax=zero, discount=zero, total=_usd(total), additional_fees=zero
        ),
        balance=Balance(balance=_usd(balance)),
    )


def _order(**changes: Any) -> Order:
    fields: dict[str, Any] = {
        "id": WIX_ORDER_ID,
        "number": "10042",
        "status": "APPROVED",
        "currency": "USD",
        "line_items": (
            LineItem(
                id="line-burger",
                name="Burger",
                quantity=2,
                unit_price=_usd("12.50"),
                variant_name="Large",
                note="no onions",
                modifiers=(
                    Modifier(name="Extra cheese", quantity=2, price=_usd("0.75")),
                    Modifier(name="Pickles", price=None),
                ),
            ),
            LineItem(id="line-soda", name="Soda", quantity=1, unit_price=_usd("1.99")),
        ),
        "buyer": Buyer(first_name="Ada", last_name="Lovelace", email="ada@example.com", phone="+12125550100"),
        "buyer_note": "Ring the bell",
        "fulfillment": Fulfillment(type="PICKUP", promised_at=datetime(2030, 1, 1, 18, 30, tzinfo=UTC)),
    }
    fields.update(changes)
    return Order(**fields)


# ---- mapping: canonical Order -> Square CreateOrder ----------------------------------------------------------------


def test_an_order_maps_to_square_create_order_json() -> None:
    # Given a Wix order with two lines, modifiers, a buyer and a scheduled pickup
    order = _order()
    # When it is mapped for a location and a known customer
    square = to_square_order(order, "L1", "CUST1")
    # Then every field lands where Square expects it, with integer minor units and string quantities
    assert square["location_id"] == "L1"
    assert square["reference_id"] == WIX_ORDER_ID
    assert square["source"] == {"name": SOURCE_NAME}
    assert square["ticket_name"] == "Wix #10042"
    assert square["customer_id"] == "CUST1"
    burger, soda = square["line_items"]
    assert burger == {
        "uid": "line-burger",
        "name": "Burger",
        "quantity": "2",
        "base_price_money": {"amount": 1250, "currency": "USD"},
        "variation_name": "Large",
        "note": "no onions",
        "modifiers": [
            {"name": "Extra cheese", "quantity": "2", "base_price_money": {"amount": 75, "currency": "USD"}},
            {"name": "Pickles", "quantity": "1", "base_price_money": {"amount": 0, "currency": "USD"}},
        ],
    }
    assert soda == {
        "uid": "line-soda",
        "name": "Soda",
        "quantity": "1",
        "base_price_money": {"amount": 199, "currency": "USD"},
    }
    assert square["fulfillments"] == [
        {
            "type": "PICKUP",
            "state": "PROPOSED",
            "pickup_details": {
                "recipient": {
                    "display_name": "Ada Lovelace",
                    "email_address": "ada@example.com",
                    "phone_number": "+12125550100",
                },
                "schedule_type": "SCHEDULED",
                "pickup_at": "2030-01-01T18:30:00Z",
                "note": "Ring the bell",
            },
        }
    ]


def test_an_order_without_a_customer_omits_customer_id() -> None:
    # Given an order whose buyer has no POS customer
    # When it is mapped without one
    square = to_square_order(_order(), "L1", None)
    # Then Square gets no customer_id at all (an empty one would be rejected)
    assert "customer_id" not in square


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("19.99", "USD", 1999),  # 19.99 * 100 in floats is 1998.999...
        ("0.10", "USD", 10),
        ("12.5", "USD", 1250),
        ("1200", "JPY", 1200),  # zero-decimal currency
        ("12.345", "KWD", 12345),  # three-decimal currency
        ("0.001", "BHD", 1),
    ],
)
def test_money_converts_exactly_to_minor_units(amount: str, currency: str, expected: int) -> None:
    # Given a decimal amount in a currency with 0, 2 or 3 minor digits
    money = Money(amount=Decimal(amount), currency=currency)
    # When it is converted for Square
    # Then the integer amount is exact
    assert minor_units(money, currency) == expected


@pytest.mark.parametrize(("amount", "currency"), [("1.005", "USD"), ("1.5", "JPY"), ("0.0005", "KWD")])
def test_amounts_finer_than_the_currency_are_refused_not_rounded(amount: str, currency: str) -> None:
    # Given an order whose line price has more decimals than its currency allows
    line = LineItem(id="l1", name="Tea", quantity=1, unit_price=Money(amount=Decimal(amount), currency=currency))
    order = _order(currency=currency, line_items=(line,))
    # When it is mapped
    # Then the order is refused as permanent (rounding would charge a different price than Wix did)
    with pytest.raises(PermanentError) as caught:
        to_square_order(order, "L1", None)
    assert caught.value.reason == "amount_not_representable"


def test_a_price_in_another_currency_is_refused() -> None:
    # Given a USD order with a EUR line price
    line = LineItem(id="l1", name="Tea", quantity=1, unit_price=Money(amount=Decimal("2"), currency="EUR"))
    # When it is mapped
    # Then it is refused rather than sent with a mixed currency
    with pytest.raises(PermanentError) as caught:
        to_square_order(_order(line_items=(line,)), "L1", None)
    assert caught.value.reason == "currency_mismatch"


def test_modifier_prices_are_per_unit_and_included_modifiers_cost_zero() -> None:
    # Given a line of 3 with a 2x modifier at 0.50 each and an included modifier
    line = LineItem(
        id="l1",
        name="Bagel",
        quantity=3,
        unit_price=_usd("2.00"),
        modifiers=(Modifier(name="Lox", quantity=2, price=_usd("0.50")), Modifier(name="Toasted")),
    )
    # When it is mapped
    modifiers = to_square_order(_order(line_items=(line,)), "L1", None)["line_items"][0]["modifiers"]
    # Then each modifier carries its unit price and quantity (Square multiplies by both quantities itself)
    assert modifiers == [
        {"name": "Lox", "quantity": "2", "base_price_money": {"amount": 50, "currency": "USD"}},
        {"name": "Toasted", "quantity": "1", "base_price_money": {"amount": 0, "currency": "USD"}},
    ]


def test_pickup_without_a_promised_time_is_asap() -> None:
    # Given a pickup with no promised time
    order = _order(fulfillment=Fulfillment(type="PICKUP"))
    # When it is mapped
    details = to_square_order(order, "L1", None)["fulfillments"][0]["pickup_details"]
    # Then Square prepares it as soon as possible, with no pickup_at
    assert details["schedule_type"] == "ASAP"
    assert "pickup_at" not in details


def test_a_scheduled_time_with_an_offset_is_sent_in_utc() -> None:
    # Given a pickup promised at 18:30 in UTC-05:00
    promised = datetime(2030, 1, 1, 18, 30, tzinfo=timezone(timedelta(hours=-5)))
    order = _order(fulfillment=Fulfillment(type="PICKUP", promised_at=promised))
    # When it is mapped
    details = to_square_order(order, "L1", None)["fulfillments"][0]["pickup_details"]
    # Then the same instant is sent as an RFC 3339 UTC timestamp
    assert details == details | {"schedule_type": "SCHEDULED", "pickup_at": "2030-01-01T23:30:00Z"}


def test_an_order_without_a_fulfillment_becomes_an_asap_pickup() -> None:
    # Given an order Wix sent without fulfillment details
    # When it is mapped
    fulfillment = to_square_order(_order(fulfillment=None), "L1", None)["fulfillments"][0]
    # Then it still reaches the kitchen as an ASAP pickup
    assert fulfillment["type"] == "PICKUP"
    assert fulfillment["pickup_details"]["schedule_type"] == "ASAP"


_SPRINGFIELD = Address(
    line1="1 Main St", line2="Apt 3", city="Springfield", subdivision="US-IL", postal_code="62701", country="US"
)
_SQUARE_SPRINGFIELD = {
    "address_line_1": "1 Main St",
    "address_line_2": "Apt 3",
    "locality": "Springfield",
    "administrative_district_level_1": "IL",
    "postal_code": "62701",
    "country": "US",
}


def _delivery(window_minutes: int = 0) -> Fulfillment:
    start = datetime(2030, 1, 1, 19, 0, tzinfo=UTC)
    return Fulfillment(
        type="DELIVERY",
        promised_at=start,
        window_end=start + timedelta(minutes=window_minutes) if window_minutes else None,
        address=_SPRINGFIELD,
        instructions="Leave at the door",
    )


def test_a_delivery_goes_as_a_pickup_by_the_restaurants_driver_with_the_address_in_the_note() -> None:
    # Given a scheduled delivery in a 30-minute window, with an address and driver instructions, for a seller
    # without Square's delivery partnership (the default)
    # When it is mapped
    fulfillment = to_square_order(_order(fulfillment=_delivery(30)), "L1", None)["fulfillments"][0]
    # Then Square gets a PICKUP (a DELIVERY is not shown on its POS without the partnership): the recipient with the
    # structured address, the time and window, and a note staff read with the address, the window and both notes
    assert fulfillment == {
        "type": "PICKUP",
        "state": "PROPOSED",
        "pickup_details": {
            "recipient": {
                "display_name": "Ada Lovelace",
                "email_address": "ada@example.com",
                "phone_number": "+12125550100",
                "address": _SQUARE_SPRINGFIELD,
            },
            "schedule_type": "SCHEDULED",
            "pickup_at": "2030-01-01T19:00:00Z",
            "pickup_window_duration": "PT30M",
            "note": "DELIVERY by our driver to: 1 Main St, Apt 3, Springfield, IL 62701, US\n"
            "Delivery window: 30 min from the pickup time\nRing the bell\nLeave at the door",
        },
    }


def test_a_delivery_partner_gets_a_delivery_fulfillment() -> None:
    # Given the same delivery for a seller with Square's delivery partnership
    # When it is mapped
    fulfillment = orders_mapping.fulfillment(_order(fulfillment=_delivery()), delivery_partner=True)
    # Then Square gets delivery_details with the recipient's contact and structured address (the state as Square's
    # examples spell it, "IL" for ISO 3166-2 "US-IL"), the time and both notes
    assert fulfillment == {
        "type": "DELIVERY",
        "state": "PROPOSED",
        "delivery_details": {
            "recipient": {
                "display_name": "Ada Lovelace",
                "email_address": "ada@example.com",
                "phone_number": "+12125550100",
                "address": _SQUARE_SPRINGFIELD,
            },
            "schedule_type": "SCHEDULED",
            "deliver_at": "2030-01-01T19:00:00Z",
            "note": "Ring the bell\nLeave at the door",
        },
    }


def test_an_unpaid_order_is_marked_for_the_staff_with_the_amount_to_collect() -> None:
    # Given an order the buyer pays at pickup (Wix paymentStatus NOT_PAID, 27.49 owed)
    order = _order(money=_money("NOT_PAID", "27.49"))
    # When it is mapped
    square = to_square_order(order, "L1", None)
    # Then the ticket name and the first line of the note say UNPAID, the note with the amount
    assert square["ticket_name"] == "UNPAID Wix #10042"
    assert square["fulfillments"][0]["pickup_details"]["note"] == "UNPAID: collect 27.49 USD\nRing the bell"
    # And a paid one carries no mark
    paid = to_square_order(_order(money=_money("PAID", "0")), "L1", None)
    assert paid["ticket_name"] == "Wix #10042" and "UNPAID" not in paid["fulfillments"][0]["pickup_details"]["note"]


def test_a_buyer_without_phone_email_or_name_still_gets_the_recipient_square_requires() -> None:
    # Given a delivery order whose buyer left no name, e-mail, phone or address
    order = _order(buyer=Buyer(), fulfillment=Fulfillment(type="DELIVERY"))
    # When it is mapped
    details = to_square_order(order, "L1", None)["fulfillments"][0]["pickup_details"]
    # Then the recipient is named "Online customer" (display_name is required without a customer id) and the note
    # says no address was given
    assert details["recipient"] == {"display_name": "Online customer"}
    assert details["note"].startswith("DELIVERY by our driver (no address given)")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (Address(line1="5 Rue X", country="XK"), {"address_line_1": "5 Rue X"}),  # a country Square does not list
        (Address(city="Toronto", subdivision="CA-ON"), {"locality": "Toronto", "administrative_district_level_1": "ON",
                                                         "country": "CA"}),  # the country an ISO 3166-2 code names
        (Address(), None),
    ],
)  # fmt: skip
def test_an_address_keeps_only_what_square_accepts(address: Address, expected: dict[str, str] | None) -> None:
    # Given a delivery address that is partial or names a country outside Square's Country enum
    order = _order(fulfillment=Fulfillment(type="DELIVERY", address=address))
    # When it is mapped
    recipient = orders_mapping.fulfillment(order, delivery_partner=True)["delivery_details"]["recipient"]
    # Then Square gets only valid fields (an enum it would refuse is left off, not the order), or no address at all
    assert recipient.get("address") == expected


@pytest.mark.parametrize(
    ("phone", "sent"),
    [
        ("+1 (212) 555-0100", "+1 (212) 555-0100"),  # Square's own example spelling: kept
        ("212.555.0100", "212 555 0100"),  # dots, in no Square example, become spaces
        ("+44 (0) 20 7946 0958", "+4402079460958"),  # over the recipient's 17 characters: compact
        ("12345678", None),  # 8 digits: under Square's 9
        ("+12345678901234567", None),  # 17 digits: over Square's 16
        ("call 555-0100", None),  # letters
        ("", None),
    ],
)
def test_a_recipient_phone_follows_squares_rule(phone: str, sent: str | None) -> None:
    # Given a buyer whose phone is (or is not) within Square's documented 9-16 digits with an optional "+"
    order = _order(buyer=Buyer(first_name="Ada", phone=phone))
    # When the order is mapped
    recipient = to_square_order(order, "L1", None)["fulfillments"][0]["pickup_details"]["recipient"]
    # Then the recipient gets the number Square accepts, or none at all: the order is never refused for it
    assert recipient.get("phone_number") == sent


def test_an_anonymous_buyer_is_still_a_named_recipient() -> None:
    # Given a buyer with no name, e-mail or phone
    # When the order is mapped
    recipient = to_square_order(_order(buyer=Buyer()), "L1", None)["fulfillments"][0]["pickup_details"]["recipient"]
    # Then Square still gets the display name it requires
    assert recipient == {"display_name": "Online customer"}


def test_a_reference_id_longer_than_40_characters_is_refused() -> None:
    # Given an order id longer than Square's reference_id allows
    order = _order(id="x" * 41)
    # When it is mapped
    # Then it is refused: a cut id could no longer be matched back to the Wix order
    with pytest.raises(PermanentError) as caught:
        to_square_order(order, "L1", None)
    assert caught.value.reason == "square_reference_id_too_long"


def test_a_line_id_longer_than_60_characters_is_refused() -> None:
    # Given a line item id longer than Square's uid allows
    line = LineItem(id="l" * 61, name="Tea", quantity=1, unit_price=_usd("2"))
    # When it is mapped
    # Then it is refused (the uid is the line mapping)
    with pytest.raises(PermanentError) as caught:
        to_square_order(_order(line_items=(line,)), "L1", None)
    assert caught.value.reason == "square_line_uid_too_long"


def test_the_ticket_name_is_cut_to_30_characters() -> None:
    # Given a very long order number, and an order with no number at all
    long_number = _order(number="1234567890" * 4)
    no_number = _order(number=None)
    # When their ticket names are built
    # Then they fit Square's 30 characters and still start with "Wix"
    assert ticket_name(long_number) == ("Wix #" + "1234567890" * 4)[:30]
    assert len(ticket_name(long_number)) == 30
    assert ticket_name(no_number) == f"Wix {WIX_ORDER_ID}"[:30]


def test_a_square_order_parses_to_a_pos_order() -> None:
    # Given Square's answer to CreateOrder
    square = {"id": "ORD1", "version": 1, "customer_id": "C1", "line_items": [{"uid": "a"}, {"uid": "b"}]}
    # When it is parsed
    parsed = from_square_order(square)
    # Then it carries the id, version, customer and the Wix line id -> Square uid map
    assert parsed.id == "ORD1"
    assert parsed.version == 1
    assert parsed.customer_id == "C1"
    assert parsed.line_ids == {"a": "a", "b": "b"}


def test_long_idempotency_keys_are_hashed_down_stably() -> None:
    # Given a key that fits and one that does not
    short, long = "k-1", "tenant#order#" + "x" * 300
    # When they are fitted to a limit
    # Then a fitting key is kept, a long one becomes the same short digest every time
    assert fit_idempotency_key(short, 45) == short
    assert fit_idempotency_key(long, 45) == fit_idempotency_key(long, 45)
    assert len(fit_idempotency_key(long, 45)) == 45
    assert fit_idempotency_key(long, 45) != fit_idempotency_key(long + "y", 45)


# ---- client behaviour without a server (Retry-After, backoff bounds) -----------------------------------------------


def _mock_client(answers: list[httpx.Response], sleeps: list[float]) -> SquareClient:
    pending = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        return pending.pop(0)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return SquareClient("https://square.test", "EAAA-secret", http=http, sleep=sleeps.append)


def test_retry_after_is_honoured_and_capped() -> None:
    # Given Square throttles twice with Retry-After (1.5 s, then an excessive 120 s) and then answers
    throttled = {"errors": [{"category": "RATE_LIMIT_ERROR", "code": "RATE_LIMITED"}]}
    sleeps: list[float] = []
    client = _mock_client(
        [
            httpx.Response(429, json=throttled, headers={"Retry-After": "1.5"}),
            httpx.Response(429, json=throttled, headers={"Retry-After": "120"}),
            httpx.Response(200, json={"ok": True}),
        ],
        sleeps,
    )
    # When a request is made
    answer = client.get("/v2/locations")
    # Then the client waited as told, but never longer than its cap, and returned the answer
    assert answer == {"ok": True}
    assert sleeps == [1.5, 10.0]


def test_backoff_is_jittered_within_exponential_bounds() -> None:
    # Given Square is unavailable on every attempt
    sleeps: list[float] = []
    client = _mock_client([httpx.Response(503) for _ in range(4)], sleeps)
    # When a request is made
    with pytest.raises(TransientError):
        client.get("/v2/locations")
    # Then it slept between attempts only, each wait within [0, min(2, 0.2 * 2^(n-1))]
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps, start=1):
        assert 0 <= delay <= min(2.0, 0.2 * 2 ** (attempt - 1))


def test_a_catalog_line_carries_the_catalog_ids_and_wixs_price_and_no_name() -> None:
    # Given the burger resolved to its POS variation, its extra cheese mapped and its pickles not
    catalog = {"line-burger": CatalogLine(variation_id="VAR-BURGER-L", modifier_ids=("MOD-CHEESE", None))}
    # When the order is mapped
    burger, soda = to_square_order(_order(), "L1", None, catalog)["line_items"]
    # Then the burger is a catalog line at the price Wix charged (base_price_money overrides the catalog's); Square
    # names it from its catalog, so no name or variation name is sent
    assert burger == {
        "uid": "line-burger",
        "catalog_object_id": "VAR-BURGER-L",
        "quantity": "2",
        "base_price_money": {"amount": 1250, "currency": "USD"},
        "note": "no onions",
        "modifiers": [
            {"catalog_object_id": "MOD-CHEESE", "quantity": "2", "base_price_money": {"amount": 75, "currency": "USD"}},
            {"name": "Pickles", "quantity": "1", "base_price_money": {"amount": 0, "currency": "USD"}},
        ],
    }
    # And the line the mapping did not resolve stays ad hoc
    assert "catalog_object_id" not in soda and soda["name"] == "Soda"


# ---- against the Square sandbox over HTTP --------------------------------------------------------------------------


@dataclass
class Square:
    url: str
    sandbox: SquareSandbox
    control: httpx.Client


@dataclass
class Merchant:
    square: Square
    merchant_id: str
    location_id: str
    token: str
    sleeps: list[float] = field(default_factory=list)
    sent: list[tuple[str, bytes]] = field(default_factory=list)  # (path, body) of every API request

    def client(self, **options: Any) -> SquareClient:
        """A client with a no-op sleep (recorded) and a hook recording every request it sends."""

        def record(request: httpx.Request) -> None:
            self.sent.append((request.url.path, request.read()))

        http = options.pop("http", None) or httpx.Client(event_hooks={"request": [record]})
        return SquareClient(self.square.url, self.token, http=http, sleep=self.sleeps.append, **options)

    def state(self) -> dict[str, Any]:
        return dict(self.square.control.get(f"/_sandbox/merchants/{self.merchant_id}/state").json())

    def fault(self, path: str, method: str, status: int | None, times: int, delay_ms: int = 0) -> None:
        body = {"path": path, "method": method, "status": status, "times": times, "delayMs": delay_ms}
        assert self.square.control.post("/_sandbox/faults", json=body).status_code == 200

    def bodies(self, path: str) -> list[bytes]:
        return [body for p, body in self.sent if p == path]


@pytest.fixture(scope="module")
def square() -> Iterator[Square]:
    sandbox = SquareSandbox()
    with BackgroundServer(sandbox.wsgi_app) as server, httpx.Client(base_url=server.url, timeout=5) as control:
        yield Square(server.url, sandbox, control)


@pytest.fixture
def merchant(square: Square) -> Iterator[Merchant]:
    suffix = uuid.uuid4().hex[:8].upper()
    m = Merchant(square, f"M{suffix}", f"L{suffix}", f"EAAA-{suffix}-secret")
    square.sandbox.add_merchant(m.merchant_id, m.location_id, m.token, f"key-{suffix}", None)
    yield m
    square.control.delete("/_sandbox/faults")  # faults are sandbox-wide: leave none behind


@pytest.fixture
def pos(merchant: Merchant) -> Iterator[SquarePos]:
    client = merchant.client()
    yield SquarePos(client, merchant.location_id)
    client.close()


def test_square_pos_satisfies_the_port(pos: SquarePos) -> None:
    # Given the Square adapter
    # When it is used where the flows expect a PosGateway
    gateway: PosGateway = pos
    # Then it type-checks and offers both operations
    assert callable(gateway.create_order) and callable(gateway.find_or_create_customer)


def test_an_order_is_created_end_to_end(merchant: Merchant, pos: SquarePos) -> None:
    # Given a Wix order and an existing Square customer
    customer_id = pos.find_or_create_customer(_order().buyer, "cust-key-1")
    # When it is created in Square
    created = pos.create_order(_order(), customer_id, "order-key-1")
    # Then Square holds it with our reference, lines, totals and pickup; the POS order maps the lines back
    assert created.version == 1
    assert created.customer_id == customer_id
    assert created.line_ids == {"line-burger": "line-burger", "line-soda": "line-soda"}
    [stored] = merchant.state()["orders"]
    assert stored["id"] == created.id
    assert stored["reference_id"] == WIX_ORDER_ID
    assert stored["source"] == {"name": SOURCE_NAME}
    assert stored["state"] == "OPEN"
    # 2 x (12.50 + 2 x 0.75 + 0) + 1.99 = 29.99
    assert stored["total_money"] == {"amount": 2999, "currency": "USD"}
    assert stored["fulfillments"][0]["pickup_details"]["pickup_at"] == "2030-01-01T18:30:00Z"
    assert pos.retrieve_order(created.id)["reference_id"] == WIX_ORDER_ID


def test_square_version_and_bearer_token_are_sent(merchant: Merchant, pos: SquarePos) -> None:
    # Given the adapter's default Square-Version
    # When it makes a call
    pos.create_order(_order(), None, "order-key-version")
    # Then the sandbox authenticated it and saw the pinned version
    assert merchant.state()["squareVersions"] == {"2026-09-16": 1}


def test_the_same_key_and_order_return_the_same_pos_order(merchant: Merchant, pos: SquarePos) -> None:
    # Given an order already created under a key
    first = pos.create_order(_order(), None, "order-key-dup")
    # When the same order is created again under the same key (a redelivered webhook)
    second = pos.create_order(_order(), None, "order-key-dup")
    # Then Square answers with the same order and holds only one
    assert second.id == first.id
    assert len(merchant.state()["orders"]) == 1


def test_throttling_is_retried_with_the_same_body_and_key(merchant: Merchant, pos: SquarePos) -> None:
    # Given Square answers 429 twice to CreateOrder
    merchant.fault("/v2/orders", "POST", 429, times=2)
    # When an order is created
    created = pos.create_order(_order(), None, "order-key-429")
    # Then it succeeded on the third attempt, re-sending identical bytes (so the same idempotency key)
    bodies = merchant.bodies("/v2/orders")
    assert len(bodies) == 3
    assert len(set(bodies)) == 1
    assert b'"idempotency_key":"order-key-429"' in bodies[0]
    assert len(merchant.sleeps) == 2
    # And Square holds exactly one order
    assert [o["id"] for o in merchant.state()["orders"]] == [created.id]


def test_a_persistent_outage_raises_transient_after_max_attempts(merchant: Merchant) -> None:
    # Given Square answers 503 to every CreateOrder
    merchant.fault("/v2/orders", "POST", 503, times=10)
    pos = SquarePos(merchant.client(max_attempts=3), merchant.location_id)
    # When an order is created
    with pytest.raises(TransientError) as caught:
        pos.create_order(_order(), None, "order-key-503")
    # Then the client gave up after exactly max_attempts calls, and nothing was created
    assert "503" in str(caught.value)
    assert len(merchant.bodies("/v2/orders")) == 3
    faults = merchant.square.control.get("/_sandbox/faults").json()["faults"]
    assert faults[0]["times"] == 10 - 3  # the sandbox answered three of the ten injected 503s
    # (injected faults answer before the API handler, so the sandbox's `calls` counter does not see them)
    assert merchant.state()["calls"].get("POST /v2/orders", 0) == 0
    assert merchant.state()["orders"] == []


def test_a_slow_answer_times_out_and_the_retry_does_not_duplicate(merchant: Merchant) -> None:
    # Given CreateOrder's first answer takes 300 ms and the client waits 100 ms
    merchant.fault("/v2/orders", "POST", None, times=1, delay_ms=300)
    pos = SquarePos(merchant.client(timeout=httpx.Timeout(0.1, connect=1.0)), merchant.location_id)
    # When an order is created
    created = pos.create_order(_order(), None, "order-key-timeout")
    # Then the timed-out attempt was retried with the same bytes and succeeded
    bodies = merchant.bodies("/v2/orders")
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    # And once the slow first request also reaches Square, its key replays the same order: still one order
    deadline = time.monotonic() + 2
    while merchant.state()["calls"].get("POST /v2/orders", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert merchant.state()["calls"]["POST /v2/orders"] == 2
    assert [o["id"] for o in merchant.state()["orders"]] == [created.id]


def test_an_unreachable_square_is_transient() -> None:
    # Given nothing listens on the port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    client = SquareClient(f"http://127.0.0.1:{port}", "EAAA-secret", max_attempts=2, sleep=sleeps.append)
    # When a request is made
    with pytest.raises(TransientError) as caught:
        client.get("/v2/locations")
    # Then it was retried, then reported as transient without the token
    assert len(sleeps) == 1
    assert "ConnectError" in str(caught.value)
    assert "EAAA-secret" not in str(caught.value)
    assert caught.value.__context__ is None  # httpx's exception holds the request, and so the token
    client.close()


def test_a_request_that_cannot_be_sent_is_permanent() -> None:
    # Given a base URL with a scheme httpx cannot speak
    sleeps: list[float] = []
    client = SquareClient("ftp://square.test", "EAAA-secret", sleep=sleeps.append)
    # When a request is made
    with pytest.raises(PermanentError) as caught:
        client.get("/v2/locations")
    # Then it fails at once as a configuration error, without the token
    assert caught.value.reason == "square_request_unsendable"
    assert sleeps == []
    assert caught.value.__context__ is None
    client.close()


def test_a_validation_error_is_permanent_with_squares_code_and_no_token(merchant: Merchant, pos: SquarePos) -> None:
    # Given an order in a currency the USD location does not take
    euro = LineItem(id="l1", name="Tea", quantity=1, unit_price=Money(amount=Decimal("2.50"), currency="EUR"))
    order = _order(currency="EUR", line_items=(euro,))
    # When it is created
    with pytest.raises(PermanentError) as caught:
        pos.create_order(order, None, "order-key-eur")
    # Then Square's code, category and field are kept; the token appears nowhere; nothing was retried or created
    error = caught.value
    assert error.reason == "square_currency_mismatch"
    assert error.details["status"] == 400
    assert error.details["category"] == "INVALID_REQUEST_ERROR"
    assert error.details["field"] == "order.line_items[0].base_price_money"
    assert len(str(error.details["detail"])) <= 200
    for text in (str(error), repr(error), repr(error.details), repr(pos), repr(pos._client)):
        assert merchant.token not in text
    assert len(merchant.bodies("/v2/orders")) == 1
    assert merchant.state()["orders"] == []


def test_a_wrong_token_is_permanent_and_never_echoed(merchant: Merchant) -> None:
    # Given a client holding a token Square does not know
    client = SquareClient(merchant.square.url, "EAAA-wrong-token", sleep=merchant.sleeps.append)
    # When it calls Square
    with pytest.raises(PermanentError) as caught:
        client.get("/v2/locations")
    # Then the failure is permanent (retrying cannot help) and does not contain the token
    assert caught.value.reason == "square_unauthorized"
    assert "EAAA-wrong-token" not in f"{caught.value} {caught.value.details} {client!r}"
    assert merchant.sleeps == []
    client.close()


def test_an_unknown_order_is_permanent(pos: SquarePos) -> None:
    # Given no order with this id
    # When it is retrieved
    with pytest.raises(PermanentError) as caught:
        pos.retrieve_order("NO-SUCH-ORDER")
    # Then Square's 404 becomes a permanent NOT_FOUND
    assert caught.value.reason == "square_not_found"


# ---- customers -----------------------------------------------------------------------------------------------------


def _existing_customer(merchant: Merchant, **fields: str) -> str:
    client = merchant.client()
    customer = client.post("/v2/customers", {"idempotency_key": uuid.uuid4().hex, **fields})["customer"]
    client.close()
    return str(customer["id"])


def test_a_customer_is_found_by_email(merchant: Merchant, pos: SquarePos) -> None:
    # Given the seller already has a customer with this e-mail (different case)
    existing = _existing_customer(merchant, email_address="Ada@Example.com", given_name="Ada")
    # When the buyer is looked up
    found = pos.find_or_create_customer(Buyer(email="ada@example.com", phone="+12125550100"), "cust-email")
    # Then the existing profile is reused and none is created
    assert found == existing
    assert len(merchant.state()["customers"]) == 1


def test_a_customer_is_found_by_phone_when_the_email_is_unknown(merchant: Merchant, pos: SquarePos) -> None:
    # Given the seller has a customer with this phone number only
    existing = _existing_customer(merchant, phone_number="+12125550100")
    # When a buyer with a new e-mail and the same number (formatted differently) is looked up
    buyer = Buyer(email="new@example.com", phone="+1 (212) 555-0100")
    found = pos.find_or_create_customer(buyer, "cust-phone")
    # Then the phone match is reused
    assert found == existing
    assert len(merchant.state()["customers"]) == 1


def _seeded_variation(merchant: Merchant, item: str, size: str) -> dict[str, Any]:
    objects = merchant.square.control.post(f"/_sandbox/merchants/{merchant.merchant_id}/seed-catalog").json()
    found = next(o for o in objects["objects"] if o["type"] == "ITEM" and o["item_data"]["name"] == item)
    return dict(next(v for v in found["item_data"]["variations"] if v["item_variation_data"]["name"] == size))


def test_a_catalog_line_reaches_square_and_a_deleted_variation_is_told_apart(
    merchant: Merchant, pos: SquarePos
) -> None:
    # Given the sample catalog's large Margherita (16.00), and a Wix line sold at 12.50 mapped to it
    large = _seeded_variation(merchant, "Margherita Pizza", "Large")
    catalog = {"line-burger": CatalogLine(variation_id=large["id"], modifier_ids=(None, None))}
    # When the order is created
    created = pos.create_order(_order(), None, "order-key-catalog", catalog)
    # Then Square sells the variation, named from its catalog, at Wix's price
    [order] = [o for o in merchant.state()["orders"] if o["id"] == created.id]
    line = next(li for li in order["line_items"] if li["uid"] == "line-burger")
    assert (line["catalog_object_id"], line["name"], line["variation_name"]) == (
        large["id"],
        "Margherita Pizza",
        "Large",
    )
    assert line["base_price_money"] == {"amount": 1250, "currency": "USD"}
    # When the seller deletes the variation and another order names it
    deleted = merchant.client().post("/v2/catalog/batch-delete", {"object_ids": [large["id"]]})
    assert deleted["deleted_object_ids"]
    with pytest.raises(PermanentError) as caught:
        pos.create_order(_order(id="wix-order-2"), None, "order-key-catalog-2", catalog)
    # Then the adapter says so in the port's terms (the flow re-sends the order ad hoc)
    assert caught.value.reason == CATALOG_REFERENCE_UNKNOWN


def test_an_unknown_buyer_is_created(merchant: Merchant, pos: SquarePos) -> None:
    # Given no matching customer
    billing = Address(line1="1 Main St", city="New York", subdivision="US-NY", postal_code="10001", country="US")
    buyer = Buyer(
        first_name="Grace", last_name="Hopper", email="grace@example.com", phone="+1 212 555 0199", address=billing
    )
    # When the buyer is looked up
    created = pos.find_or_create_customer(buyer, "cust-new")
    # Then a customer is created with the buyer's names, contact details (the phone as given: Square accepts
    # formatting and searches on its E.164 form) and billing address in Square's layout
    [customer] = merchant.state()["customers"]
    assert customer["id"] == created
    assert customer["given_name"] == "Grace"
    assert customer["family_name"] == "Hopper"
    assert customer["email_address"] == "grace@example.com"
    assert customer["phone_number"] == "+1 212 555 0199"
    assert customer["address"] == {
        "address_line_1": "1 Main St",
        "locality": "New York",
        "administrative_district_level_1": "NY",
        "postal_code": "10001",
        "country": "US",
    }


@pytest.mark.parametrize("phone", ["12345678", "+12345678901234567", "555-CALL-NOW", "+1 212 555 0100 ext 4"])
def test_a_phone_square_would_refuse_is_left_off_the_customer(merchant: Merchant, pos: SquarePos, phone: str) -> None:
    # Given a buyer whose phone is outside Square's 9-16 digit rule
    buyer = Buyer(first_name="Grace", email="grace@example.com", phone=phone)
    # When the buyer is looked up
    created = pos.find_or_create_customer(buyer, f"cust-{uuid.uuid4().hex[:8]}")
    # Then the customer is still created, without the phone, and the phone was neither searched nor sent
    [customer] = merchant.state()["customers"]
    assert customer["id"] == created and "phone_number" not in customer
    assert all(b"phone_number" not in body for _, body in merchant.sent)


def test_a_national_phone_is_stored_but_not_searched(merchant: Merchant, pos: SquarePos) -> None:
    # Given a buyer whose valid phone has no "+" and country code (Square's exact search needs E.164)
    buyer = Buyer(phone="(212) 555-0100")
    # When the buyer is looked up
    created = pos.find_or_create_customer(buyer, "cust-national")
    # Then no phone search was made, and the new customer keeps the number as given
    assert merchant.bodies("/v2/customers/search") == []
    [customer] = merchant.state()["customers"]
    assert (customer["id"], customer["phone_number"]) == (created, "(212) 555-0100")


@pytest.mark.parametrize(
    ("phone", "accepted"),
    [("+1 (206) 222-3456", True), ("206 222 3456", True), ("12345678", False), ("+12345678901234567", False),
     ("+1 206 222 3456 x1", False), ("206%2223456", False)],
)  # fmt: skip
def test_the_sandbox_refuses_a_phone_the_way_square_does(merchant: Merchant, phone: str, accepted: bool) -> None:
    # Given a CreateCustomer request with a phone number inside or outside Square's rule
    body = {"idempotency_key": uuid.uuid4().hex, "phone_number": phone}
    # When it is sent to the sandbox
    response = httpx.post(
        f"{merchant.square.url}/v2/customers", json=body, headers={"Authorization": f"Bearer {merchant.token}"}
    )
    # Then a valid number is stored as given, and an invalid one gets Square's 400 INVALID_PHONE_NUMBER
    if accepted:
        assert response.status_code == 200 and response.json()["customer"]["phone_number"] == phone
    else:
        assert response.status_code == 400
        assert response.json() == {"errors": [{
            "category": "INVALID_REQUEST_ERROR", "code": "INVALID_PHONE_NUMBER", "detail": "Invalid phone number.",
            "field": "phone_number",
        }]}  # fmt: skip


def test_a_buyer_without_email_or_phone_has_no_customer(merchant: Merchant, pos: SquarePos) -> None:
    # Given a buyer who gave only a name
    # When the buyer is looked up
    # Then there is no customer and Square was not called
    assert pos.find_or_create_customer(Buyer(first_name="Anon"), "cust-none") is None
    assert merchant.sent == []


class _LoseFirstCreate(httpx.HTTPTransport):
    """Delivers the first CreateCustomer to Square, then loses its answer (as a dropped connection would)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/v2/customers" and not self.lost:
            self.lost = True
            response.read()
            response.close()
            raise httpx.ReadError("connection reset", request=request)
        return response


def test_a_customer_is_created_once_under_a_repeated_key(merchant: Merchant) -> None:
    # Given Square created the customer but the answer was lost
    transport = _LoseFirstCreate()
    pos = SquarePos(merchant.client(http=httpx.Client(transport=transport)), merchant.location_id)
    buyer = Buyer(first_name="Alan", email="alan@example.com")
    # When the adapter retries, and later the whole lookup is repeated under the same key
    first = pos.find_or_create_customer(buyer, "cust-lost")
    again = pos.find_or_create_customer(buyer, "cust-lost")
    # Then the retry replayed Square's stored answer: one customer, one id
    assert transport.lost
    assert merchant.state()["calls"]["POST /v2/customers"] == 2
    assert first == again
    assert [c["id"] for c in merchant.state()["customers"]] == [first]


def test_a_long_customer_key_is_hashed_down_to_45_characters(merchant: Merchant, pos: SquarePos) -> None:
    # Given a deterministic key longer than 45 characters
    key = "tenant-" + "a" * 60 + "#customer#" + WIX_ORDER_ID
    # When a new buyer is created under it
    created = pos.find_or_create_customer(Buyer(phone="+44 20 7946 0000"), key)
    # Then Square got a short stable digest of the key, and the customer exists
    [create] = merchant.bodies("/v2/customers")
    sent_key = json.loads(create)["idempotency_key"]
    assert sent_key == fit_idempotency_key(key, 45)
    assert len(sent_key) == 45
    assert [c["id"] for c in merchant.state()["customers"]] == [created]


# ---- paid and visible on the POS (issue 12 points 1 and 2) ---------------------------------------------------------


def _screen(merchant: Merchant) -> dict[str, Any]:
    return dict(merchant.square.control.get(f"/_sandbox/merchants/{merchant.merchant_id}/pos-screen").json())


def test_a_paid_order_is_paid_with_an_external_payment_and_appears_on_the_pos(
    merchant: Merchant, pos: SquarePos
) -> None:
    # Given an order created on Square (29.99) that Wix collected, with a 3.00 tip
    created = pos.create_order(_order(), None, "order-key-paid")
    payment = OrderPayment(wix_order_id=WIX_ORDER_ID, tip=_usd("3.00"))
    assert created.total == _usd("29.99")
    # When it is paid
    payment_id = pos.pay_order(created, payment, "payment-key-paid", "pay-key-paid")
    # Then Square holds one completed EXTERNAL payment naming Wix and the order, the tip on it, and the order is paid
    state = merchant.state()
    [stored] = state["payments"]
    assert stored["id"] == payment_id and stored["status"] == "COMPLETED"
    assert stored["external_details"] == {"type": "EXTERNAL", "source": "Wix", "source_id": WIX_ORDER_ID}
    assert stored["amount_money"] == {"amount": 2999, "currency": "USD"}
    assert stored["tip_money"] == {"amount": 300, "currency": "USD"}
    assert stored["order_id"] == created.id and "note" not in stored
    # And the POS screen shows it, paid, not marked unpaid
    [ticket] = _screen(merchant)["orders"]
    assert ticket["orderId"] == created.id and ticket["paid"] and ticket["ticketName"] == "Wix #10042"
    assert ticket["tenders"] == [{"type": "OTHER", "amount": 2999, "tip": 300}]


def test_paying_again_under_the_same_keys_makes_no_second_payment(merchant: Merchant, pos: SquarePos) -> None:
    # Given an order paid once
    created = pos.create_order(_order(), None, "order-key-twice")
    payment = OrderPayment(wix_order_id=WIX_ORDER_ID)
    first = pos.pay_order(created, payment, "payment-key-twice", "pay-key-twice")
    # When the same payment is made again under the same keys (a redelivery before the mapping was written)
    second = pos.pay_order(created, payment, "payment-key-twice", "pay-key-twice")
    # Then Square answers with the same payment and holds only one
    assert second == first
    state = merchant.state()
    assert len(state["payments"]) == 1


def test_a_payment_recorded_before_a_crash_is_applied_by_the_retry(merchant: Merchant, pos: SquarePos) -> None:
    # Given PayOrder failed after CreatePayment (Square down for that call, past the client's retries)
    created = pos.create_order(_order(), None, "order-key-crash")
    payment = OrderPayment(wix_order_id=WIX_ORDER_ID)
    merchant.fault(f"/v2/orders/{created.id}/pay", "POST", 503, times=4)
    with pytest.raises(TransientError):
        pos.pay_order(created, payment, "payment-key-crash", "pay-key-crash")
    assert _screen(merchant)["hidden"] == {"unpaid": 1}
    # When the export is retried with the same keys
    payment_id = pos.pay_order(created, payment, "payment-key-crash", "pay-key-crash")
    # Then the one payment made before is applied and the order shows
    state = merchant.state()
    assert len(state["payments"]) == 1
    [ticket] = _screen(merchant)["orders"]
    assert ticket["paid"] and ticket["tenders"][0]["amount"] == 2999 and payment_id


def test_an_unpaid_order_shows_on_the_pos_marked_with_the_amount_to_collect(merchant: Merchant, pos: SquarePos) -> None:
    # Given a cash-at-pickup order (Wix NOT_PAID, 29.99 owed)
    order = _order(money=_money("NOT_PAID", "29.99", total="29.99"))
    created = pos.create_order(order, None, "order-key-unpaid")
    # When it is settled for the kitchen to see
    pos.pay_order(created, OrderPayment(wix_order_id=order.id, to_collect=order.to_collect), "pk-unpaid", "pay-unpaid")
    # Then the payment is of type OTHER with a note saying what to collect
    state = merchant.state()
    [stored] = state["payments"]
    assert stored["external_details"]["type"] == "OTHER"
    assert stored["note"] == "Not paid on Wix. UNPAID: collect 29.99 USD at pickup or on delivery."
    # And the POS screen shows it with UNPAID on the ticket and the amount first in the note
    [ticket] = _screen(merchant)["orders"]
    assert ticket["ticketName"] == "UNPAID Wix #10042"
    assert ticket["fulfillments"][0]["note"].startswith("UNPAID: collect 29.99 USD\n")


def test_a_delivery_shows_on_the_pos_as_a_pickup_with_the_address_and_only_partners_get_delivery(
    merchant: Merchant,
) -> None:
    # Given a paid delivery order, once for a seller without Square's delivery partnership, once with it
    client = merchant.client()
    order = _order(fulfillment=_delivery(30))
    for partner, key in ((False, "plain"), (True, "partner")):
        pos = SquarePos(client, merchant.location_id, delivery_partner=partner)
        created = pos.create_order(order, None, f"order-key-{key}")
        pos.pay_order(created, OrderPayment(wix_order_id=order.id), f"payment-key-{key}", f"pay-key-{key}")
    # When the seller (not a partner) looks at the POS
    screen = _screen(merchant)
    # Then the PICKUP shows with the address and window in its note; the DELIVERY is hidden
    [ticket] = screen["orders"]
    [shown] = ticket["fulfillments"]
    assert shown["type"] == "PICKUP" and shown["times"]["pickup_window_duration"] == "PT30M"
    assert "1 Main St, Apt 3, Springfield, IL 62701, US" in shown["note"]
    assert screen["hidden"] == {"DELIVERY without a partnership": 1}
    client.close()
