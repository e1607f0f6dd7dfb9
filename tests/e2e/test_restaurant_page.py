"""The restaurant's page in a real browser (issue 15): headless Chromium (Debian's, driven by Playwright) against the
devstack. The owner opens the page from the Wix dashboard (the Wix sandbox signs the instance), connects Square
through OAuth, picks the location, imports the menu and watches it to the end, sees an order arrive, retries a parked
one, changes the export settings and sees a revoked connection; a tampered instance, or another site's, shows nothing.

`-m browser` selects these tests; `make test` runs them with the rest. The run saves docs/restaurant-page.png.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from devstack.app import Devstack
from tests.e2e.conftest import Restaurant

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (make test installs it); Playwright downloads no browser
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "restaurant-page.png"
# The machine has no network but the registries: Chromium's own background calls would only be refused.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SOUP = {"kind": "restaurant", "name": "Minestrone", "price": "7.25", "quantity": 1}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: run `make test` (it installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_dashboard(devstack: Devstack, http: httpx.Client, instance_id: str) -> dict[str, str]:
    """The owner opens the app's dashboard page: Wix adds the signed instance (and the sandbox a tampered copy)."""
    opened = http.post(f"{devstack.wix_url}/_sandbox/instances/{instance_id}/dashboard", json={})
    opened.raise_for_status()
    return dict(opened.json())


def page_url(devstack: Devstack, instance: str) -> str:
    return f"{devstack.gateway_url}/restaurant/page?instance={instance}"


