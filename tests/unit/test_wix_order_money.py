"""Reading the money of a Wix order (tax, discounts, delivery fee, additional fees, tip, payment status, balance,
priceSummary) exactly, checking that it adds up to the cent, and refusing invalid money with a reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posbridge.domain.money import Money
from posbridge.domain.order_money import PAYMENT_STATUSES, OrderMoney, differences
from posbridge.errors import PermanentError
from posbridge.wix.orders import restaurant_order

EVENTS = Path(__file__).resolve().parents[2] / "events" / "wix_webhook"
RESTAURANTS = "9a5d83fd-8570-482e-81ab-cfa88942ee60"
PERSONAL_DATA = ("Ada", "Example", "ada@example.com", "+15555550100", "Elm St", "napkins")


def _usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def _price(amount: str) -> dict[str, str]:
    return {"amount": amount, "formattedAmount": f"${amount}"}


def _delivery_order() -> dict[str, Any]:
    sample = json.loads((EVENTS / "order_approved_delivery.json").read_text())
    return dict(sample["event"]["actionEvent"]["body"]["order"])


def _money(order: dict[str, Any]) -> OrderMoney:
    money = restaurant_order(order).money
    assert money is not None
    return money


def _included_order() -> dict[str, Any]:
    """A VAT site (prices include 20%): a 12.00 dish with a 2.00 automatic discount, 2.00 delivery, cash on delivery."""
    return {
        "id": "6b3d8f5f-0000-4000-8000-000000000001",
        "status": "APPROVED",
        "paymentStatus": "NOT_PAID",
        "currency": "EUR",
        "taxIncludedInPrices": True,
        "lineItems": [
            {
                "id": "00000000-0000-4000-8000-00000000b001",
                "productName": {"original": "Pasta"},
                "catalogReference": {"appId": RESTAURANTS, "catalogItemId": "11111111-0000-4000-8000-000000000009"},
                "quantity": 1,
                "price": _price("12.00"),
                "lineItemPrice": _price("12.00"),
                "totalDiscount": _price("2.00"),
                "totalPriceBeforeTax": _price("8.33"),
                "totalPriceAfterTax": _price("10.00"),
                "taxInfo": {
                    "taxAmount": _price("1.67"),
                    "taxableAmount": _price("8.33"),
                    "taxRate": "0.2",
                    "taxIncludedInPrice": True,
                },
            }
        ],
        "appliedDiscounts": [
            {
                "id": "d0000000-0000-4000-8000-000000000001",
                "discountType": "SPECIFIC_ITEMS",
                "discountRule": {
                    "id": "d1000000-0000-4000-8000-000000000001",
                    "name": {"original": "Lunch deal", "translated": "Menu midi"},
                    "amount": _price("2.00"),
                },
                "lineItemDiscounts": [{"id": "00000000-0000-4000-8000-00000000b001", "totalDiscount": _price("2.00")}],
            }
        ],
        "shippingInfo": {
            "title": "Delivery",
            "cost": {
                "price": _price("2.00"),
                "taxInfo": {"taxAmount": _price("0.33"), "taxRate": "0.2", "taxIncludedInPrice": True},
            },
        },
        "priceSummary": {
            "subtotal": _price("12.00"),
            "shipping": _price("2.00"),
            "tax": _price("2.00"),
            "discount": _price("2.00"),
            "total": _price("12.00"),
            "totalAdditionalFees": _price("0.00"),
        },
        "balanceSummary": {"balance": _price("12.00"), "paid": _price("0.00")},
    }


def _variant(base: Callable[[], dict[str, Any]], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    order = copy.deepcopy(base())
    change(order)
    return order


# ---- reading ---------------------------------------------------------------------------------------------------------


def test_the_taxed_delivery_sample_reads_every_money_field() -> None:
    # Given the order_approved_delivery sample: NYC tax added on top, a 10% coupon, delivery, a service fee, a tip
    money = _money(_delivery_order())
    # Then each line carries its tax (rate, amount, added on top) and its share of the coupon
    margherita, tiramisu = money.lines
    assert (margherita.quantity, margherita.unit_price, margherita.line_price) == (2, _usd("12.50"), _usd("25.00"))
    assert margherita.discount == _usd("2.50") and tiramisu.discount == _usd("0.60")
    assert margherita.tax is not None and margherita.tax.rate == Decimal("0.08875")
    assert (margherita.tax.amount, margherita.tax.taxable_amount) == (_usd("2.00"), _usd("22.50"))
    assert margherita.tax.included_in_price is False and margherita.total_after_tax == _usd("24.50")
    # And the coupon: its code and name, the whole order's, spread over both lines
    (coupon,) = money.discounts
    assert (coupon.kind, coupon.coupon_code, coupon.name, coupon.scope) == (
        "COUPON",
        "WELCOME10",
        "Welcome 10%",
        "GLOBAL",
    )
    assert coupon.amount == _usd("3.10") and not coupon.line_level
    assert [share.amount for share in coupon.lines] == [_usd("2.50"), _usd("0.60")]
    # And the delivery fee with its tax, the service fee with its tax, and the tip (untaxed, its code the tip's id)
    assert money.shipping is not None and money.shipping.price == _usd("4.99")
    assert money.shipping.tax is not None and money.shipping.tax.amount == _usd("0.44")
    service, tip = money.fees
    assert (service.name, service.price, service.is_tip, service.charged) == ("Service fee", _usd("1.50"), False,
                                                                            _usd("1.63"))  # fmt: skip
    assert money.tip == tip and (tip.price, tip.tax, tip.charged) == (_usd("4.00"), None, _usd("4.00"))
    # And the summary, the status and nothing left to collect: it all adds up
    assert (money.summary.subtotal, money.summary.discount, money.summary.total) == (_usd("31.00"), _usd("3.10"),
                                                                                    _usd("41.44"))  # fmt: skip
    assert (money.summary.additional_fees, money.summary.tax) == (_usd("5.50"), _usd("3.05"))
    assert (money.payment_status, money.amount_to_collect) == ("PAID", _usd("0.00"))
    assert differences(money) == []


def test_tax_included_in_prices_is_read_as_inside_the_price() -> None:
    # Given a EUR order whose prices include 20% VAT, an automatic discount on its only line, cash on delivery
    money = _money(_included_order())
    # Then the tax is read as included (not added to the total), the discount as automatic and line-level
    (line,) = money.lines
    assert line.tax is not None and line.tax.included_in_price and line.tax.amount.currency == "EUR"
    assert money.tax_included_in_prices is True
    (rule,) = money.discounts
    assert (rule.kind, rule.name, rule.line_level, rule.coupon_code) == ("AUTOMATIC", "Menu midi", True, None)
    # And the whole 12.00 is still to collect; the order adds up with no tax added on top
    assert (money.payment_status, money.amount_to_collect) == ("NOT_PAID", Money(amount=Decimal("12.00"),
                                                                                   currency="EUR"))  # fmt: skip
    assert differences(money) == []


def test_a_line_without_its_own_tax_flag_takes_the_orders() -> None:
    # Given the included-tax order whose line's taxInfo leaves taxIncludedInPrice out
    order = _variant(_included_order, lambda o: o["lineItems"][0]["taxInfo"].pop("taxIncludedInPrice"))
    # Then the line's tax is included, as the order's taxIncludedInPrices says
    (line,) = _money(order).lines
    assert line.tax is not None and line.tax.included_in_price is True


def test_the_deprecated_tax_details_are_read_when_tax_info_is_absent() -> None:
    # Given a line with only the deprecated taxDetails (ItemTaxFullDetails)
    def change(o: dict[str, Any]) -> None:
        line = o["lineItems"][0]
        line.pop("taxInfo")
        line["taxDetails"] = {"taxableAmount": _price("8.33"), "taxRate": "0.2", "totalTax": _price("1.67")}

    (line,) = _money(_variant(_included_order, change)).lines
    # Then its tax comes from totalTax and taxRate
    assert line.tax is not None and (line.tax.amount.amount, line.tax.rate) == (Decimal("1.67"), Decimal("0.2"))


def test_a_merchant_discount_reads_its_description() -> None:
    def change(o: dict[str, Any]) -> None:
        discount = o["appliedDiscounts"][0]
        rule = discount.pop("discountRule")
        discount["merchantDiscount"] = {"description": "Regular customer", "amount": rule["amount"]}

    (discount,) = _money(_variant(_included_order, change)).discounts
    assert (discount.kind, discount.name) == ("MERCHANT", "Regular customer")


@pytest.mark.parametrize("status", PAYMENT_STATUSES)
def test_every_wix_payment_status_is_read(status: str) -> None:
    # Given the delivery sample with each of Wix's ten payment statuses (and no balance sent)
    def change(o: dict[str, Any]) -> None:
        o["paymentStatus"] = status
        o.pop("balanceSummary")

    money = _money(_variant(_delivery_order, change))
    # Then the status is kept as Wix spells it, and what is left to collect follows Wix's documented balance
    assert money.payment_status == status
    owed = "0.00" if status in ("PAID", "PENDING", "PARTIALLY_REFUNDED", "FULLY_REFUNDED") else "41.44"
    assert money.amount_to_collect == _usd(owed)


def test_a_partly_paid_order_collects_its_balance() -> None:
    # Given a 41.44 order of which 20.00 was paid online
    def change(o: dict[str, Any]) -> None:
        o["paymentStatus"] = "PARTIALLY_PAID"
        o["balanceSummary"] = {"balance": _price("21.44"), "paid": _price("20.00")}

    money = _money(_variant(_delivery_order, change))
    # Then 21.44 is left to collect, and the balance is what Wix's rule says (total - paid)
    assert money.amount_to_collect == _usd("21.44") and differences(money) == []


def test_an_order_without_a_total_has_no_money_to_check() -> None:
    assert restaurant_order(_variant(_delivery_order, lambda o: o.pop("priceSummary"))).money is None


def test_a_fee_whose_code_is_not_a_guid_is_not_the_tip() -> None:
    # Given the sample whose tip fee's code is a provider's text, not a tip id
    money = _money(_variant(_delivery_order, lambda o: o["additionalFees"][1].update(code="tip")))
    # Then no fee is read as the tip (Wix marks a tip only by its GUID code)
    assert money.tip is None


# ---- consistency: every difference is named, to the cent -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "name", "expected", "actual"),
    [
        (lambda o: o["priceSummary"].update(total=_price("41.45")), "priceSummary.total", "41.44", "41.45"),
        (lambda o: o["priceSummary"].update(tax=_price("3.04")), "priceSummary.tax", "3.05", "3.04"),
        (lambda o: o["lineItems"][0].update(totalDiscount=_price("2.49")),
         "lineItems[{line}].totalDiscount", "2.50", "2.49"),
        (lambda o: o["additionalFees"][1].update(price=_price("4.01")), "priceSummary.totalAdditionalFees", "5.51",
         "5.50"),
        (lambda o: o["balanceSummary"].update(balance=_price("0.01")), "balanceSummary.balance (PAID)", "0.00", "0.01"),
        (lambda o: o["lineItems"][0].update(totalPriceAfterTax=_price("24.49")),
         "lineItems[{line}].totalPriceAfterTax", "24.50", "24.49"),
    ],
)  # fmt: skip
def test_a_cent_off_anywhere_is_named(change: Callable[[dict[str, Any]], None], name: str, expected: str,
                                      actual: str) -> None:  # fmt: skip
    # Given the consistent delivery sample with one amount a cent off
    order = _variant(_delivery_order, change)
    # When it is checked
    found = differences(_money(order))
    # Then the rule it breaks is named with what the parts add up to and what Wix sent
    named = name.format(line=order["lineItems"][0]["id"])
    assert [(d.name, d.expected, d.actual) for d in found if d.name == named] == [(named, _usd(expected), _usd(actual))]


def test_added_tax_counts_in_the_total_and_included_tax_does_not() -> None:
    # Given the additive sample marked as if its tax were included: the total then lacks no tax
    def change(o: dict[str, Any]) -> None:
        for part in (*o["lineItems"], o["shippingInfo"]["cost"], o["additionalFees"][0]):
            part["taxInfo"]["taxIncludedInPrice"] = True

    found = differences(_money(_variant(_delivery_order, change)))
    # Then the total is 3.05 more than the parts (41.44 vs 38.39), and each line's after-tax price is named too
    assert [(d.name, d.expected) for d in found if d.name == "priceSummary.total"] == [
        ("priceSummary.total", _usd("38.39"))
    ]
    assert sum(d.name.endswith("totalPriceAfterTax") for d in found) == 2


# ---- invalid money -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda o: o["priceSummary"]["total"].update(amount="NaN"), "priceSummary.total.amount: not a finite number"),
        (lambda o: o["priceSummary"]["tax"].update(amount="Infinity"), "priceSummary.tax.amount: not a finite"),
        (lambda o: o["lineItems"][0]["price"].update(amount="-12.50"), "lineItems[].price.amount: negative"),
        (lambda o: o["lineItems"][0]["price"].update(amount="12,50"), "lineItems[].price.amount: not a decimal"),
        (lambda o: o["additionalFees"][1]["price"].update(amount="4.005"),
         "additionalFees[1].price.amount: more decimals than USD has"),
        (lambda o: o["lineItems"][1]["taxInfo"].update(taxRate="-0.1"), "lineItems[1].taxInfo.taxRate: negative"),
        (lambda o: o["lineItems"][1]["taxInfo"]["taxAmount"].update(amount=True),
         "lineItems[1].taxInfo.taxAmount.amount: not a decimal"),
        (lambda o: o.update(currency="XYZ"), "currency: not an ISO 4217"),
        (lambda o: o.update(paymentStatus="SETTLED"), "paymentStatus: not a Wix payment status"),
        (lambda o: o["appliedDiscounts"][0].update(discountRule={"name": {"original": "x"}}),
         "appliedDiscounts[0]: needs exactly one of"),
        (lambda o: o["appliedDiscounts"][0].update(discountType="BOGO"), "appliedDiscounts[0].discountType"),
    ],
)  # fmt: skip
def test_invalid_money_is_a_permanent_error_naming_the_field(
    change: Callable[[dict[str, Any]], None], reason: str
) -> None:
    # Given the delivery sample with one invalid amount, rate, currency or status
    order = _variant(_delivery_order, change)
    # When it is read
    with pytest.raises(PermanentError) as refused:
        restaurant_order(order)
    # Then it is a permanent error (parked, never retried) whose message names the field and carries no personal data
    assert refused.value.reason == "invalid_wix_order"
    assert reason in str(refused.value)
    assert not any(value in str(refused.value) for value in PERSONAL_DATA)


def test_a_negative_balance_is_read_as_money_to_refund() -> None:
    # Given an order paid more than its total (Wix: "A negative amount represents the amount to be refunded")
    order = _variant(_delivery_order, lambda o: o["balanceSummary"].update(balance=_price("-2.00")))
    # Then it reads, and the check names the difference from a PAID order's zero balance
    money = _money(order)
    assert money.amount_to_collect == _usd("-2.00")
    assert [d.name for d in differences(money)] == ["balanceSummary.balance (PAID)"]


@pytest.mark.parametrize("sample", sorted(EVENTS.glob("*.json")), ids=lambda path: path.stem)
def test_every_sample_order_adds_up(sample: Path) -> None:
    # Given a sample webhook's order (created, approved or updated)
    event = json.loads(sample.read_text())["event"]
    order = (
        (event.get("createdEvent") or {}).get("entity")
        or (event.get("updatedEvent") or {}).get("currentEntity")
        or event["actionEvent"]["body"]["order"]
    )
    # Then its money reads and adds up to the cent, as a real Wix order does
    assert differences(_money(order)) == []
