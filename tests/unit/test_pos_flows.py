"""Flows 2 and 3 (posbridge/flows/pos_sync.py, import_order.py, apply_status.py) over in-memory fakes: every rule,
and the Wix calls each costs."""

from __future__ import annotations

import pytest

from posbridge.domain.order_mapping import OrderMapping
from posbridge.errors import PermanentError, TransientError
from posbridge.flows.pos_sync import sync_pos_order
from tests.unit.pos_fakes import TENANT_ID, World, message, square_line, square_order, tenant, wix_error


@pytest.fixture
def world() -> World:
    return World()


# ---- Flow 2: import ------------------------------------------------------------------------------------------------


def test_a_cashier_order_becomes_a_wix_order_with_a_pending_fulfillment_in_three_wix_calls(world: World) -> None:
    # Given a cashier's order of a mapped item, and the site's location and operation already looked up
    order = world.pos.put(square_order(lines=[square_line(quantity="2"), square_line()]))
    # When its webhook is worked off
    result = sync_pos_order(message(order), world.ports())
    # Then one Wix order exists for it, with a Pending fulfillment over its lines, and both mappings
    assert result.outcome == "imported" and result.wix_status == "Pending"
    [wix_id] = world.wix.orders
    assert world.wix.status_of(wix_id) == "Pending" and len(world.wix.ful[wix_id][0]["lines"]) == 2
    mapping = world.mappings.by_pos_order(TENANT_ID, order["id"])
    assert mapping is not None and mapping.origin == "pos" and mapping.wix_order_id == wix_id
    assert sorted(mapping.lines.values()) == sorted(line["uid"] for line in order["line_items"])
    assert world.syncs.records[order["id"]].wix_fulfillment_id == world.wix.ful[wix_id][0]["id"]
    # And Wix was searched before the create: search + create order + create fulfillment
    assert dict(world.wix.calls) == {"find_by_external_id": 1, "create_order": 1, "create_fulfillment": 1}
    assert world.pos.calls["order_snapshot"] == 1


def test_an_order_already_done_on_the_pos_is_imported_at_its_state(world: World) -> None:
    order = world.pos.put(square_order(state="COMPLETED", fulfillment="COMPLETED"))
    result = sync_pos_order(message(order), world.ports())
    assert result.outcome == "imported" and world.wix.status_of(result.wix_order_id or "") == "Fulfilled"
    assert world.wix.created_bodies[0]["order"]["paymentStatus"] == "PAID"


def test_a_lost_mapping_write_never_yields_a_second_wix_order(world: World) -> None:
    # Given an earlier attempt created the Wix order (and its fulfillment) but died before writing the mapping
    order = world.pos.put(square_order())
    earlier = world.wix.add_order(external_id=order["id"])
    world.wix.create_fulfillment(
        earlier, tuple(line["id"] for line in world.wix.orders[earlier]["lineItems"]), "Pending"
    )
    # When the order's webhook is worked off again
    result = sync_pos_order(message(order), world.ports())
    # Then that Wix order is adopted: no second order, no second fulfillment, the mapping now names it
    assert result.outcome == "imported" and result.wix_order_id == earlier
    assert len(world.wix.orders) == 1 and len(world.wix.ful[earlier]) == 1
    assert world.wix.calls["create_order"] == 0
    assert world.mappings.by_wix_order(TENANT_ID, earlier) is not None


def test_an_unmapped_line_parks_the_order_with_a_clear_reason_and_touches_nothing(world: World) -> None:
    order = world.pos.put(square_order(lines=[square_line(), square_line("Daily special", variation="VAR-UNKNOWN")]))
    with pytest.raises(PermanentError) as caught:
        sync_pos_order(message(order), world.ports())
    assert caught.value.reason == "unmapped_pos_line"
    assert "1 of 2 lines" in str(caught.value) and "VAR-UNKNOWN" in str(caught.value)
    assert world.wix.total_calls == 0 and not world.syncs.records


