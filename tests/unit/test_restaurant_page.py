"""The restaurant page's rules over in-memory fakes (posbridge/flows/restaurant_page.py): a retry redrives only the
site's own parked messages, reasons read as plain words, orders read as where they stand, the owner's export settings
change only what the owner may change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from posbridge.domain.activity import OrderActivity
from posbridge.domain.admin import ParkedMessage
from posbridge.domain.tenant import PosConnection, Tenant, TenantSettings
from posbridge.flows import restaurant_page as page

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SITE_A, SITE_B = "site-a", "site-b"
SQUARE = page.PosName("square", "Square")


def parked(message_id: str, tenant_id: str, reason: str = "square_invalid_value") -> ParkedMessage:
    return ParkedMessage(
        message_id=message_id, tenant_id=tenant_id, source="wix", event_type="wix.ecom.v1.order_approved",
        event_id=f"e-{message_id}", entity_id=f"order-{message_id}", reason=reason, error="Square POST ... 400",
        parked_at="1765022400000", receive_count=1,
    )  # fmt: skip


class FakeDeadLetters:
    """The DLQ's filters as posbridge.dlq applies them: tenant, reason, ids (all that are given)."""

    def __init__(self, messages: list[ParkedMessage]) -> None:
        self.messages = messages
        self.moved: list[str] = []

    def _wanted(self, p: ParkedMessage, tenant_id: str | None, reason: str | None, ids: set[str] | None) -> bool:
        return (
            (tenant_id is None or p.tenant_id == tenant_id)
            and (reason is None or p.reason == reason)
            and (ids is None or p.message_id in ids)
        )

    def find(self, tenant_id: str | None = None, reason: str | None = None) -> list[ParkedMessage]:
        return [p for p in self.messages if self._wanted(p, tenant_id, reason, None)]

    def redrive(
        self, tenant_id: str | None = None, reason: str | None = None, message_ids: set[str] | None = None
    ) -> list[ParkedMessage]:
        chosen = [p for p in self.messages if self._wanted(p, tenant_id, reason, message_ids)]
        self.messages = [p for p in self.messages if p not in chosen]
        self.moved += [p.message_id for p in chosen]
        return chosen


class FakeTenants:
    def __init__(self, *tenants: Tenant) -> None:
        self.items = {t.instance_id: t for t in tenants}

    def get(self, instance_id: str) -> Tenant | None:
        return self.items.get(instance_id)

    def put(self, tenant: Tenant) -> None:
        self.items[tenant.instance_id] = tenant


def tenant(instance_id: str, **settings: object) -> Tenant:
    return Tenant(
        instance_id=instance_id,
        pos=PosConnection(provider="square", merchant_id="M1", location_id=f"L-{instance_id}"),
        settings=TenantSettings.model_validate(settings),
        created_at="2026-12-01T00:00:00Z",
        updated_at="2026-12-01T00:00:00Z",
    )


def test_a_retry_of_everything_redrives_only_the_sites_own_messages() -> None:
    # Given parked messages of two sites
    dlq = FakeDeadLetters([parked("a1", SITE_A), parked("b1", SITE_B), parked("a2", SITE_A, "tenant_paused")])
    # When site A's owner retries all
    moved = page.retry_parked(SITE_A, None, dlq)
    # Then A's messages go back to work and B's stay parked
    assert sorted(moved) == ["a1", "a2"]
    assert [p.message_id for p in dlq.messages] == ["b1"]


def test_a_retry_naming_another_sites_message_moves_nothing() -> None:
    # Given B's parked message, whose id A's page somehow learned
    dlq = FakeDeadLetters([parked("b1", SITE_B)])
    # When A's page asks to retry it by id
    moved = page.retry_parked(SITE_A, {"b1"}, dlq)
    # Then nothing moves: the site filter is A's own, whatever the ids say
    assert moved == [] and [p.message_id for p in dlq.messages] == ["b1"]


def test_parked_messages_are_listed_for_the_site_in_plain_words_without_the_error_text() -> None:
    # Given parked messages of both sites
    dlq = FakeDeadLetters([parked("a1", SITE_A, "tenant_paused"), parked("b1", SITE_B)])
    # When A's page lists them
    [row] = page.parked_view(SITE_A, dlq, SQUARE)
    # Then it shows only A's, what it was, when, and why in words; never the worker's error text
    assert row["messageId"] == "a1" and row["what"] == "Online order approved"
    assert row["at"] == "2025-12-06T12:00:00Z"
    assert row["reason"].startswith("Your restaurant was paused") and row["reasonCode"] == "tenant_paused"
    assert "Square POST" not in str(row)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("square_revoked_by_merchant", "You revoked the app's access in your Square Dashboard."),
        ("square_revoked_by_square", "Square revoked the app's access to your account."),
        (
            "tenant_paused",
            "Your restaurant was paused when it arrived (for example, Square access was revoked). "
            "Reconnect Square, then retry.",
        ),
        ("square_invalid_value", "Square refused it (invalid_value)."),
        ("wix_permission_denied", "Wix refused it (permission_denied)."),
        ("something_new", "It could not be sent (something_new)."),
    ],
)
def test_every_reason_code_reads_as_words(code: str, words: str) -> None:
    assert page.plain_reason(code, SQUARE) == words


