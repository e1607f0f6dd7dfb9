"""Flows 2 and 3 and the reconciliation over HTTP through the devstack: what a cashier and a kitchen do on the Square
sandbox reaches the Wix sandbox through signed webhooks, the queue and the worker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from devstack.app import Devstack
from devstack.kitchen import Kitchen, wait_for

SOUP = {"name": "Soup of the day", "quantity": "1", "base_price_money": {"amount": 650, "currency": "USD"}}
RESTAURANT_LINE = {"kind": "restaurant", "name": "Lasagna", "price": "14.00", "quantity": 1}


@pytest.fixture
def kitchen(devstack: Devstack) -> Iterator[Kitchen]:
    http = httpx.Client(timeout=30)
    yield Kitchen.open(devstack, http, {"unmappedPosLines": "custom"})
    # a plan or fault a test left behind must not hit the next test
    http.post(f"{devstack.pos_url}/_sandbox/webhooks/release", json={"reverse": False})
    http.post(f"{devstack.pos_url}/_sandbox/webhooks/delivery", json={"duplicate": 1})
    http.delete(f"{devstack.pos_url}/_sandbox/faults")
    http.post(f"{devstack.wix_url}/_sandbox/webhooks/delivery", json={"duplicate": 1})
    http.delete(f"{devstack.wix_url}/_sandbox/faults")


def _parked(devstack: Devstack, tenant_id: str) -> list[dict[str, object]]:
    assert devstack.stack is not None
    sqs = devstack.stack.client("sqs")
    url = devstack.stack.output("WorkDeadLetterQueueUrl")
    seen: list[dict[str, object]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
    ).get("Messages", []):
        seen += batch
    for message in seen:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return [m for m in seen if json.loads(str(m["Body"])).get("tenant_id") == tenant_id]


# ---- Flow 2 --------------------------------------------------------------------------------------------------------


def test_a_cashier_order_of_menu_items_shows_up_in_wix_with_a_pending_fulfillment(kitchen: Kitchen) -> None:
    # Given a menu published to Wix (the catalog mapping) and a cashier ringing up two of its items
    variations = kitchen.seed_catalog()
    wix_items = kitchen.map_catalog({k: variations[k] for k in ("Margherita Pizza Large", "Tomato Soup Bowl")})
    order = kitchen.ring_up(
        [
            {"catalog_object_id": variations["Margherita Pizza Large"], "quantity": "2"},
            {"catalog_object_id": variations["Tomato Soup Bowl"], "quantity": "1"},
        ]
    )
    # When the bridge has worked off Square's webhook
    synced = kitchen.wait_pos_order(order["id"], wixStatus="Pending")
    # Then one Wix order holds them as Wix Restaurants lines, with a Pending fulfillment over the whole order
    [wix] = kitchen.wix_orders_for(order["id"])
    assert synced["wixOrderId"] == wix["id"] and synced["origin"] == "pos"
    assert wix["channelInfo"] == {"type": "POS", "externalOrderId": order["id"]}
    references = [line["catalogReference"] for line in wix["lineItems"]]
    assert [r["catalogItemId"] for r in references] == [
        wix_items[variations["Margherita Pizza Large"]],
        wix_items[variations["Tomato Soup Bowl"]],
    ]
    assert {r["appId"] for r in references} == {"9a5d83fd-8570-482e-81ab-cfa88942ee60"}
    assert all(set(r["options"]) == {"operationId", "menuId", "sectionId"} for r in references)
    assert wix["priceSummary"]["total"]["amount"] == "40.00" and wix["businessLocation"]["id"]
    [fulfillment] = kitchen.wix_state()["fulfillments"][wix["id"]]
    assert fulfillment["status"] == "Pending" and len(fulfillment["lineItems"]) == 2
    # And no notification went out, and the import was never exported back to the POS
    assert [n for n in kitchen.wix_state()["notifications"] if n["orderId"] == wix["id"]] == []
    assert kitchen.pos_order_for(wix["id"]) is None and len(kitchen.pos_state()["orders"]) == 1


def test_an_unmapped_line_parks_the_order_with_its_reason(kitchen: Kitchen) -> None:
    kitchen.connect({"unmappedPosLines": "park"})
    order = kitchen.ring_up([SOUP])
    parked = wait_for(lambda: _parked(kitchen.devstack, kitchen.instance_id))
    assert [m["MessageAttributes"]["reason"]["StringValue"] for m in parked] == ["unmapped_pos_line"]  # type: ignore[index]
    assert kitchen.wix_orders_for(order["id"]) == [] and kitchen.pos_order(order["id"]) is None


def test_an_unmapped_line_becomes_a_custom_line_when_the_tenant_says_so(kitchen: Kitchen) -> None:
    order = kitchen.ring_up([SOUP])
    kitchen.wait_pos_order(order["id"], wixStatus="Pending")
    [wix] = kitchen.wix_orders_for(order["id"])
    assert wix["lineItems"][0]["catalogReference"]["appId"] == kitchen.devstack.options.wix_app_id


def test_a_lost_mapping_write_never_makes_a_second_wix_order(kitchen: Kitchen) -> None:
    # Given an earlier attempt created the Wix order for a POS order, and its mapping write was lost
    kitchen.square_webhooks(hold=True)
    order = kitchen.ring_up([SOUP])
    earlier = _create_wix_order(kitchen, order["id"])
    # When Square's webhook for the POS order is delivered
    kitchen.release_square_webhooks()
    # Then the bridge adopts that order: still one Wix order for the POS order, now mapped and Pending
    synced = kitchen.wait_pos_order(order["id"], wixStatus="Pending")
    assert synced["wixOrderId"] == earlier and [o["id"] for o in kitchen.wix_orders_for(order["id"])] == [earlier]


def _create_wix_order(kitchen: Kitchen, pos_order_id: str) -> str:
    opts = kitchen.devstack.options
    token = httpx.post(
        f"{kitchen.devstack.wix_url}/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": opts.wix_app_id,
            "client_secret": opts.wix_app_secret,
            "instance_id": kitchen.instance_id,
        },
    ).json()["access_token"]
    line = {
        "quantity": 1,
        "productName": {"original": "Soup"},
        "itemType": {"preset": "PHYSICAL"},
        "price": {"amount": "6.50"},
        "catalogReference": {"appId": opts.wix_app_id, "catalogItemId": "soup"},
    }
    body = {
        "order": {
            "channelInfo": {"type": "POS", "externalOrderId": pos_order_id},
            "lineItems": [line],
            "priceSummary": {"total": {"amount": "6.50"}},
        }
    }
    created = httpx.post(f"{kitchen.devstack.wix_url}/ecom/v1/orders", json=body, headers={"Authorization": token})
    created.raise_for_status()
    return str(created.json()["order"]["id"])


def test_a_wix_rejection_is_parked_with_the_wix_error_body(kitchen: Kitchen) -> None:
    # Given a tenant configured with a business location its Wix site does not have
    kitchen.connect({"unmappedPosLines": "custom", "wixLocationId": "no-such-location"})
    # When a cashier's order is imported
    order = kitchen.ring_up([SOUP])
    # Then Wix's 400 parks it, with Wix's own error body in the record
    [parked] = wait_for(lambda: _parked(kitchen.devstack, kitchen.instance_id))
    attributes = parked["MessageAttributes"]
    assert attributes["reason"]["StringValue"] == "wix_invalid_argument"  # type: ignore[index]
    assert "no-such-location" in attributes["error"]["StringValue"]  # type: ignore[index]
    assert kitchen.wix_orders_for(order["id"]) == []


def test_wix_throttling_is_retried_and_the_order_imported_once(kitchen: Kitchen) -> None:
    kitchen.http.post(
        f"{kitchen.devstack.wix_url}/_sandbox/faults",
        json={"path": "/ecom/v1/fulfillments/orders", "method": "POST", "status": 429, "times": 2},
    ).raise_for_status()
    order = kitchen.ring_up([SOUP])
    synced = kitchen.wait_pos_order(order["id"], wixStatus="Pending")
    assert len(kitchen.wix_orders_for(order["id"])) == 1
    assert len(kitchen.wix_state()["fulfillments"][synced["wixOrderId"]]) == 1


# ---- signatures ----------------------------------------------------------------------------------------------------


def test_a_missing_bad_or_tampered_signature_is_401_and_nothing_is_queued(kitchen: Kitchen) -> None:
    # Given an order whose own webhook was lost, and notifications for it: unsigned, signed with another key, tampered
    kitchen.square_webhooks(drop=1)
    order = kitchen.ring_up([SOUP])
    body, good = kitchen.signed_event("order.updated", order)
    _, forged = kitchen.signed_event("order.updated", order, key="not-the-merchants-key")
    tampered = body.replace(b'"state": "OPEN"', b'"state": "COMPLETED"')
    assert tampered != body
    attempts = [(body, None), (body, forged), (tampered, good)]
    # When each is posted to the Square webhook route
    answers = []
    for content, signature in attempts:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["x-square-hmacsha256-signature"] = signature
        answers.append(httpx.post(kitchen.devstack.square_webhook_url, content=content, headers=headers))
    # Then each is refused with a message, and nothing reaches Wix
    assert [a.status_code for a in answers] == [401, 401, 401] and all(a.json()["message"] for a in answers)
    time.sleep(1.5)  # what a queued message would need to be worked off
    assert kitchen.pos_order(order["id"]) is None and kitchen.wix_orders_for(order["id"]) == []


def test_a_correctly_signed_redelivery_is_accepted(kitchen: Kitchen) -> None:
    kitchen.square_webhooks(drop=1)
    order = kitchen.ring_up([SOUP])
    body, signature = kitchen.signed_event("order.updated", order)
    headers = {"Content-Type": "application/json", "x-square-hmacsha256-signature": signature}
    response = httpx.post(kitchen.devstack.square_webhook_url, content=body, headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "queued"
    kitchen.wait_pos_order(order["id"], wixStatus="Pending")


# ---- Flow 3 --------------------------------------------------------------------------------------------------------


def _on_the_pos(kitchen: Kitchen, wix_id: str) -> dict[str, object]:
    """The bridge's order once paid: only then does the kitchen see it (Square shows fulfillment orders once paid)."""

    def paid() -> dict[str, object] | None:
        order = kitchen.pos_order_for(wix_id)
        return order if order and order.get("tenders") else None

    return wait_for(paid)


