"""`make up` (issue 15 point 6): the devstack starts with the demo restaurant connected through OAuth and its menu
imported, and the printed `posbridge sandbox ...` commands play the customer, the cashier, the kitchen and the seller
on it, with the bridge doing its work in between."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from devstack.app import Devstack
from devstack.playground import guide, open_restaurant
from posbridge_cli.main import app
from tests.e2e.conftest import wait_for


def posbridge(*args: str) -> str:
    """Run the CLI; answers its output with the whitespace taken out (the console wraps long lines)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return "".join(result.output.split())


def test_make_up_opens_a_connected_restaurant_with_its_menu_and_the_printed_commands_play_it(
    devstack: Devstack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = httpx.Client(timeout=30)
    gateway = devstack.gateway_url
    suffix = uuid.uuid4().hex[:8].upper()  # the session's devstack also runs the demo's own restaurant
    instance_id, merchant_id, location_id = f"play-{suffix}", f"MPLAY{suffix}", f"LPLAY{suffix}"
    site, seller = ("--tenant", instance_id), ("--merchant", merchant_id)
    # When the devstack opens the demo restaurant, as `make up` does
    opened = open_restaurant(devstack, http, instance_id, merchant_id, location_id)
    # Then it is connected through OAuth to its location, its menu imported, and the page's URL opens its page
    assert opened["import"]["status"] == "succeeded" and opened["import"]["done"] == opened["import"]["total"] > 0
    instance = parse_qs(urlsplit(opened["pageUrl"]).query)["instance"][0]
    owner = {"Authorization": f"Instance {instance}"}
    view = http.get(f"{gateway}/restaurant/connection", headers=owner).json()
    assert (view["status"], view["method"], view["merchantId"], view["locationId"], view["providerName"]) == (
        "connected", "oauth", merchant_id, location_id, "Square"
    )  # fmt: skip
    # (the page names its POS from that view: its HTML carries the placeholders page.js fills)
    assert '<span class="pos-name">POS</span> sync' in http.get(opened["pageUrl"]).text
    printed = guide(opened["pageUrl"], opened["import"])
    assert opened["pageUrl"] in printed and "posbridge sandbox order" in printed

    # Given the CLI run where `make up` wrote the endpoints
    devstack.write_endpoints(tmp_path / ".devstack" / "endpoints.json")
    monkeypatch.chdir(tmp_path)
    assert "MargheritaPizza:Small12.00,Large16.00" in posbridge("sandbox", "menu", *site)

    # When a customer orders online: Then it reaches Square
    ordered = posbridge("sandbox", "order", "Margherita Pizza", "--size", "Large", "--quantity", "2", *site, *seller)
    wix_order = re.search(r"Wixorder([0-9a-f-]{36})placed", ordered).group(1)  # type: ignore[union-attr]
    assert re.search(r"onSquareasorder(\w+):", ordered), ordered
    mapping = wait_for(
        lambda: (
            (r := http.get(f"{gateway}/admin/tenants/{instance_id}/orders/{wix_order}")).status_code == 200 and r.json()
        )
    )
    assert mapping["status"] == "exported" and mapping["lineSources"] == {
        line: "catalog:mapped" for line in mapping["lines"]
    }  # the dish went to Square as its catalog variation

    # When the cashier rings a bowl of soup up and the kitchen accepts it: Then Wix has it, accepted
    rung = posbridge("sandbox", "ring-up", "Tomato Soup", "--size", "Bowl", *seller)
    pos_order = re.search(r"Squareorder(\w+)rungup", rung).group(1)  # type: ignore[union-attr]
    wait_for(lambda: http.get(f"{gateway}/admin/tenants/{instance_id}/pos-orders/{pos_order}").status_code == 200)
    posbridge("sandbox", "kitchen", pos_order, "--state", "RESERVED", *seller)
    wait_for(
        lambda: (
            http.get(f"{gateway}/admin/tenants/{instance_id}/pos-orders/{pos_order}").json().get("wixStatus")
            == "Accepted"
        )
    )

    # When the seller raises a price on Square: Then the Wix menu follows
    posbridge("sandbox", "price", "Margherita Pizza", "--size", "Large", "--amount", "17.50", *seller)
    wait_for(lambda: "Large17.50" in posbridge("sandbox", "menu", *site), timeout_s=30)
    http.close()