def test_an_unmapped_line_is_a_custom_line_when_the_tenant_says_so(world: World) -> None:
    world.tenants.tenants[TENANT_ID] = tenant(unmapped="custom")
    order = world.pos.put(square_order(lines=[square_line(), square_line("Daily special", variation=None)]))
    assert sync_pos_order(message(order), world.ports()).outcome == "imported"
    references = [line["catalogReference"] for line in world.wix.created_bodies[0]["order"]["lineItems"]]
    assert references[0]["catalogItemId"] == "wix-item-pizza" and references[1]["appId"] == "bridge-app-id"


def test_an_order_canceled_before_it_was_imported_is_skipped_for_good(world: World) -> None:
    order = world.pos.put(square_order(state="CANCELED", fulfillment="CANCELED"))
    assert sync_pos_order(message(order), world.ports()).outcome == "skipped"
    assert world.wix.calls["create_order"] == 0 and world.syncs.skips[order["id"]]
    # a later event for it costs nothing at all
    calls = world.pos.calls["order_snapshot"]
    assert sync_pos_order(message(order), world.ports()).outcome == "skipped"
    assert world.pos.calls["order_snapshot"] == calls


def test_a_draft_waits(world: World) -> None:
    order = world.pos.put(square_order(state="DRAFT"))
    assert sync_pos_order(message(order), world.ports()).outcome == "not_ready"
    assert world.wix.total_calls == 0


# ---- the loop guard ------------------------------------------------------------------------------------------------


def test_an_order_the_bridge_created_on_the_pos_is_never_imported_back(world: World) -> None:
    # Given an online order Flow 1 put on the POS (its source is the bridge; its mapping is not written yet)
    online = world.wix.add_order(lines=2)
    order = world.pos.put(square_order(by_bridge=True, reference_id=online, version=1))
    # When the POS announces it
    result = sync_pos_order(message(order, "order.created"), world.ports())
    # Then nothing is imported: its state goes to the Wix order it came from
    assert result.outcome == "status_applied" and result.wix_order_id == online
    assert world.wix.calls["create_order"] == 0 and world.wix.calls["find_by_external_id"] == 0
    assert len(world.wix.orders) == 1 and world.wix.status_of(online) == "Pending"


def test_an_exported_order_found_by_its_mapping_gets_its_status(world: World) -> None:
    online = world.wix.add_order()
    order = world.pos.put(square_order(fulfillment="RESERVED", version=2, reference_id=online))
    wix_line = world.wix.orders[online]["lineItems"][0]["id"]
    world.mappings.save(TENANT_ID, OrderMapping(wix_order_id=online, pos_order_id=order["id"], lines={wix_line: "u"}))
    result = sync_pos_order(message(order), world.ports())
    assert (result.outcome, world.wix.status_of(online)) == ("status_applied", "Accepted")
    assert world.wix.calls["create_order"] == 0


# ---- Flow 3: status ------------------------------------------------------------------------------------------------


def _imported(world: World) -> tuple[dict[str, object], str]:
    order = world.pos.put(square_order(version=1))
    result = sync_pos_order(message(order), world.ports())
    world.wix.calls.clear()
    return order, result.wix_order_id or ""


def test_each_status_change_costs_one_wix_call(world: World) -> None:
    order, wix_id = _imported(world)
    for version, state, expected in [
        (2, "RESERVED", "Accepted"),
        (3, "PREPARED", "Ready"),
        (4, "COMPLETED", "Fulfilled"),
    ]:
        moved = world.pos.put(square_order(str(order["id"]), fulfillment=state, version=version))
        assert sync_pos_order(message(moved), world.ports()).wix_status == expected
        assert world.wix.status_of(wix_id) == expected
    assert dict(world.wix.calls) == {"update_fulfillment_status": 3}