def _online_order(kitchen: Kitchen) -> tuple[str, dict[str, object]]:
    wix = kitchen.checkout([RESTAURANT_LINE])
    pos = _on_the_pos(kitchen, wix["id"])
    kitchen.wait_pos_order(str(pos["id"]), wixStatus="Pending")  # Square's order.created for the bridge's own order
    return wix["id"], pos


def test_an_online_order_shows_accepted_ready_fulfilled_as_the_kitchen_moves_it(kitchen: Kitchen) -> None:
    # Given an online order the bridge put on the POS
    wix_id, pos = _online_order(kitchen)
    # When the kitchen moves it along, Then Wix shows each step, one Wix call per step
    for state, status in (("RESERVED", "Accepted"), ("PREPARED", "Ready"), ("COMPLETED", "Fulfilled")):
        before = kitchen.wix_calls()
        kitchen.move(str(pos["id"]), state)
        synced = kitchen.wait_pos_order(str(pos["id"]), wixStatus=status)
        assert synced["wixOrderId"] == wix_id and kitchen.wix_status(wix_id) == status
        after = kitchen.wix_calls()
        assert sum(after.values()) - sum(before.values()) == 1, (before, after)
    # And the online order was never imported back
    assert kitchen.wix_orders_for(str(pos["id"])) == [] and len(kitchen.wix_state()["orders"]) == 1


