"""`make up` starts with a restaurant to play with: the demo restaurant's Wix site, its Square seller with the sample
menu, connected through Square OAuth from its own page's API (as its owner would: the signed Wix instance, Square's
authorize page, the location) and its menu imported (the catalog publish). Then it prints the page's URL and the
commands to act as a customer, the cashier, the kitchen and the seller (`posbridge sandbox ...`, cli/posbridge_cli/
sandbox.py).

Everything goes through the sandboxes' control APIs and the gateway, as people would; nothing reaches into the bridge.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

from devstack.app import Devstack

INSTANCE_ID = "demo-restaurant-0001"
MERCHANT_ID = "MLDEMO0001"
LOCATION_ID = "LDEMO0001"
PERSONAL_TOKEN = "demo-square-personal-token"  # the seller's own token in the sandbox; the bridge gets an OAuth one
IMPORT_TIMEOUT_S = 180


def dashboard_instance(devstack: Devstack, http: httpx.Client, instance_id: str) -> str:
    """The signed instance Wix adds to the app's dashboard page URL when the owner opens it."""
    opened = http.post(f"{devstack.wix_url}/_sandbox/instances/{quote(instance_id, safe='')}/dashboard", json={})
    opened.raise_for_status()
    return str(opened.json()["instance"])


def page_url(gateway_url: str, instance: str) -> str:
    return f"{gateway_url}/restaurant/page?instance={instance}"


def open_restaurant(
    devstack: Devstack,
    http: httpx.Client,
    instance_id: str = INSTANCE_ID,
    merchant_id: str = MERCHANT_ID,
    location_id: str = LOCATION_ID,
) -> dict[str, Any]:
    """Set the demo restaurant up (connected through OAuth, menu imported); answers its page URL and the import."""
    wix, square, gateway = devstack.wix_url, devstack.pos_url, devstack.gateway_url
    http.post(f"{wix}/_sandbox/instances", json={"instanceId": instance_id}).raise_for_status()
    http.post(
        f"{square}/_sandbox/merchants",
        json={"merchantId": merchant_id, "locationId": location_id, "accessToken": PERSONAL_TOKEN,
              # an OAuth-connected seller's events are signed with the application's subscription key
              "signatureKey": devstack.options.square_webhook_signature_key,
              "notificationUrl": devstack.square_webhook_url},
    ).raise_for_status()  # fmt: skip
    http.put(f"{square}/_sandbox/oauth/signed-in", json={"merchantId": merchant_id}).raise_for_status()

    owner = {"Authorization": f"Instance {dashboard_instance(devstack, http, instance_id)}"}
    authorize = http.post(f"{gateway}/restaurant/square/authorize", headers=owner)
    authorize.raise_for_status()
    approved = http.get(authorize.json()["authorizeUrl"])  # the sandbox's authorize page approves at once
    if approved.status_code != 302:
        raise RuntimeError(f"Square's authorize page answered {approved.status_code}: {approved.text[:200]}")
    http.get(approved.headers["location"]).raise_for_status()  # the owner's browser lands on the callback
    chosen = http.put(f"{gateway}/restaurant/square/location", headers=owner, json={"locationId": location_id})
    chosen.raise_for_status()
    # the seller's menu, once connected (its catalog webhook then reaches a known seller)
    http.post(f"{square}/_sandbox/merchants/{merchant_id}/seed-catalog").raise_for_status()

    started = http.post(f"{gateway}/restaurant/catalog-imports", headers=owner)
    started.raise_for_status()
    job_id = started.json()["jobId"]
    deadline = time.monotonic() + IMPORT_TIMEOUT_S
    while True:
        job = http.get(f"{gateway}/restaurant/catalog-imports/{job_id}", headers=owner).json()
        if job["status"] != "running":
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the menu import {job_id} did not finish within {IMPORT_TIMEOUT_S} s")
        time.sleep(0.5)
    if job["status"] != "succeeded":
        raise RuntimeError(f"the menu import {job_id} failed: {job.get('reason')}")
    return {"pageUrl": page_url(gateway, owner["Authorization"].removeprefix("Instance ")), "import": job}


def guide(page: str, job: dict[str, Any]) -> str:
    """What `make up` prints for a newcomer: the page, and how to play each part."""
    return f"""
The demo restaurant ({INSTANCE_ID}) is connected to Square ({MERCHANT_ID}, location {LOCATION_ID}) through OAuth,
and its menu is imported ({job.get("done")} of {job.get("total")} menu entries).

Its page, as the owner opens it from the Wix dashboard (the link is signed for 12 hours; a fresh one:
`posbridge sandbox page`):
  {page}

Play (in another terminal, in this folder: .venv/bin/posbridge, or `source .venv/bin/activate` first):
  as a customer on the Wix site   posbridge sandbox menu
                                  posbridge sandbox order "Margherita Pizza" --size Large --quantity 2
  as the cashier on Square        posbridge sandbox ring-up "Caesar Salad"
  as the kitchen on Square        posbridge sandbox kitchen <square order id> --state PREPARED
                                  (RESERVED = accepted, PREPARED = ready, COMPLETED = picked up)
  as the seller, the menu         posbridge sandbox price "Margherita Pizza" --size Large --amount 17.50
                                  posbridge sandbox rename "Caesar Salad" "Caesar Salad, small"
                                  posbridge sandbox sold-out "Tiramisu"   (--back to sell it again)
  as the seller, the connection   posbridge sandbox revoke   (then "Reconnect Square" on the page)
Then watch the page: orders arrive both ways, menu changes sync, a parked order can be retried.
"""