def test_a_stale_update_after_a_newer_one_is_dropped_and_counted(world: World) -> None:
    # Given the order moved to PREPARED (v3) and that was applied
    order, wix_id = _imported(world)
    reserved = square_order(str(order["id"]), fulfillment="RESERVED", version=2)
    world.pos.put(square_order(str(order["id"]), fulfillment="PREPARED", version=3))
    sync_pos_order(message(world.pos.orders[str(order["id"])]), world.ports())
    calls = world.wix.total_calls, world.pos.calls["order_snapshot"]
    # When the RESERVED (v2) event arrives late
    result = sync_pos_order(message(reserved), world.ports())
    # Then it is dropped and counted, the order stays Ready, and nobody was called
    assert result.outcome == "stale_dropped" and world.syncs.stale[str(order["id"])] == 1
    assert world.wix.status_of(wix_id) == "Ready"
    assert (world.wix.total_calls, world.pos.calls["order_snapshot"]) == calls


def test_a_duplicate_order_updated_changes_nothing_twice(world: World) -> None:
    order, _ = _imported(world)
    moved = world.pos.put(square_order(str(order["id"]), fulfillment="RESERVED", version=2))
    first = sync_pos_order(message(moved, event_id="evt-1"), world.ports())
    second = sync_pos_order(message(moved, event_id="evt-2"), world.ports())  # same change, another delivery
    assert (first.outcome, second.outcome) == ("status_applied", "already_applied")
    assert world.wix.calls["update_fulfillment_status"] == 1 and world.syncs.stale[str(order["id"])] == 0


def test_a_canceled_pos_order_cancels_the_wix_order_once(world: World) -> None:
    order, wix_id = _imported(world)
    canceled = world.pos.put(square_order(str(order["id"]), state="CANCELED", fulfillment="CANCELED", version=2))
    assert sync_pos_order(message(canceled), world.ports()).outcome == "canceled"
    later = world.pos.put(square_order(str(order["id"]), state="CANCELED", fulfillment="CANCELED", version=3))
    assert sync_pos_order(message(later), world.ports()).outcome == "unchanged"
    assert world.wix.canceled == [(wix_id, False)]  # an order rung up on the POS: no e-mail to anyone


def test_an_online_order_canceled_by_the_kitchen_tells_the_customer(world: World) -> None:
    online = world.wix.add_order()
    order = world.pos.put(
        square_order(state="CANCELED", fulfillment="CANCELED", version=2, by_bridge=True, reference_id=online)
    )
    assert sync_pos_order(message(order), world.ports()).outcome == "canceled"
    assert world.wix.canceled == [(online, True)]


def test_a_fulfillment_created_by_an_earlier_attempt_is_adopted(world: World) -> None:
    # Given an online order whose fulfillment an earlier attempt created before dying (nothing recorded)
    online = world.wix.add_order()
    world.wix.create_fulfillment(online, (world.wix.orders[online]["lineItems"][0]["id"],), "Pending")
    order = world.pos.put(square_order(fulfillment="RESERVED", version=2, by_bridge=True, reference_id=online))
    # When its next change arrives
    result = sync_pos_order(message(order), world.ports())
    # Then Wix's refusal of a second fulfillment leads to the existing one, updated
    assert result.outcome == "status_applied" and len(world.wix.ful[online]) == 1
    assert world.wix.status_of(online) == "Accepted"


def test_a_new_orders_fulfillment_whose_answer_was_lost_is_adopted_not_parked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Wix creates the new Wix order's fulfillment but its answer is lost (processed, then 500), so the client's
    # retry is refused: the lines are fulfilled already (found by `make soak`, seed 13)
    order = world.pos.put(square_order())
    create = world.wix.create_fulfillment

    def processed_then_refused(order_id: str, line_ids: tuple[str, ...], status: str) -> str:
        create(order_id, line_ids, status)
        raise wix_error(400, "VALIDATION_ERROR")

    monkeypatch.setattr(world.wix, "create_fulfillment", processed_then_refused)
    # When the cashier's order is worked off
    result = sync_pos_order(message(order), world.ports())
    # Then it is imported with the fulfillment Wix made (not parked as poison), and that one is recorded
    assert result.outcome == "imported"
    [wix_id] = world.wix.orders
    assert len(world.wix.ful[wix_id]) == 1
    assert world.syncs.records[order["id"]].wix_fulfillment_id == world.wix.ful[wix_id][0]["id"]