def test_a_delivery_the_courier_picked_up_shows_in_delivery(kitchen: Kitchen) -> None:
    # Given an online delivery order of a seller with Square's delivery partnership (so it is a DELIVERY on Square),
    # ready in the kitchen
    kitchen.connect({"squareDeliveryPartner": True}).raise_for_status()
    address = {"addressLine": "1 Main St", "city": "New York", "postalCode": "10001", "country": "US"}
    wix = kitchen.checkout([RESTAURANT_LINE], fulfillment={"type": "DELIVERY", "address": address})
    pos = _on_the_pos(kitchen, wix["id"])
    kitchen.move(str(pos["id"]), "PREPARED")
    ready = kitchen.wait_pos_order(str(pos["id"]), wixStatus="Ready")
    # When the courier picks it up (the delivery app records it on the order through Square's API)
    current = kitchen.pos_order_for(wix["id"]) or {}
    [fulfillment] = current["fulfillments"]
    update = {
        "idempotency_key": f"courier-{pos['id']}",
        "order": {"location_id": kitchen.location_id, "version": current["version"], "fulfillments": [
            {"uid": fulfillment["uid"], "delivery_details": {"courier_pickup_at": current["updated_at"]}}
        ]},
    }  # fmt: skip
    httpx.put(
        f"{kitchen.devstack.pos_url}/v2/orders/{pos['id']}",
        json=update,
        headers={"Authorization": f"Bearer {kitchen.access_token}"},
    ).raise_for_status()
    # Then Wix shows it out for delivery
    delivering = kitchen.wait_pos_order(str(pos["id"]), wixStatus="In_Delivery")
    assert delivering["appliedVersion"] > ready["appliedVersion"] and kitchen.wix_status(wix["id"]) == "In_Delivery"


def test_a_stale_status_arriving_after_a_newer_one_is_dropped_and_counted(kitchen: Kitchen) -> None:
    # Given an online order, and Square holding the webhooks of two moves
    wix_id, pos = _online_order(kitchen)
    kitchen.square_webhooks(hold=True)
    kitchen.move(str(pos["id"]), "RESERVED")
    kitchen.move(str(pos["id"]), "PREPARED")
    # When they are delivered newest first
    kitchen.release_square_webhooks(reverse=True)
    # Then Wix ends at Ready, never back at Accepted, and the older updates were dropped and counted
    synced = kitchen.wait_pos_order(str(pos["id"]), wixStatus="Ready", staleDropped=2)
    # (version 1 created, 2 paid by PayOrder, 3 RESERVED, 4 PREPARED)
    assert synced["appliedVersion"] == 4 and kitchen.wix_status(wix_id) == "Ready"


