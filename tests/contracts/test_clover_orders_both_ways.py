"""The Clover adapter's order reads and undo against the Clover sandbox over real HTTP: snapshots with Clover's
money and state, customers found or made, an exported order deleted, refunds as Clover holds them, changed orders
listed in pages, and the cashier's menu edits seen by the catalog reader."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from posbridge.domain.order import Buyer, Order
from posbridge.errors import PermanentError
from posbridge.ports.pos import REFUND_NOT_SUPPORTED
from posbridge.pos.clover import CloverClient, CloverPos
from posbridge.pos.clover import order_snapshot as snapshot_module
from posbridge.pos.clover.catalog import CloverCatalogSource
from posbridge.pos.clover.webhooks import CloverWebhook, parse
from tests.contracts import test_clover_adapter_drives_sandbox as base
from tests.contracts.test_clover_adapter_drives_sandbox import Env, _paid

env = base.env  # the fixtures: a merchant on a fresh sandbox; the taxed delivery Wix charged 46.77 for
taxed_delivery = base.taxed_delivery

ORDER = "/v3/merchants/{mId}/orders/{orderId}"


@dataclass(frozen=True)
class Layout:
    menu_name: str = "Menu"
    uncategorized_name: str = "Other"


def _exported(env: Env, order: Order) -> tuple[CloverPos, str, str]:
    pos = CloverPos(env.client(), currency="USD")
    made = pos.create_order(order, None, "export-1")
    payment_id = pos.pay_order(made, _paid(order), "pay-1", "pay-1b")
    assert payment_id is not None
    return pos, made.id, payment_id


def test_an_exported_order_reads_back_paid_with_clovers_total_and_the_tip_as_a_fee(
    env: Env, taxed_delivery: Order
) -> None:
    # Given the taxed delivery exported and paid (Clover total 43.77, tip 3.00 on the payment)
    pos, order_id, _ = _exported(env, taxed_delivery)
    # When it is read back
    snapshot = pos.order_snapshot(order_id)
    # Then it is open, tendered, made by the bridge, its money Clover's: total, tip among the fees
    assert (snapshot.state, snapshot.tendered, snapshot.made_by_bridge) == ("OPEN", True, True)
    assert snapshot.total.minor_units() == 4377 and snapshot.fees.minor_units() == 300
    # And discount + tax + lines add up to the total (fees here are the tip, outside Clover's total)
    lines = sum(line.unit_total().minor_units() for line in snapshot.lines)
    assert lines - snapshot.discount.minor_units() + snapshot.tax.minor_units() == 4377
    assert snapshot.lines and all(line.uid for line in snapshot.lines)


def test_the_buyer_is_found_by_email_then_phone_else_made_once(env: Env) -> None:
    pos = CloverPos(env.client())
    ada = Buyer(first_name="Ada", last_name="L", email="ada@example.com", phone="+12125550100")
    # When the buyer is exported twice, then by phone alone
    first = pos.find_or_create_customer(ada, "c1")
    again = pos.find_or_create_customer(ada, "c2")
    by_phone = pos.find_or_create_customer(Buyer(phone="+12125550100"), "c3")
    # Then one Clover customer carries both contacts; a buyer with neither has none
    assert first and first == again == by_phone
    (customer,) = env.control.get(f"/_sandbox/merchants/{env.merchant_id}/state").json()["customers"]
    assert [e["emailAddress"] for e in customer["emailAddresses"]] == ["ada@example.com"]
    assert customer["marketingAllowed"] is False
    assert pos.find_or_create_customer(Buyer(first_name="Anon"), "c4") is None


def test_a_canceled_export_is_deleted_from_clover_and_a_repeat_is_harmless(env: Env, taxed_delivery: Order) -> None:
    pos, order_id, _ = _exported(env, taxed_delivery)
    snapshot = pos.order_snapshot(order_id)
    # When the flow cancels it, twice (a redelivery)
    pos.cancel_order(snapshot, "cancel-1")
    pos.cancel_order(snapshot, "cancel-1")
    # Then the merchant's Orders app no longer shows it, and reading it says it is gone
    assert env.screen() == []
    with pytest.raises(PermanentError) as gone:
        pos.order_snapshot(order_id)
    assert gone.value.reason == "pos_order_not_found"
    assert env.calls()["DELETE " + ORDER] == 2


def test_clovers_api_cannot_refund_a_wix_payment_until_the_till_did(env: Env, taxed_delivery: Order) -> None:
    pos, order_id, payment_id = _exported(env, taxed_delivery)
    # When the flow asks for a refund Clover's REST API cannot make
    with pytest.raises(PermanentError) as refused:
        pos.refund_payment(payment_id, "refund-1", "canceled on Wix")
    # Then it says so for an operator, naming what was taken
    assert refused.value.reason == REFUND_NOT_SUPPORTED
    assert refused.value.details["taken_minor"] == 4677
    # When a cashier refunds it at the till
    path = f"/_sandbox/merchants/{env.merchant_id}/payments/{payment_id}/refund"
    assert env.control.post(path, json={}).status_code == 200
    # Then the refund reads as done (not new) for all it took, and the order reads as canceled
    refund = pos.refund_payment(payment_id, "refund-1", "canceled on Wix")
    assert (refund.new, refund.refunded.minor_units()) == (False, 4677) and refund.refund_id
    assert pos.order_snapshot(order_id).state == "CANCELED"


def test_changed_orders_are_listed_oldest_first_in_pages(
    env: Env, taxed_delivery: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three orders made one after another, and a page of two
    monkeypatch.setattr("posbridge.pos.clover.PAGE", 2)
    pos = CloverPos(env.client())
    made = [pos.create_order(taxed_delivery, None, f"export-{k}").id for k in range(3)]
    # When the changes since long ago are listed page by page
    page = pos.orders_updated_since("2020-01-01T00:00:00Z")
    rest = pos.orders_updated_since("2020-01-01T00:00:00Z", page.cursor)
    # Then every order comes once, oldest change first, and the last page ends the listing
    assert [o.order_id for o in page.orders + rest.orders] == made
    assert page.cursor is not None and rest.cursor is None


def test_a_deleted_order_arrives_as_a_delete_webhook_summary() -> None:
    # Given Clover's message about an order deleted at the till
    body = b'{"appId":"APP","merchants":{"M1":[{"objectId":"O:ORD1","type":"DELETE","ts":1700000000000}]}}'
    message = parse(body)
    assert isinstance(message, CloverWebhook)
    # Then it is a neutral summary the flows can act on
    (summary,) = message.order_summaries()
    assert (summary.order_id, summary.location_id, summary.state) == ("ORD1", "M1", "DELETED")


def test_a_cashiers_menu_edits_reach_the_catalog_reader_and_a_deletion_comes_by_webhook(env: Env) -> None:
    catalog = {"categories": ["Mains"], "items": [{"name": "Burger", "price": 1200, "category": "Mains"},
                                                  {"name": "Fries", "price": 400, "category": "Mains"}]}  # fmt: skip
    base = f"/_sandbox/merchants/{env.merchant_id}"
    ids = env.control.post(f"{base}/catalog", json=catalog).json()["ids"]
    source = CloverCatalogSource(env.client(), "USD")
    as_of = source.load_catalog(Layout()).as_of
    burger, fries = ids["item:Burger"], ids["item:Fries"]
    env.box.state.clock = lambda: time.time() + 5  # the edit happens after the import's snapshot
    # When the cashier reprices the burger and deletes the fries
    assert env.control.post(f"{base}/items/{burger}/edit", json={"price": 1300}).status_code == 200
    assert env.control.delete(f"{base}/items/{fries}").status_code == 200
    # Then the changes since the import name the burger, and the whole catalog is re-read
    changes = source.changes_since(as_of)
    assert burger in changes.items and changes.whole
    after = source.load_catalog(Layout())
    assert after.items[burger].variations[0].price.minor_units() == 1300 and fries not in after.items
    # And the deletion, which no list shows, is what Clover's I: DELETE webhook tells
    body = b'{"appId":"A","merchants":{"M":[{"objectId":"I:' + fries.encode() + b'","type":"DELETE","ts":1}]}}'
    message = parse(body)
    assert isinstance(message, CloverWebhook)
    told = message.catalog_changes("M")
    assert fries in told.items and told.whole and told.count == 1


def test_snapshot_money_follows_clovers_documented_arithmetic() -> None:
    # Given an order with a percentage line discount, an order amount discount and a 10% service charge
    raw = {
        "id": "O1", "currency": "USD", "total": 2000, "createdTime": 1, "modifiedTime": 2, "paymentState": "PAID",
        "serviceCharge": {"id": "S", "name": "Service", "enabled": True, "percentageDecimal": 100000},
        "discounts": {"elements": [{"name": "Coupon", "amount": -100}]},
        "lineItems": {"elements": [
            {"id": "L1", "name": "Steak", "price": 1900,
             "modifications": {"elements": [{"name": "Sauce", "amount": 100}]},
             "discounts": {"elements": [{"name": "Happy hour", "percentage": 10}]}},
        ]},
    }  # fmt: skip
    # When it is read with a payment carrying a 2.00 tip
    snapshot = snapshot_module.snapshot_from_clover(raw, [{"amount": 2000, "tipAmount": 200}], "M1")
    # Then: 20.00 gross, 2.00 + 1.00 off, 17.00 subtotal, service 1.70, tax the rest of Clover's total
    assert snapshot.discount.minor_units() == 300
    assert snapshot.fees.minor_units() == 170 + 200
    assert snapshot.tax.minor_units() == 2000 - 1700 - 170
    assert snapshot.tendered and snapshot.state == "OPEN"


def test_two_functions_with_an_expired_token_refresh_it_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two functions' clients (each with its own in-process lock) sharing the merchant's store, and a slow
    # Clover refresh
    redeemed: list[str] = []
    redeem = env.box.state.redeem

    def slow_redeem(token: str) -> dict[str, object]:
        redeemed.append(token)
        time.sleep(0.3)
        return redeem(token)

    monkeypatch.setattr(env.box.state, "redeem", slow_redeem)
    env.control.post(f"/_sandbox/merchants/{env.merchant_id}/expire-access-tokens")
    clients = [CloverClient(env.url, env.merchant_id, env.client_id, env.store) for _ in range(2)]
    # When both call Clover at once
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.get("/tax_rates"), clients))
    # Then Clover was asked for a new pair once (the other waited on the lease and took the saved pair)
    assert len(redeemed) == 1 and env.store.replaced == 1
    assert all(a["elements"] for a in answers)