# ---- failures ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 409])
def test_a_wix_rejection_propagates_as_a_poison_with_its_status(world: World, status: int) -> None:
    order = world.pos.put(square_order())
    world.wix.fail["create_order"] = [wix_error(status, "ALREADY_EXISTS" if status == 409 else "INVALID_ARGUMENT")]
    with pytest.raises(PermanentError) as caught:
        sync_pos_order(message(order), world.ports())
    assert caught.value.details["status"] == status and not world.syncs.records


def test_wix_throttling_left_over_after_the_clients_retries_is_retried_by_the_queue(world: World) -> None:
    order = world.pos.put(square_order())
    world.wix.fail["create_order"] = [TransientError("Wix POST /ecom/v1/orders failed after 4 attempts: HTTP 429")]
    with pytest.raises(TransientError):
        sync_pos_order(message(order), world.ports())
    # the redelivery finishes the job, with one order
    assert sync_pos_order(message(order), world.ports()).outcome == "imported"
    assert len(world.wix.orders) == 1


def test_a_pos_answer_older_than_its_webhook_is_read_again_later(world: World) -> None:
    order = world.pos.put(square_order(version=1))
    newer = square_order(str(order["id"]), version=2)
    with pytest.raises(TransientError):
        sync_pos_order(message(newer), world.ports())


def test_an_event_stamped_when_sent_is_applied_from_an_order_read_a_moment_older(world: World) -> None:
    # Given a cashier's order imported, then changed on the POS (its own position: 20), and an event about the change
    # stamped when the POS sent it (Clover's webhook `ts`: 21), not with the order's position
    first = world.pos.put(square_order(updated=10))
    assert sync_pos_order(message(first), world.ports()).outcome == "imported"
    changed = world.pos.put(square_order(str(first["id"]), updated=20, state="CANCELED"))
    sent = message(square_order(str(changed["id"]), updated=21))
    inexact = sent.model_copy(update={"payload": {**sent.payload, "position_exact": False}})
    # When it is processed, Then the order read (at 20) is applied, not waited for as a lagging read
    result = sync_pos_order(inexact, world.ports())
    assert result.outcome != "already_applied" and world.wix.canceled
    # And the same event stamped exactly (a position the read does not reach yet) is read again later
    with pytest.raises(TransientError):
        sync_pos_order(message(square_order(str(changed["id"]), updated=22)), world.ports())


def test_an_order_of_another_location_is_refused(world: World) -> None:
    order = world.pos.put(square_order(location_id="L-OTHER"))
    with pytest.raises(PermanentError) as caught:
        sync_pos_order(message(order), world.ports())
    assert caught.value.reason == "foreign_pos_location"


@pytest.mark.parametrize(("status", "reason"), [("paused", "tenant_paused"), (None, "unknown_tenant")])
def test_an_inactive_or_unknown_tenant_is_a_poison(world: World, status: str | None, reason: str) -> None:
    if status is None:
        world.tenants.tenants.clear()
    else:
        world.tenants.tenants[TENANT_ID] = tenant(status="paused")
    with pytest.raises(PermanentError) as caught:
        sync_pos_order(message(world.pos.put(square_order())), world.ports())
    assert caught.value.reason == reason


# ---- the loop guard, Flow 1's side ---------------------------------------------------------------------------------


def test_a_wix_order_placed_on_a_pos_is_never_exported_to_the_pos() -> None:
    from tests.unit.test_export_order import _message, _world

    # Given Flow 2 imported a POS order into Wix (channel POS), and Wix announces it as approved
    export_world = _world()
    message = _message("approved", channelInfo={"type": "POS", "externalOrderId": "POS-ORDER-1"})
    # When Flow 1 works off that webhook
    result = export_world.run(message)
    # Then nothing goes to the POS, and the skip is recorded with its reason
    assert result.outcome == "from_pos" and export_world.gateway.order_calls == []
    assert "POS" in next(iter(export_world.mappings.skips.values()))
