"""Flow 1 over HTTP through the devstack: a Wix restaurant order reaches the POS exactly once."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import boto3
import httpx

from devstack.kitchen import Kitchen
from devstack.wix_sandbox import sign_webhook
from tests.e2e.conftest import Restaurant, wait_for

PIZZA = {
    "kind": "restaurant",
    "name": "Margherita",
    "price": "12.50",
    "quantity": 2,
    "modifiers": [{"name": "Extra basil", "price": "1.00"}],
}
SOUP = {"kind": "restaurant", "name": "Minestrone", "price": "7.25", "quantity": 1}
APRON = {"kind": "store", "name": "Apron", "price": "20.00", "quantity": 1}


def test_a_restaurant_order_reaches_the_pos_once_with_its_details(restaurant: Restaurant) -> None:
    # Given a customer ordering for pickup with a note
    placed = restaurant.checkout([PIZZA, SOUP], buyerNote="No onions", fulfillment={"type": "PICKUP"})
    wix_id = placed["order"]["id"]
    # When the bridge has worked off the created + approved webhooks
    mapping = restaurant.wait_mapping(wix_id)
    # Then exactly one POS order carries the Wix order id, the lines with prices and modifiers, and the note
    [pos] = restaurant.pos_orders(wix_id)
    assert mapping["status"] == "exported" and mapping["posOrderId"] == pos["id"]
    lines = {line["name"]: line for line in pos["line_items"]}
    assert lines["Margherita"]["quantity"] == "2"
    assert lines["Margherita"]["base_price_money"] == {"amount": 1250, "currency": "USD"}
    assert [(m["name"], m["base_price_money"]["amount"]) for m in lines["Margherita"]["modifiers"]] == [
        ("Extra basil", 100)
    ]
    assert lines["Minestrone"]["base_price_money"]["amount"] == 725
    [fulfillment] = pos["fulfillments"]
    assert fulfillment["type"] == "PICKUP" and "No onions" in fulfillment["pickup_details"]["note"]
    # And the buyer became a POS customer, mapped both ways with the order's lines
    assert pos["customer_id"] == mapping["posCustomerId"]
    assert sorted(mapping["lines"]) == sorted(line["id"] for line in placed["order"]["lineItems"])


def test_a_delivery_reaches_the_pos_with_a_structured_address_and_without_a_phone_square_refuses(
    restaurant: Restaurant,
) -> None:
    # Given a delivery to an address Wix gives with `streetAddress` only (no `addressLine`), by a buyer with a
    # billing address and an 8-digit phone (Square takes 9-16 digits)
    delivery = {
        "streetAddress": {"number": "1", "name": "Main St"},
        "addressLine2": "Apt 3",
        "city": "New York",
        "subdivision": "US-NY",
        "postalCode": "10001",
        "country": "US",
    }
    billing = {"addressLine": "9 Bill Ave", "city": "Albany", "subdivision": "US-NY", "country": "US"}
    email = f"delivery-{uuid.uuid4().hex[:8]}@example.com"
    buyer = {"firstName": "Grace", "email": email, "phone": "555 0111", "address": billing}
    placed = restaurant.checkout([SOUP], buyer=buyer, fulfillment={"type": "DELIVERY", "address": delivery})
    wix_id = placed["order"]["id"]
    # When the bridge has exported it
    mapping = restaurant.wait_mapping(wix_id)
    # Then Square got the delivery address in its own layout, and no phone it would refuse
    [pos] = restaurant.pos_orders(wix_id)
    recipient = pos["fulfillments"][0]["pickup_details"]["recipient"]  # by the restaurant's driver: see below
    assert recipient["address"] == {
        "address_line_1": "1 Main St",
        "address_line_2": "Apt 3",
        "locality": "New York",
        "administrative_district_level_1": "NY",
        "postal_code": "10001",
        "country": "US",
    }
    assert "phone_number" not in recipient
    # And the buyer's customer profile has the billing address and no phone: the order was not failed for it
    state = restaurant.http.get(f"{restaurant.devstack.pos_url}/_sandbox/merchants/{restaurant.merchant_id}/state")
    [customer] = [c for c in state.json()["customers"] if c["id"] == mapping["posCustomerId"]]
    assert "phone_number" not in customer and customer["email_address"] == email
    assert customer["address"] == {
        "address_line_1": "9 Bill Ave", "locality": "Albany", "administrative_district_level_1": "NY", "country": "US"
    }  # fmt: skip


def test_an_order_waits_for_approval_then_is_exported_once(restaurant: Restaurant) -> None:
    # Given an order created but not yet approved (only order_created is sent)
    placed = restaurant.checkout([SOUP], approve=False)
    wix_id = placed["order"]["id"]
    # When the restaurant approves it later
    assert restaurant.mapping(wix_id) is None and restaurant.pos_orders(wix_id) == []
    approve = f"{restaurant.devstack.wix_url}/_sandbox/instances/{restaurant.instance_id}/orders/{wix_id}/approve"
    restaurant.http.post(approve).raise_for_status()
    # Then it is exported once
    restaurant.wait_mapping(wix_id)
    assert len(restaurant.pos_orders(wix_id)) == 1


def test_concurrent_duplicate_deliveries_yield_one_pos_order(restaurant: Restaurant) -> None:
    # Given the webhooks of an order, held back by Wix
    wix_url = restaurant.devstack.wix_url
    restaurant.http.post(f"{wix_url}/_sandbox/webhooks/delivery", json={"hold": True}).raise_for_status()
    placed = restaurant.checkout([PIZZA])
    restaurant.http.post(f"{wix_url}/_sandbox/webhooks/release", json={"reverse": True})  # discard the held ones
    order = placed["order"]
    assert restaurant.devstack.wix is not None
    key = restaurant.devstack.wix.private_key_pem
    created = sign_webhook(
        key,
        "wix.ecom.v1.order_created",
        restaurant.instance_id,
        {"id": "evt-c-" + order["id"], "entityId": order["id"], "createdEvent": {"entity": order}},
    )
    approved = sign_webhook(
        key,
        "wix.ecom.v1.order_approved",
        restaurant.instance_id,
        {"id": "evt-a-" + order["id"], "entityId": order["id"], "actionEvent": {"body": {"order": order}}},
    )

    # When both are delivered eight times each, all at once
    def post(body: str) -> int:
        return httpx.post(restaurant.devstack.gateway_url + "/webhooks/wix", content=body).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, [created, approved] * 8))
    # Then every delivery is acknowledged and the POS holds one order
    assert statuses == [200] * 16
    restaurant.wait_mapping(order["id"])
    assert len(restaurant.pos_orders(order["id"])) == 1


def test_an_order_without_restaurant_items_is_skipped_and_recorded(restaurant: Restaurant) -> None:
    placed = restaurant.checkout([APRON])
    mapping = restaurant.wait_mapping(placed["order"]["id"])
    assert mapping == {
        "status": "skipped",
        "wixOrderId": placed["order"]["id"],
        "reason": "no Wix Restaurants line items",
    }
    assert restaurant.pos_orders(placed["order"]["id"]) == []


def test_only_restaurant_lines_of_a_mixed_order_reach_the_pos(restaurant: Restaurant) -> None:
    placed = restaurant.checkout([SOUP, APRON])
    restaurant.wait_mapping(placed["order"]["id"])
    [pos] = restaurant.pos_orders(placed["order"]["id"])
    assert [line["name"] for line in pos["line_items"]] == ["Minestrone"]


def test_a_throttling_pos_gets_the_order_once_after_retries(restaurant: Restaurant) -> None:
    # Given the POS answers 429 to the next two order creations
    restaurant.pos_fault(path="/v2/orders", method="POST", status=429, times=2)
    # When an order comes in
    placed = restaurant.checkout([PIZZA])
    # Then it is exported once
    restaurant.wait_mapping(placed["order"]["id"])
    assert len(restaurant.pos_orders(placed["order"]["id"])) == 1


def test_a_pos_outage_longer_than_the_clients_retries_is_healed_by_queue_redelivery(restaurant: Restaurant) -> None:
    # Given the POS fails more times than the client retries within one invocation (4 attempts)
    restaurant.pos_fault(path="/v2/orders", method="POST", status=503, times=6)
    # When an order comes in
    placed = restaurant.checkout([SOUP])
    # Then the message comes back from the queue and the order is exported once, nothing lost
    restaurant.wait_mapping(placed["order"]["id"], timeout_s=30)
    assert len(restaurant.pos_orders(placed["order"]["id"])) == 1


def test_a_permanent_pos_rejection_is_parked_in_the_dlq_with_its_reason(restaurant: Restaurant) -> None:
    # Given the POS rejects order creation as invalid (for both the created and the approved event)
    restaurant.pos_fault(path="/v2/orders", method="POST", status=400, times=2)
    # When an order comes in
    placed = restaurant.checkout([SOUP])
    # Then it is parked in the DLQ with a reason, not retried forever and not lost
    parked = wait_for(lambda: restaurant.parked() if len(restaurant.parked()) == 2 else None)
    assert all(m["MessageAttributes"]["reason"]["StringValue"].startswith("square_") for m in parked)
    assert {json.loads(m["Body"])["entity_id"] for m in parked} == {placed["order"]["id"]}
    assert restaurant.mapping(placed["order"]["id"]) is None and restaurant.pos_orders(placed["order"]["id"]) == []


def test_an_order_of_a_site_not_yet_connected_waits_out_of_the_dlq_and_is_exported_once_connected(
    restaurant: Restaurant,
) -> None:
    # Given a Wix site that installed the app, and its Square merchant, but no POS connection yet
    devstack, http = restaurant.devstack, restaurant.http
    suffix = uuid.uuid4().hex[:10]
    ids = (f"inst-{suffix}", f"M{suffix.upper()}", f"L{suffix.upper()}", f"tok-{suffix}", f"sig-{suffix}")
    kitchen = Kitchen(devstack, *ids, http).set_up(connect=False)
    site = Restaurant(devstack, kitchen.instance_id, kitchen.merchant_id, http)
    # When it sends an order
    order_id = site.checkout([SOUP])["order"]["id"]
    # Then the order waits as its id only (no buyer data in the DLQ, no alarm) ...
    assert devstack.stack is not None
    table = boto3.resource("dynamodb").Table(devstack.stack.output("MappingsTableName"))
    key = {"PK": f"TENANT#{site.instance_id}", "SK": f"AWAITPOS#WIX#{order_id}"}
    waiting = wait_for(lambda: table.get_item(Key=key).get("Item"))
    assert set(waiting) == {"PK", "SK", "since", "recorded_at", "expires_at"}
    assert site.parked() == [] and site.pos_orders(order_id) == []
    # When the site connects its POS and the reconciliation runs
    kitchen.connect()
    assert kitchen.reconcile().status_code == 200
    # Then the order reaches the POS, once; the next pass sees it done and forgets that it waited
    assert site.wait_mapping(order_id)["status"] == "exported"
    assert len(site.pos_orders(order_id)) == 1
    assert kitchen.reconcile().status_code == 200
    assert "Item" not in table.get_item(Key=key)


def test_one_tenants_order_never_touches_another_tenants_mappings(restaurant: Restaurant, devstack: Any) -> None:
    # Given tenant A's order exported
    placed = restaurant.checkout([SOUP])
    restaurant.wait_mapping(placed["order"]["id"])
    # Then tenant B cannot see it through the admin API, and A's partition holds every item written
    other = f"{devstack.gateway_url}/admin/tenants/some-other-tenant/orders/{placed['order']['id']}"
    assert restaurant.http.get(other).status_code == 404
    table = devstack.stack.client("dynamodb")
    items = table.scan(TableName=devstack.stack.output("MappingsTableName"))["Items"]
    written = [i for i in items if placed["order"]["id"] in json.dumps(i)]
    assert written and all(i["PK"]["S"] == f"TENANT#{restaurant.instance_id}" for i in written)


# ---- exactly once, for good: keys from identity; a Wix cancel reaches the POS once ---------------------------------


def _send_wix_event(restaurant: Restaurant, event_type: str, order: dict[str, Any], body: dict[str, Any]) -> str:
    """Have the Wix sandbox sign and deliver one event for `order`, under a new event id; wait until the gateway
    took it (200: it is in the work queue)."""
    sent = restaurant.http.post(
        f"{restaurant.devstack.wix_url}/_sandbox/webhooks/send",
        json={"instanceId": restaurant.instance_id, "eventType": event_type, "entityId": order["id"], "event": body},
    )
    sent.raise_for_status()
    event_id = str(sent.json()["eventId"])
    wait_for(lambda: _delivered(restaurant, event_id))
    return event_id


def _delivered(restaurant: Restaurant, event_id: str) -> bool:
    deliveries = restaurant.http.get(f"{restaurant.devstack.wix_url}/_sandbox/webhooks/deliveries").json()
    return any(d["event_id"] == event_id and d["status"] == 200 for d in deliveries["deliveries"])


def _work_queue_idle(restaurant: Restaurant) -> bool:
    assert restaurant.devstack.stack is not None
    sqs = restaurant.devstack.stack.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=restaurant.devstack.stack.output("WorkQueueUrl"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(count) == 0 for count in attributes.values())


def _pos_calls(restaurant: Restaurant) -> dict[str, int]:
    url = f"{restaurant.devstack.pos_url}/_sandbox/merchants/{restaurant.merchant_id}/state"
    return dict(restaurant.http.get(url).json()["calls"])


def test_a_lost_mapping_write_and_an_edited_order_requeued_make_no_second_pos_order(restaurant: Restaurant) -> None:
    # Given an order exported to the POS whose mapping write was lost (its two mapping items are gone)
    placed = restaurant.checkout([SOUP], buyerNote="No onions", fulfillment={"type": "PICKUP"})
    order = placed["order"]
    restaurant.wait_mapping(order["id"])
    wait_for(lambda: _work_queue_idle(restaurant))  # its other event too, or it would write the mapping again
    [pos] = restaurant.pos_orders(order["id"])
    stack = restaurant.devstack.stack
    assert stack is not None
    pk = {"S": f"TENANT#{restaurant.instance_id}"}
    for sk in (f"ORDER#WIX#{order['id']}", f"ORDER#POS#{pos['id']}"):
        stack.client("dynamodb").delete_item(
            TableName=stack.output("MappingsTableName"), Key={"PK": pk, "SK": {"S": sk}}
        )
    assert restaurant.mapping(order["id"]) is None
    # When the order, its note edited since, is queued again as a reconciliation queues it (order_created carrying
    # the order as it is now, under a new event id)
    edited = {**order, "buyerNote": "Ring twice, please"}
    _send_wix_event(restaurant, "wix.ecom.v1.order_created", order, {"createdEvent": {"entity": edited}})
    # Then Square refuses the changed body under the order's key, and that answer is parked with its reason
    parked = wait_for(restaurant.parked)
    assert [m["MessageAttributes"]["reason"]["StringValue"] for m in parked] == ["square_idempotency_key_reused"]
    assert json.loads(parked[0]["Body"])["entity_id"] == order["id"]
    # And the POS still holds one order for it, the first one, not retried under another key
    assert [o["id"] for o in restaurant.pos_orders(order["id"])] == [pos["id"]]
    assert _pos_calls(restaurant)["POST /v2/orders"] == 2


def test_a_paid_order_canceled_on_wix_is_canceled_and_refunded_on_the_pos_once(restaurant: Restaurant) -> None:
    # Given an order paid on Wix with a 2.00 tip, placed for pickup and exported (paid on the POS)
    placed = restaurant.checkout([PIZZA], fulfillment={"type": "PICKUP"}, tip="2.00")
    wix_id = placed["order"]["id"]
    wix_total = round(Decimal(placed["order"]["priceSummary"]["total"]["amount"]) * 100)
    restaurant.wait_mapping(wix_id)
    # When the restaurant cancels it on Wix (Cancel Order), and Wix delivers its order_canceled webhook twice
    opts = restaurant.devstack.options
    token = restaurant.http.post(
        f"{restaurant.devstack.wix_url}/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": opts.wix_app_id,
            "client_secret": opts.wix_app_secret,
            "instance_id": restaurant.instance_id,
        },
    ).json()["access_token"]
    restaurant.http.post(f"{restaurant.devstack.wix_url}/_sandbox/webhooks/delivery", json={"duplicate": 2})
    canceled = restaurant.http.post(
        f"{restaurant.devstack.wix_url}/ecom/v1/orders/{wix_id}/cancel",
        headers={"Authorization": f"Bearer {token}"},
        json={"sendOrderCanceledEmail": False},
    )
    canceled.raise_for_status()
    restaurant.http.post(f"{restaurant.devstack.wix_url}/_sandbox/webhooks/delivery", json={"duplicate": 1})
    # Then the POS screen shows its pickup CANCELED (Square cancels no paid order: the order stays OPEN) and the
    # payment refunded to the cent of what Wix charged, tip included
    [ticket] = wait_for(lambda: [t for t in _pos_screen(restaurant, wix_id) if t["refunded"]] or None)
    assert [f["state"] for f in ticket["fulfillments"]] == ["CANCELED"] and ticket["state"] == "OPEN"
    assert ticket["refunded"] == wix_total == sum(t["amount"] + t["tip"] for t in ticket["tenders"])
    assert [r["status"] for r in ticket["refunds"]] == ["COMPLETED"]
    # When the restaurant then refunds it in full on Wix too (order_payment_status_updated, FULLY_REFUNDED), and the
    # same cancel comes once more under another event id (no queue dedup can drop it)
    refunded = restaurant.http.post(
        f"{restaurant.devstack.wix_url}/_sandbox/instances/{restaurant.instance_id}/orders/{wix_id}/refund", json={}
    )
    refunded.raise_for_status()
    again = {"actionEvent": {"body": {"order": canceled.json()["order"]}}}
    _send_wix_event(restaurant, "wix.ecom.v1.order_canceled", placed["order"], again)
    wait_for(lambda: _work_queue_idle(restaurant))
    # Then the POS order was updated once and refunded once, and nothing was parked
    calls = _pos_calls(restaurant)
    assert calls.get("PUT /v2/orders/{order_id}") == 1 and calls.get("POST /v2/refunds") == 1
    assert restaurant.parked() == []
    [ticket] = _pos_screen(restaurant, wix_id)
    assert ticket["refunded"] == wix_total and len(ticket["refunds"]) == 1
    # And the operator's view of the order (admin API, `posbridge order`) shows both refunds, exactly
    mapping = wait_for(lambda: (m := restaurant.mapping(wix_id)) and m.get("wixRefundedMinor") and m)
    assert (mapping["posRefundedMinor"], mapping["wixRefundedMinor"]) == (wix_total, wix_total)
    assert mapping["wixPaymentStatus"] == "FULLY_REFUNDED" and mapping["posRefundId"]


def test_a_partial_refund_on_wix_is_shown_to_operators_and_not_applied_on_the_pos(restaurant: Restaurant) -> None:
    # Given an order paid on Wix and exported
    placed = restaurant.checkout([PIZZA], fulfillment={"type": "PICKUP"})
    wix_id = placed["order"]["id"]
    restaurant.wait_mapping(wix_id)
    # When the restaurant refunds 3.40 of it on Wix
    refund_url = f"{restaurant.devstack.wix_url}/_sandbox/instances/{restaurant.instance_id}/orders/{wix_id}/refund"
    restaurant.http.post(refund_url, json={"amount": "3.40"}).raise_for_status()
    # Then the operator's view of the order shows the refunded amount, exactly, and the POS was not refunded
    mapping = wait_for(lambda: (m := restaurant.mapping(wix_id)) and m.get("wixRefundedMinor") and m)
    assert (mapping["wixPaymentStatus"], mapping["wixRefundedMinor"]) == ("PARTIALLY_REFUNDED", 340)
    assert mapping.get("posRefundedMinor") is None
    wait_for(lambda: _work_queue_idle(restaurant))
    [ticket] = _pos_screen(restaurant, wix_id)
    assert ticket["refunded"] == 0 and [f["state"] for f in ticket["fulfillments"]] != ["CANCELED"]


# ---- paid and visible on the POS (issue 12 points 1 and 2) ---------------------------------------------------------


def _pos_screen(restaurant: Restaurant, wix_order_id: str) -> list[dict[str, Any]]:
    url = f"{restaurant.devstack.pos_url}/_sandbox/merchants/{restaurant.merchant_id}/pos-screen"
    return [o for o in restaurant.http.get(url).json()["orders"] if o["referenceId"] == wix_order_id]


def _pos_write_calls(restaurant: Restaurant) -> int:
    return sum(_pos_calls(restaurant).values())


NY_ADDRESS = {"addressLine": "12 Elm St", "city": "New York", "subdivision": "US-NY", "postalCode": "10001"}


def test_a_paid_delivery_order_appears_on_the_pos_screen_paid_as_a_pickup_with_the_address(
    restaurant: Restaurant,
) -> None:
    # Given a buyer already known to the POS (their first order made the customer) ordering a delivery, paid on
    # Wix with a 3.00 tip
    first = restaurant.checkout([SOUP], fulfillment={"type": "PICKUP"})
    restaurant.wait_mapping(first["order"]["id"])
    wait_for(lambda: _work_queue_idle(restaurant))
    calls_before = _pos_write_calls(restaurant)
    placed = restaurant.checkout(
        [PIZZA],
        tip="3.00",
        buyerNote="Gate B",
        fulfillment={"type": "DELIVERY", "address": NY_ADDRESS},
    )
    wix_id = placed["order"]["id"]
    # When the bridge has exported it
    mapping = restaurant.wait_mapping(wix_id)
    wait_for(lambda: _work_queue_idle(restaurant))
    # Then the seller's POS shows it, paid by an external payment that carries Wix's tip, as a PICKUP (a DELIVERY
    # would be hidden without Square's partnership) with the address and the buyer's note in the note staff read
    [ticket] = wait_for(lambda: _pos_screen(restaurant, wix_id) or None)
    assert ticket["paid"] and ticket["ticketName"].startswith("Wix #")
    assert ticket["tenders"] == [{"type": "OTHER", "amount": 2700, "tip": 300}]
    [fulfillment] = ticket["fulfillments"]
    assert fulfillment["type"] == "PICKUP"
    assert fulfillment["note"].startswith("DELIVERY by our driver to: 12 Elm St, New York, NY 10001")
    assert "Gate B" in fulfillment["note"]
    assert mapping["posPaymentId"] and mapping.get("toCollectMinor") is None
    # And it took 4 POS calls with a known customer: search, create order, create payment, pay order
    assert _pos_write_calls(restaurant) - calls_before == 4


def test_a_cash_order_appears_on_the_pos_screen_marked_unpaid_with_the_amount_to_collect(
    restaurant: Restaurant,
) -> None:
    # Given an order the buyer pays in cash at pickup (approved, Wix paymentStatus NOT_PAID)
    placed = restaurant.checkout([SOUP], paymentStatus="NOT_PAID", fulfillment={"type": "PICKUP"})
    wix_id = placed["order"]["id"]
    # When the bridge has exported it (the tenant exports unpaid orders, the default)
    mapping = restaurant.wait_mapping(wix_id)
    # Then the kitchen sees it, marked UNPAID on the ticket and with the amount to collect first in the note
    [ticket] = wait_for(lambda: _pos_screen(restaurant, wix_id) or None)
    assert ticket["ticketName"].startswith("UNPAID Wix #")
    assert ticket["fulfillments"][0]["note"].startswith("UNPAID: collect 7.25 USD")
    assert mapping["toCollectMinor"] == 725


def test_a_taxed_delivery_with_a_coupon_a_fee_and_a_tip_is_paid_itemized_and_to_the_cent_on_the_pos(
    restaurant: Restaurant,
) -> None:
    # Given a delivery paid on Wix: 8.875% tax (on the delivery fee too), a 10% coupon, a 4.99 delivery fee, a taxed
    # 1.50 service fee and a 2.00 tip
    placed = restaurant.checkout(
        [PIZZA, SOUP],
        tax={"rate": "0.08875", "shipping": True},
        coupon={"code": "WELCOME10", "percentage": "10"},
        fees=[{"name": "Service fee", "amount": "1.50", "taxable": True}],
        tip="2.00",
        fulfillment={"type": "DELIVERY", "address": NY_ADDRESS, "fee": "4.99"},
    )
    order = placed["order"]
    wix_total = round(Decimal(order["priceSummary"]["total"]["amount"]) * 100)
    # When the bridge has exported it
    mapping = restaurant.wait_mapping(order["id"])
    # Then the POS shows it paid, with the tax, the coupon and both fees itemized, and the tip on the payment
    [ticket] = wait_for(lambda: _pos_screen(restaurant, order["id"]) or None)
    assert ticket["paid"] and ticket["amountDue"] == 0
    assert [(t["type"], t["percentage"]) for t in ticket["taxes"]] == [("ADDITIVE", "8.875")]
    coupon = [d["applied"] for d in ticket["discounts"] if d["name"] == "WELCOME10"]
    assert len(coupon) == 2 and sum(coupon) == round(Decimal(order["priceSummary"]["discount"]["amount"]) * 100)
    charges = {c["name"]: c["total"] for c in ticket["serviceCharges"]}
    assert charges == {"Delivery": 499 + 44, "Service fee": 150 + 13}  # each with its 8.875% tax
    assert ticket["totals"]["tip"] == 200 and ticket["tenders"][0]["tip"] == 200
    # And what the POS collected is what Wix charged, to the cent (any rounding difference named in the mapping)
    assert ticket["totals"]["total"] == wix_total == sum(t["amount"] + t["tip"] for t in ticket["tenders"])
    assert (mapping["adjustmentMinor"], mapping["adjustmentName"]) == (0, None)  # this one needs no adjustment
