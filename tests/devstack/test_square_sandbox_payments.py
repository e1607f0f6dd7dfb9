# ruff: noqa: F811  (pytest fixtures imported from test_square_sandbox are parameters here)
"""The Square sandbox's money over real HTTP: taxes, discounts and service charges on orders, CalculateOrder, external
payments, PayOrder, RefundPayment, and the seller's POS screen."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.devstack.test_square_sandbox import (  # noqa: F401 (fixtures)
    Merchant,
    _error,
    _order,
    control,
    merchant,
    receiver,
    square,
)


def _usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


def _priced_order(m: Merchant, fulfillment_type: str = "PICKUP", **changes: Any) -> dict[str, Any]:
    """A $20 line (2 x $8.50 + a $1.50 modifier each), 8.875% tax, a $3 coupon, a taxable $4.99 delivery fee and a
    $2 courier tip (TOTAL_PHASE)."""
    details = "pickup_details" if fulfillment_type == "PICKUP" else "delivery_details"
    at = "pickup_at" if fulfillment_type == "PICKUP" else "deliver_at"
    body = _order(
        m,
        line_items=[
            {
                "uid": "burger",
                "name": "Burger",
                "quantity": "2",
                "base_price_money": _usd(850),
                "modifiers": [{"name": "Bacon", "base_price_money": _usd(150)}],
                "note": "no onions",
            }
        ],
        taxes=[{"uid": "sales", "name": "Sales tax", "type": "ADDITIVE", "percentage": "8.875", "scope": "ORDER"}],
        discounts=[
            {"uid": "coupon", "name": "SAVE3", "type": "FIXED_AMOUNT", "amount_money": _usd(300), "scope": "ORDER"}
        ],
        service_charges=[
            {
                "uid": "fee",
                "name": "Delivery fee",
                "amount_money": _usd(499),
                "calculation_phase": "SUBTOTAL_PHASE",
                "taxable": True,
            },
            {"uid": "courier", "name": "Courier tip", "amount_money": _usd(200), "calculation_phase": "TOTAL_PHASE"},
        ],
        fulfillments=[
            {
                "type": fulfillment_type,
                "state": "PROPOSED",
                details: {
                    "recipient": {"display_name": "Ada", "phone_number": "+15551234567"},
                    at: "2030-01-01T18:00:00Z",
                },
            }
        ],
    )
    body["order"].update(changes)
    return body


# (2000 - 300) = 1700 on the line; fee 499; tax 8.875% of (1700 + 499) = 195.16... -> 195; courier 200
EXPECTED_TOTAL = 1700 + 499 + 195 + 200


def _external(m: Merchant, amount: int, order_id: str | None = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotency_key": str(uuid.uuid4()),
        "source_id": "EXTERNAL",
        "external_details": {"type": "OTHER", "source": "Wix", "source_id": "wix-order-1"},
        "amount_money": _usd(amount),
    }
    if order_id is not None:
        body |= {"order_id": order_id, "autocomplete": False}
    body.update(changes)
    return body


def test_create_order_itemizes_taxes_discounts_and_service_charges(merchant: Merchant) -> None:
    # Given an order with a modifier, an order-scoped tax and coupon, a taxable fee and a courier tip
    # When it is created
    response = merchant.api.post("/v2/orders", json=_priced_order(merchant))
    # Then Square's amounts are filled on the line, the adjustments and the order, and they add up
    assert response.status_code == 200, response.text
    order = response.json()["order"]
    line = order["line_items"][0]
    assert line["gross_sales_money"] == _usd(2000)
    assert line["variation_total_price_money"] == _usd(1700)
    assert line["modifiers"][0]["total_price_money"] == _usd(300)
    assert line["applied_discounts"][0]["discount_uid"] == "coupon"
    assert line["applied_discounts"][0]["applied_money"] == _usd(300)
    assert line["applied_taxes"][0]["tax_uid"] == "sales"
    fee = next(c for c in order["service_charges"] if c["uid"] == "fee")
    assert fee["applied_taxes"][0]["tax_uid"] == "sales"
    assert line["total_tax_money"]["amount"] + fee["total_tax_money"]["amount"] == 195
    assert order["taxes"][0]["applied_money"] == _usd(195)
    assert order["discounts"][0]["applied_money"] == _usd(300)
    assert order["total_service_charge_money"] == _usd(699)
    assert order["total_money"] == _usd(EXPECTED_TOTAL)
    assert order["net_amount_due_money"] == _usd(EXPECTED_TOTAL)
    assert order["net_amounts"]["tax_money"] == _usd(195)


def test_orders_without_adjustments_keep_their_totals(merchant: Merchant) -> None:
    # Given the plain two-soup order Flow 1 sends today / When created / Then 2 x 5.50, no tax, no discount
    order = merchant.api.post("/v2/orders", json=_order(merchant)).json()["order"]
    assert order["total_money"] == _usd(1100)
    assert (order["total_tax_money"], order["total_discount_money"]) == (_usd(0), _usd(0))
    assert "taxes" not in order and "applied_taxes" not in order["line_items"][0]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"taxes": [{"uid": "t", "percentage": "5", "scope": "ORDER"}]}, "order.taxes[0].type", "INVALID_ENUM_VALUE"),
        (
            {"taxes": [{"uid": "t", "type": "ADDITIVE", "percentage": "5%", "scope": "ORDER"}]},
            "order.taxes[0].percentage",
            "INVALID_VALUE",
        ),
        (
            {"discounts": [{"uid": "d", "type": "FIXED_AMOUNT", "percentage": "5", "scope": "ORDER"}]},
            "order.discounts[0].amount_money",
            "MISSING_REQUIRED_PARAMETER",
        ),
        (
            {
                "discounts": [
                    {"uid": "d", "type": "FIXED_AMOUNT", "percentage": "5", "amount_money": _usd(5), "scope": "ORDER"}
                ]
            },
            "order.discounts[0]",
            "INVALID_VALUE",
        ),
        (
            {"discounts": [{"uid": "d", "type": "FIXED_PERCENTAGE", "percentage": "120", "scope": "ORDER"}]},
            "order.discounts[0].percentage",
            "VALUE_TOO_HIGH",
        ),
        (
            {
                "service_charges": [
                    {"uid": "s", "amount_money": _usd(1), "calculation_phase": "TOTAL_PHASE", "taxable": True}
                ]
            },
            "order.service_charges[0].taxable",
            "BAD_REQUEST",
        ),
        (
            {
                "service_charges": [
                    {"uid": "s", "amount_money": _usd(1), "percentage": "1", "calculation_phase": "SUBTOTAL_PHASE"}
                ]
            },
            "order.service_charges[0]",
            "INVALID_VALUE",
        ),
        (
            {
                "service_charges": [
                    {"uid": "s", "amount_money": _usd(1), "calculation_phase": "APPORTIONED_AMOUNT_PHASE"}
                ]
            },
            "order.service_charges[0].treatment_type",
            "BAD_REQUEST",
        ),
        (
            {
                "line_items": [
                    {"name": "x", "quantity": "1", "base_price_money": _usd(1), "applied_taxes": [{"tax_uid": "nope"}]}
                ]
            },
            "order.line_items[0].applied_taxes[0].tax_uid",
            "INVALID_VALUE",
        ),
    ],
)
def test_adjustments_follow_squares_rules(merchant: Merchant, change: dict[str, Any], field: str, code: str) -> None:
    # Given an order breaking one documented rule on taxes, discounts or service charges
    # When it is created / Then Square's 400 names the field, and nothing is stored
    response = merchant.api.post("/v2/orders", json=_order(merchant, **change))
    assert response.status_code == 400, response.text
    assert (_error(response)["field"], _error(response)["code"]) == (field, code)
    assert merchant.state()["orders"] == []


def test_calculate_order_previews_the_same_totals_and_stores_nothing(merchant: Merchant) -> None:
    # Given the priced order's body
    body = _priced_order(merchant)
    # When it is calculated, then created
    preview = merchant.api.post("/v2/orders/calculate", json={"order": body["order"]})
    created = merchant.api.post("/v2/orders", json=body).json()["order"]
    # Then the preview has the created order's amounts, no id, and created nothing itself
    assert preview.status_code == 200, preview.text
    calculated = preview.json()["order"]
    assert "id" not in calculated
    for key in ("total_money", "total_tax_money", "total_discount_money", "total_service_charge_money"):
        assert calculated[key] == created[key]
    assert len(merchant.state()["orders"]) == 1


def test_an_external_payment_and_pay_order_pay_the_order(merchant: Merchant) -> None:
    # Given an order with a pickup fulfillment, and an approved external payment for its total with a tip
    order = merchant.api.post("/v2/orders", json=_priced_order(merchant)).json()["order"]
    payment = merchant.api.post(
        "/v2/payments", json=_external(merchant, EXPECTED_TOTAL, order["id"], tip_money=_usd(300))
    ).json()["payment"]
    assert (payment["status"], payment["source_type"]) == ("APPROVED", "EXTERNAL")
    assert payment["total_money"] == _usd(EXPECTED_TOTAL + 300)
    # When PayOrder names it
    paid = merchant.api.post(
        f"/v2/orders/{order['id']}/pay", json={"idempotency_key": str(uuid.uuid4()), "payment_ids": [payment["id"]]}
    )
    # Then the payment is captured, the order holds a tender with the tip, nothing is due, and (a fulfillment) it
    # stays OPEN
    assert paid.status_code == 200, paid.text
    paid_order = paid.json()["order"]
    assert paid_order["state"] == "OPEN"
    assert paid_order["tenders"][0]["payment_id"] == payment["id"]
    assert paid_order["tenders"][0]["tip_money"] == _usd(300)
    assert paid_order["total_tip_money"] == _usd(300)
    assert paid_order["total_money"] == _usd(EXPECTED_TOTAL + 300)
    assert paid_order["net_amount_due_money"] == _usd(0)
    assert paid_order["version"] == order["version"] + 1
    fetched = merchant.api.get(f"/v2/payments/{payment['id']}").json()["payment"]
    assert fetched["status"] == "COMPLETED"
    # And then the fulfillment and the order can be completed (pay-for-orders), the amounts unchanged
    uid = paid_order["fulfillments"][0]["uid"]
    patch = {"location_id": merchant.location_id, "version": paid_order["version"], "state": "COMPLETED"}
    done = merchant.api.put(
        f"/v2/orders/{order['id']}", json={"order": patch | {"fulfillments": [{"uid": uid, "state": "COMPLETED"}]}}
    )
    assert done.status_code == 200, done.text
    assert done.json()["order"]["state"] == "COMPLETED"
    assert done.json()["order"]["total_money"] == _usd(EXPECTED_TOTAL + 300)
    assert done.json()["order"]["net_amount_due_money"] == _usd(0)


def test_pay_order_needs_the_exact_total_and_cancels_the_approved_payments_it_leaves_out(merchant: Merchant) -> None:
    # Given an order, a payment one cent short, and another approved payment on it
    order = merchant.api.post("/v2/orders", json=_order(merchant, fulfillments=[])).json()["order"]
    short = merchant.api.post("/v2/payments", json=_external(merchant, 1099, order["id"])).json()["payment"]
    exact = merchant.api.post("/v2/payments", json=_external(merchant, 1100, order["id"])).json()["payment"]
    pay = f"/v2/orders/{order['id']}/pay"
    # When PayOrder names the short one / Then PAYMENT_AMOUNT_MISMATCH and nothing changes
    wrong = merchant.api.post(pay, json={"idempotency_key": str(uuid.uuid4()), "payment_ids": [short["id"]]})
    assert wrong.status_code == 400
    assert _error(wrong)["code"] == "PAYMENT_AMOUNT_MISMATCH"
    # When it names the exact one / Then the order (no fulfillment) is COMPLETED and the other payment canceled
    right = merchant.api.post(pay, json={"idempotency_key": str(uuid.uuid4()), "payment_ids": [exact["id"]]})
    assert right.status_code == 200, right.text
    assert right.json()["order"]["state"] == "COMPLETED"
    assert merchant.api.get(f"/v2/payments/{short['id']}").json()["payment"]["status"] == "CANCELED"
    # And a second PayOrder is refused
    again = merchant.api.post(pay, json={"idempotency_key": str(uuid.uuid4()), "payment_ids": [exact["id"]]})
    assert again.status_code == 400


def test_an_autocompleted_payment_with_an_order_must_match_its_total(merchant: Merchant) -> None:
    # Given an order of 11.00
    order = merchant.api.post("/v2/orders", json=_order(merchant, fulfillments=[])).json()["order"]
    # When a completed external payment of 10.00 names it / Then Square refuses the mismatch
    body = _external(merchant, 1000) | {"order_id": order["id"]}
    refused = merchant.api.post("/v2/payments", json=body)
    assert refused.status_code == 400
    assert _error(refused)["code"] == "PAYMENT_AMOUNT_MISMATCH"
    # When it pays 11.00 / Then the order is paid at once
    accepted = merchant.api.post("/v2/payments", json=_external(merchant, 1100) | {"order_id": order["id"]})
    assert accepted.json()["payment"]["status"] == "COMPLETED"
    assert merchant.api.get(f"/v2/orders/{order['id']}").json()["order"]["state"] == "COMPLETED"


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"source_id": "cnon:card-nonce-ok"}, None, "UNSUPPORTED_SOURCE_TYPE"),
        ({"external_details": None}, "external_details", "MISSING_REQUIRED_PARAMETER"),
        ({"external_details": {"type": "WIX", "source": "Wix"}}, "external_details.type", "INVALID_ENUM_VALUE"),
        ({"external_details": {"type": "OTHER"}}, "external_details.source", "MISSING_REQUIRED_PARAMETER"),
        ({"amount_money": None}, "amount_money", "MISSING_REQUIRED_PARAMETER"),
        ({"amount_money": {"amount": 100, "currency": "EUR"}}, "amount_money", "CURRENCY_MISMATCH"),
        ({"reference_id": "x" * 41}, "reference_id", "VALUE_TOO_LONG"),
        ({"idempotency_key": "k" * 46}, "idempotency_key", "VALUE_TOO_LONG"),
        ({"delay_duration": "PT1H"}, "delay_duration", "BAD_REQUEST"),
    ],
)
def test_create_payment_rejects_what_square_does(
    merchant: Merchant, change: dict[str, Any], field: str | None, code: str
) -> None:
    # Given an external payment breaking one documented rule
    body = {k: v for k, v in (_external(merchant, 500) | change).items() if v is not None}
    # When it is created / Then the 400 names it and no payment exists
    response = merchant.api.post("/v2/payments", json=body)
    assert response.status_code == 400, response.text
    assert (_error(response).get("field"), _error(response)["code"]) == (field, code)
    assert merchant.state()["payments"] == []


def test_create_payment_is_idempotent(merchant: Merchant) -> None:
    # Given an external payment request / When it is sent twice, then with another amount under the same key
    body = _external(merchant, 500)
    first = merchant.api.post("/v2/payments", json=body).json()["payment"]
    second = merchant.api.post("/v2/payments", json=body).json()["payment"]
    reused = merchant.api.post("/v2/payments", json=body | {"amount_money": _usd(501)})
    # Then one payment, the same answer, and IDEMPOTENCY_KEY_REUSED for the changed body
    assert first == second
    assert len(merchant.state()["payments"]) == 1
    assert _error(reused)["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_refund_an_external_payment_up_to_what_is_left(merchant: Merchant) -> None:
    # Given a completed external payment of 10.00
    payment = merchant.api.post("/v2/payments", json=_external(merchant, 1000)).json()["payment"]

    def refund(amount: int) -> Any:
        body = {"idempotency_key": str(uuid.uuid4()), "payment_id": payment["id"], "amount_money": _usd(amount)}
        return merchant.api.post("/v2/refunds", json=body | {"reason": "Canceled on Wix"})

    # When 6.00 then 5.00 are refunded
    first, second = refund(600), refund(500)
    # Then the first is recorded on the payment, the second is more than is left: REFUND_AMOUNT_INVALID
    assert first.status_code == 200, first.text
    assert first.json()["refund"]["status"] == "COMPLETED"
    assert _error(second)["code"] == "REFUND_AMOUNT_INVALID"
    fetched = merchant.api.get(f"/v2/payments/{payment['id']}").json()["payment"]
    assert fetched["refunded_money"] == _usd(600)
    assert fetched["refund_ids"] == [first.json()["refund"]["id"]]
    assert merchant.api.get(f"/v2/refunds/{first.json()['refund']['id']}").json()["refund"]["amount_money"] == _usd(600)


def test_an_approved_payment_cannot_be_refunded(merchant: Merchant) -> None:
    # Given a payment held for PayOrder / When refunded / Then Square asks for completion first
    order = merchant.api.post("/v2/orders", json=_order(merchant)).json()["order"]
    payment = merchant.api.post("/v2/payments", json=_external(merchant, 1100, order["id"])).json()["payment"]
    body = {"idempotency_key": str(uuid.uuid4()), "payment_id": payment["id"], "amount_money": _usd(100)}
    assert _error(merchant.api.post("/v2/refunds", json=body))["code"] == "REFUND_ERROR_PAYMENT_NEEDS_COMPLETION"


def test_a_fulfillment_cannot_complete_before_the_order_is_paid(merchant: Merchant) -> None:
    # Given an unpaid order with a pickup
    order = merchant.api.post("/v2/orders", json=_order(merchant)).json()["order"]
    uid = order["fulfillments"][0]["uid"]
    # When UpdateOrder completes the fulfillment / Then it is refused (pay-for-orders)
    response = merchant.api.put(
        f"/v2/orders/{order['id']}",
        json={
            "order": {
                "location_id": merchant.location_id,
                "version": order["version"],
                "fulfillments": [{"uid": uid, "state": "COMPLETED"}],
            }
        },
    )
    assert response.status_code == 400
    assert _error(response)["field"] == "order.fulfillments[0].state"


def _pay(m: Merchant, order: dict[str, Any]) -> dict[str, Any]:
    payment = m.api.post("/v2/payments", json=_external(m, order["total_money"]["amount"], order["id"])).json()[
        "payment"
    ]
    body = {"idempotency_key": str(uuid.uuid4()), "payment_ids": [payment["id"]]}
    return dict(m.api.post(f"/v2/orders/{order['id']}/pay", json=body).json()["order"])


def test_the_pos_screen_shows_fulfillment_orders_only_once_paid(merchant: Merchant) -> None:
    # Given an unpaid pickup order and a paid one
    unpaid = merchant.api.post("/v2/orders", json=_priced_order(merchant)).json()["order"]
    paid = _pay(merchant, merchant.api.post("/v2/orders", json=_priced_order(merchant)).json()["order"])
    # When the seller looks at the POS
    screen = merchant.control.get(f"/_sandbox/merchants/{merchant.merchant_id}/pos-screen").json()
    # Then only the paid one is there, itemized, with what staff read
    assert [o["orderId"] for o in screen["orders"]] == [paid["id"]]
    assert screen["hidden"] == {"unpaid": 1}
    ticket = screen["orders"][0]
    assert ticket["paid"] is True and ticket["amountDue"] == 0
    assert ticket["lines"][0]["modifiers"][0]["name"] == "Bacon"
    assert ticket["lines"][0]["note"] == "no onions"
    assert ticket["fulfillments"][0]["recipient"]["display_name"] == "Ada"
    assert ticket["fulfillments"][0]["times"]["pickup_at"] == "2030-01-01T18:00:00Z"
    assert ticket["totals"] == {"total": EXPECTED_TOTAL, "tax": 195, "discount": 300, "serviceCharge": 699, "tip": 0}
    assert unpaid["id"] not in {o["orderId"] for o in screen["orders"]}


def test_delivery_orders_show_only_for_partner_merchants(merchant: Merchant) -> None:
    # Given a paid DELIVERY order at a merchant without Square's partnership
    order = _pay(merchant, merchant.api.post("/v2/orders", json=_priced_order(merchant, "DELIVERY")).json()["order"])
    path = f"/_sandbox/merchants/{merchant.merchant_id}"
    # When the seller looks / Then it is hidden; once the merchant is a partner, it shows
    assert merchant.control.get(f"{path}/pos-screen").json()["hidden"] == {"DELIVERY without a partnership": 1}
    assert merchant.control.put(f"{path}/pos-partner", json={"partner": True}).status_code == 200
    shown = merchant.control.get(f"{path}/pos-screen").json()["orders"]
    assert [o["orderId"] for o in shown] == [order["id"]]
    assert merchant.control.put(f"{path}/pos-partner", json={"partner": "yes"}).status_code == 400


def test_payment_webhooks_are_sent(merchant: Merchant) -> None:
    # Given an order paid through an approved payment / Then payment.created and payment.updated were recorded
    _pay(merchant, merchant.api.post("/v2/orders", json=_order(merchant)).json()["order"])
    types = [e["type"] for e in merchant.state()["events"]]
    assert "payment.created" in types and "payment.updated" in types


def test_the_documented_external_payment_example(merchant: Merchant) -> None:
    # Given the request of developer.squareup.com/docs/payments-api/take-payments/external-payments: $50, type OTHER,
    # source "Food Delivery Service", a $5 source fee
    body = {
        "idempotency_key": str(uuid.uuid4()),
        "source_id": "EXTERNAL",
        "amount_money": _usd(5000),
        "external_details": {"type": "OTHER", "source": "Food Delivery Service", "source_fee_money": _usd(500)},
    }
    # When it is sent
    payment = merchant.api.post("/v2/payments", json=body).json()["payment"]
    # Then the answer has the documented example's fields and values
    assert payment["status"] == "COMPLETED"
    assert (payment["source_type"], payment["location_id"]) == ("EXTERNAL", merchant.location_id)
    assert payment["amount_money"] == payment["total_money"] == _usd(5000)
    assert payment["capabilities"] == ["EDIT_TIP_AMOUNT", "EDIT_TIP_AMOUNT_UP", "EDIT_TIP_AMOUNT_DOWN"]
    assert payment["external_details"] == body["external_details"]


def test_a_zero_total_order_is_paid_with_no_payment_and_only_then_shown(merchant: Merchant) -> None:
    # Given a pickup order whose coupon covers it all (total 0)
    body = _order(
        merchant, discounts=[{"uid": "all", "type": "FIXED_PERCENTAGE", "percentage": "100", "scope": "ORDER"}]
    )
    order = merchant.api.post("/v2/orders", json=body).json()["order"]
    assert order["total_money"] == _usd(0)
    path = f"/_sandbox/merchants/{merchant.merchant_id}/pos-screen"
    assert merchant.control.get(path).json()["orders"] == []
    # When PayOrder settles it with an empty payment_ids (pay-order reference: "Orders with a total amount of 0 can
    # be marked as paid by specifying an empty array of payment_ids")
    paid = merchant.api.post(
        f"/v2/orders/{order['id']}/pay", json={"idempotency_key": str(uuid.uuid4()), "payment_ids": []}
    )
    # Then it is paid, and the POS shows it
    assert paid.status_code == 200, paid.text
    assert [o["paid"] for o in merchant.control.get(path).json()["orders"]] == [True]