def test_an_owner_connects_imports_watches_orders_retries_and_sees_a_revoke(
    devstack: Devstack, browser: Browser
) -> None:
    suffix = uuid.uuid4().hex[:10]
    instance_id, merchant_id, location_id = f"page-{suffix}", f"MP{suffix.upper()}", f"LP{suffix.upper()}"
    http = httpx.Client(timeout=30)
    square = devstack.pos_url
    # Given a Wix site with the app and a Square seller with a menu, whose events go to the application's subscription
    http.post(f"{devstack.wix_url}/_sandbox/instances", json={"instanceId": instance_id}).raise_for_status()
    http.post(
        f"{square}/_sandbox/merchants",
        json={"merchantId": merchant_id, "locationId": location_id, "accessToken": f"personal-{suffix}",
              "signatureKey": devstack.options.square_webhook_signature_key,
              "notificationUrl": devstack.square_webhook_url},
    ).raise_for_status()  # fmt: skip
    http.post(f"{square}/_sandbox/merchants/{merchant_id}/seed-catalog").raise_for_status()
    http.put(f"{square}/_sandbox/oauth/signed-in", json={"merchantId": merchant_id}).raise_for_status()
    instance = open_dashboard(devstack, http, instance_id)["instance"]
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())

    # When the owner opens the page from the dashboard
    page.goto(page_url(devstack, instance))
    # Then it says Square is not connected, and nothing can be imported yet
    expect(page.locator("#connection-status")).to_have_text("Square is not connected.")
    expect(page.get_by_role("button", name="Import my menu")).to_be_disabled()

    # When the owner connects Square: Square's authorize page opens in a new tab and approves
    with context.expect_page() as opened:
        page.get_by_role("button", name="Connect Square").click()
    square_tab = opened.value
    expect(square_tab.locator("h1")).to_have_text("Square is connected", timeout=20_000)
    square_tab.close()
    # Then the page follows by itself and offers the seller's locations; the owner picks one with the keyboard
    location = page.get_by_label("Square location of this restaurant")
    expect(location).to_be_focused(timeout=20_000)
    expect(location.locator("option")).to_have_count(1)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#connection-status")).to_have_text("Connected: orders and menu changes flow.")
    expect(page.locator("#connection-details")).to_contain_text(location_id)

    # When the owner imports the menu: the progress shows each step, then the end
    page.get_by_role("button", name="Import my menu").click()
    status = page.locator("#import-status")
    expect(status).to_contain_text("Importing:", timeout=20_000)
    expect(status).to_contain_text("Your menu is imported", timeout=120_000)
    done, total = re.search(r"(\d+) of (\d+) menu entries", status.inner_text()).groups()  # type: ignore[union-attr]
    assert done == total and int(total) > 0
    menus = http.get(f"{devstack.wix_url}/_sandbox/instances/{instance_id}/state").json()["menus"]
    assert [m["name"] for m in menus if m.get("visible", True)]  # the menu customers see is the imported one

    # When a customer orders on the Wix site
    order_id = checkout(http, devstack, instance_id)
    # Then it shows under the recent orders as sent to Square, paid (the page refreshes by itself)
    row = page.locator("#orders tbody tr", has=page.locator(f'td[title="{order_id}"]'))
    expect(row).to_contain_text("Online → Square", timeout=30_000)
    expect(row).to_contain_text("sent to Square, paid")

    # When Square refuses the next order (an invalid request: no retry helps), it is parked with the reason
    http.post(f"{square}/_sandbox/faults", json={"path": "/v2/orders", "method": "POST", "status": 400, "times": 1})
    parked_id = checkout(http, devstack, instance_id)
    parked_row = page.locator("#parked tbody tr", has=page.locator(f'td[title="{parked_id}"]'))
    expect(parked_row).to_contain_text("Square refused it", timeout=30_000)
    # And when the owner retries it (Square accepts it now), it goes through and leaves the parked list
    page.get_by_role("button", name=re.compile(f"Retry .*{parked_id}")).click()
    expect(page.locator("#notice")).to_contain_text("Sent again: 1")
    retried = page.locator("#orders tbody tr", has=page.locator(f'td[title="{parked_id}"]'))
    expect(retried).to_contain_text("sent to Square", timeout=30_000)
    expect(page.locator("#parked-empty")).to_be_visible()

    # When the owner sends orders as soon as they are placed
    page.get_by_label("as soon as it is placed").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).to_contain_text("as soon as placed")
    tenant = http.get(f"{devstack.gateway_url}/admin/tenants/{instance_id}").json()
    assert tenant["settings"]["exportOn"] == "created"
    # And every control on the page has a name a screen reader reads (a label, its text or an aria-label)
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll("button, input, select")]
              .filter((c) => c.offsetParent !== null)
              .filter((c) => !(c.labels.length || c.getAttribute("aria-label")
                               || (c.tagName === "BUTTON" && c.innerText.trim())))
              .map((c) => c.outerHTML)"""
    )
    assert unnamed == []
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # When the Square access is 9 days old (the daily refresh failed for a while)
    age_token(devstack, instance_id, days=9)
    # Then the page says it expires soon and offers to reconnect, while orders still flow
    expect(page.locator("#connection-status")).to_contain_text("expires soon", timeout=30_000)
    expect(page.get_by_role("button", name="Reconnect Square")).to_be_visible()
    expect(page.get_by_role("button", name="Import my menu")).to_be_enabled()

    # When the seller revokes the application in the Square Dashboard
    http.post(
        f"{square}/_sandbox/oauth/revoke",
        json={"applicationId": devstack.options.square_application_id, "merchantId": merchant_id},
    ).raise_for_status()
    # Then the page shows the connection revoked, why, and offers to reconnect
    expect(page.locator("#connection-status")).to_contain_text("Square access ended", timeout=30_000)
    expect(page.locator("#connection-status")).to_contain_text("You revoked the app's access")
    expect(page.get_by_role("button", name="Reconnect Square")).to_be_visible()
    expect(page.get_by_role("button", name="Import my menu")).to_be_disabled()

    # When a customer orders meanwhile: its events are parked, and the page says why in words
    waiting_id = checkout(http, devstack, instance_id)
    waiting = page.locator("#parked tbody tr", has=page.locator(f'td[title="{waiting_id}"]'))  # placed, approved
    expect(waiting.first).to_contain_text("Your restaurant was paused", timeout=30_000)
    # When the owner reconnects (Square approves again) and picks the location
    with context.expect_page() as opened:
        page.get_by_role("button", name="Reconnect Square").click()
    expect(opened.value.locator("h1")).to_have_text("Square is connected", timeout=20_000)
    opened.value.close()
    expect(page.get_by_label("Square location of this restaurant")).to_be_focused(timeout=20_000)
    page.get_by_role("button", name="Use this location").click()
    expect(page.locator("#connection-status")).to_have_text("Connected: orders and menu changes flow.")
    # And retries everything parked: the order goes through
    page.get_by_role("button", name="Retry all").click()
    sent = page.locator("#orders tbody tr", has=page.locator(f'td[title="{waiting_id}"]'))
    expect(sent).to_contain_text("sent to Square", timeout=30_000)  # with the new token, not the revoked one
    context.close()
    http.close()


def test_a_tampered_instance_or_another_site_sees_nothing(
    devstack: Devstack, browser: Browser, restaurant: Restaurant
) -> None:
    # Given a restaurant with an order sent to Square, and another site with the app
    order_id = restaurant.checkout([SOUP])["order"]["id"]
    restaurant.wait_mapping(order_id)
    other = f"other-{uuid.uuid4().hex[:8]}"
    http = restaurant.http
    http.post(f"{devstack.wix_url}/_sandbox/instances", json={"instanceId": other}).raise_for_status()
    opened = open_dashboard(devstack, http, restaurant.instance_id)
    context = browser.new_context()
    page = context.new_page()
    answers: list[tuple[str, int]] = []
    page.on("response", lambda r: answers.append((r.url, r.status)) if "/restaurant/" in r.url else None)

    # When the page is opened with the restaurant's instance whose data was changed (signature kept)
    page.goto(page_url(devstack, opened["tampered"]))
    # Then every API call is refused, the page says to reopen it from Wix, and nothing of any site is shown
    expect(page.locator("#notice")).to_contain_text("could not be verified")
    expect(page.locator("#content")).to_be_hidden()
    api_answers = [status for url, status in answers if not re.search(r"/restaurant/page(\.js|\.css)?(\?|$)", url)]
    assert api_answers and set(api_answers) == {401}
    assert restaurant.merchant_id not in page.content() and order_id not in page.content()

    # When the other site's owner opens its own page
    page.goto(page_url(devstack, open_dashboard(devstack, http, other)["instance"]))
    # Then it sees its own state: not connected, no orders (never the restaurant's)
    expect(page.locator("#connection-status")).to_have_text("Square is not connected.")
    expect(page.locator("#orders-empty")).to_be_visible()
    assert order_id not in page.content() and restaurant.merchant_id not in page.content()

    # And the restaurant's own page shows its order
    page.goto(page_url(devstack, opened["instance"]))
    expect(page.locator("#orders")).to_contain_text(order_id[:12])
    context.close()


def age_token(devstack: Devstack, instance_id: str, days: int) -> None:
    """The connection's access token as if obtained `days` ago (its record, as the token refresh reads it)."""
    assert devstack.stack is not None
    dynamodb, table = devstack.stack.client("dynamodb"), devstack.stack.output("MappingsTableName")
    key = {"PK": {"S": "SQUAREOAUTH"}, "SK": {"S": instance_id}}
    item = dynamodb.get_item(TableName=table, Key=key)["Item"]
    record = json.loads(item["connection"]["S"])
    record["token_issued_at"] = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    dynamodb.put_item(TableName=table, Item={**item, "connection": {"S": json.dumps(record)}})


def checkout(http: httpx.Client, devstack: Devstack, instance_id: str) -> str:
    body: dict[str, Any] = {"lines": [SOUP], "buyer": {"firstName": "Ada", "email": "ada@example.com"}, "approve": True}
    placed = http.post(f"{devstack.wix_url}/_sandbox/instances/{instance_id}/checkout", json=body)
    placed.raise_for_status()
    return str(placed.json()["order"]["id"])