def test_orders_read_as_where_they_stand_both_ways() -> None:
    # Given an online order paid, one to collect, one skipped, and a POS order moved along by the kitchen
    rows = [
        OrderActivity("wix_to_pos", NOW, "w1", "p1", "sent", wix_status="Accepted"),
        OrderActivity("wix_to_pos", NOW, "w2", "p2", "sent", to_collect_minor=1250),
        OrderActivity("wix_to_pos", NOW, "w3", None, "skipped", skip_reason="no_restaurant_lines"),
        OrderActivity("pos_to_wix", NOW, "w4", "p4", "imported", wix_status="Ready"),
        OrderActivity("pos_to_wix", NOW, "w5", "p5", "imported", wix_canceled=True),
    ]
    # When the page shows them
    view = page.orders_view(rows, SQUARE)
    # Then each says where it stands
    assert [v["state"] for v in view] == [
        "sent to Square, paid", "sent to Square, to collect at handover", "not sent", "in Wix", "canceled"
    ]  # fmt: skip
    assert view[0]["kitchenStatus"] == "Accepted" and view[3]["kitchenStatus"] == "Ready"
    assert view[2]["reasonCode"] == "no_restaurant_lines" and view[2]["reason"]
    assert view[0]["at"] == "2026-12-06T12:00:00Z"


def test_the_owner_changes_the_export_settings_and_the_operators_stay() -> None:
    # Given a tenant whose operator chose custom POS lines and a Wix location
    tenants = FakeTenants(tenant(SITE_A, unmapped_pos_lines="custom", wix_location_id="loc-1"))
    # When the owner chooses export on creation and no unpaid orders
    answer = page.change_export_settings(SITE_A, page.ExportSettings("created", False), tenants, NOW)
    # Then those two change, the operator's settings stay, and the page reads them back
    stored = tenants.items[SITE_A]
    assert (stored.settings.export_on, stored.settings.export_unpaid) == ("created", False)
    assert (stored.settings.unmapped_pos_lines, stored.settings.wix_location_id) == ("custom", "loc-1")
    assert answer == page.export_settings(SITE_A, tenants) == {"exportOn": "created", "exportUnpaid": False}


def test_a_site_without_a_connection_has_no_settings_to_change() -> None:
    with pytest.raises(page.NotConnected):
        page.change_export_settings(SITE_B, page.ExportSettings("created", True), FakeTenants(), NOW)
    removed = tenant(SITE_A).model_copy(update={"status": "removed"})
    with pytest.raises(page.NotConnected):
        page.export_settings(SITE_A, FakeTenants(removed))


def test_the_catalog_health_lists_failed_items_and_wix_edits_with_who_won() -> None:
    # Given the last sync's summary: one item Wix refused, two edited in Wix (one overwritten, one kept)
    state = {
        "cursor": "2026-12-06T11:00:00Z",
        "last": {
            "outcome": "partial",
            "errors": [{"kind": "item", "posKind": "ITEM", "posId": "I1", "code": "INVALID", "message": "bad name"}],
            "wix_edits": [
                {"kind": "item", "wix_id": "w1", "pos_kind": "ITEM", "pos_id": "I2", "fields": ["name"], "kept": "pos"},
                {"kind": "item", "wix_id": "w2", "pos_kind": "ITEM", "pos_id": "I3", "fields": [], "kept": "wix"},
            ],
        },
    }
    # When the page shows the catalog's health
    view = page.catalog_view(state, running_job_id=None, pos=SQUARE)
    # Then it lists them, and who won each conflict
    assert view["lastOutcome"] == "partial" and view["failedItems"][0]["posId"] == "I1"
    assert [e["kept"] for e in view["editedInWix"]] == ["Square's version", "your Wix edit"]


def test_the_words_name_the_sites_own_pos_never_square_for_another() -> None:
    # Given a site connected to another provider (acme, "Acme POS")
    acme = page.PosName("acme", "Acme POS")
    # Then its reason codes, its own refusals and revocations, and its orders read in its name
    assert page.plain_reason("missing_pos_credentials", acme) == (
        "There was no working Acme POS access for your restaurant. Reconnect Acme POS, then retry."
    )
    assert page.plain_reason("acme_invalid_value", acme) == "Acme POS refused it (invalid_value)."
    assert page.plain_reason("acme_revoked_by_acme", acme) == "Acme POS revoked the app's access to your account."
    assert page.plain_reason("square_invalid_value", acme) == "It could not be sent (square_invalid_value)."
    [row] = page.orders_view([OrderActivity("wix_to_pos", NOW, "w1", "p1", "sent")], acme)
    assert row["state"] == "sent to Acme POS, paid"
    # And a parked event type that is not one the page knows shows as it came (braces and all, never formatted)
    dlq = FakeDeadLetters([parked("a1", SITE_A), parked("a2", SITE_A)])
    dlq.messages[0] = dlq.messages[0].model_copy(update={"event_type": "order.created"})
    dlq.messages[1] = dlq.messages[1].model_copy(update={"event_type": "acme.{odd}"})
    assert [r["what"] for r in page.parked_view(SITE_A, dlq, acme)] == ["Order rung up on Acme POS", "acme.{odd}"]