def test_a_duplicated_order_updated_changes_wix_once(kitchen: Kitchen) -> None:
    wix_id, pos = _online_order(kitchen)
    kitchen.square_webhooks(duplicate=3)
    before = kitchen.wix_calls()
    kitchen.move(str(pos["id"]), "RESERVED")
    kitchen.wait_pos_order(str(pos["id"]), wixStatus="Accepted")
    time.sleep(1.0)  # let every copy be worked off
    after = kitchen.wix_calls()
    patch = "PATCH /ecom/v1/fulfillments/{fulfillmentId}/orders/{orderId}"
    assert after.get(patch, 0) - before.get(patch, 0) == 1 and kitchen.wix_status(wix_id) == "Accepted"


def test_a_canceled_pos_order_cancels_the_wix_order(kitchen: Kitchen) -> None:
    order = kitchen.ring_up([SOUP])
    synced = kitchen.wait_pos_order(order["id"], wixStatus="Pending")
    kitchen.cancel(order["id"])
    kitchen.wait_pos_order(order["id"], wixCanceled=True)
    [wix] = kitchen.wix_orders_for(order["id"])
    assert wix["id"] == synced["wixOrderId"] and wix["status"] == "CANCELED"


# ---- reconciliation ------------------------------------------------------------------------------------------------


def test_the_reconciliation_imports_a_pos_order_whose_webhook_was_lost(kitchen: Kitchen) -> None:
    # Given a cashier's order whose webhook Square lost
    kitchen.square_webhooks(drop=1)
    order = kitchen.ring_up([SOUP])
    assert kitchen.pos_order(order["id"]) is None
    # When the reconciliation runs
    response = kitchen.reconcile()
    # Then it queued the order, advanced its cursors, and the order shows up in Wix once
    assert response.status_code == 200 and response.json()["pos_queued"] >= 1 and response.json()["advanced"]
    kitchen.wait_pos_order(order["id"], wixStatus="Pending")
    assert len(kitchen.wix_orders_for(order["id"])) == 1


def test_the_reconciliation_exports_an_online_order_whose_webhooks_were_lost(kitchen: Kitchen) -> None:
    # Given an online order whose created and approved webhooks Wix lost
    kitchen.wix_webhooks(drop=2)
    wix = kitchen.checkout([RESTAURANT_LINE])
    assert kitchen.wix_mapping(wix["id"]) is None
    # When the reconciliation runs
    response = kitchen.reconcile()
    # Then the order reaches the POS once
    assert response.status_code == 200 and response.json()["wix_queued"] == 1
    assert wait_for(lambda: kitchen.wix_mapping(wix["id"]))["status"] == "exported"
    assert len([o for o in kitchen.pos_state()["orders"] if o.get("reference_id") == wix["id"]]) == 1


def test_a_failed_pass_does_not_advance_the_cursors_and_the_next_one_heals(kitchen: Kitchen) -> None:
    # Given a lost webhook, and Square's order search failing longer than the client retries
    kitchen.square_webhooks(drop=1)
    order = kitchen.ring_up([SOUP])
    kitchen.http.post(
        f"{kitchen.devstack.pos_url}/_sandbox/faults",
        json={"path": "/v2/orders/search", "method": "POST", "status": 500, "times": 4},
    ).raise_for_status()
    # When the reconciliation runs
    failed = kitchen.reconcile()
    # Then the pass reports the failure and its cursors stay where they were (unset: no pass ever succeeded)
    assert failed.status_code == 502 and not failed.json()["advanced"] and failed.json()["cursors"]["pos"] is None
    assert _stored_cursors(kitchen) is None
    # And the next pass, with Square back, imports the order and advances
    healed = kitchen.reconcile()
    assert healed.status_code == 200 and healed.json()["advanced"] and _stored_cursors(kitchen) is not None
    kitchen.wait_pos_order(order["id"], wixStatus="Pending")


def _stored_cursors(kitchen: Kitchen) -> dict[str, object] | None:
    assert kitchen.devstack.stack is not None
    item = kitchen.devstack.stack.client("dynamodb").get_item(
        TableName=kitchen.devstack.stack.output("MappingsTableName"),
        Key={"PK": {"S": f"TENANT#{kitchen.instance_id}"}, "SK": {"S": "CURSOR#RECONCILE"}},
    )
    stored: dict[str, object] | None = item.get("Item")
    return stored
