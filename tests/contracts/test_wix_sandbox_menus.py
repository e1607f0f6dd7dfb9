"""The Wix sandbox's Menus (New) and Locations answers, driven through the official SDK's own functions: every answer
body conforms to the module's REST response type (meta.d.ts, additionalProperties false: a shape the real API never
uses fails) and the SDK hands its caller a meaningful result. The sandbox's field tables are the packages' types."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from devstack.httpserver import BackgroundServer
from devstack.wix_sandbox import WixSandbox
from devstack.wix_sandbox import menus as sandbox_menus
from posbridge.ports.wix import WixKind
from posbridge.wix.menus_api import ENTITIES
from tests.contracts.wix_menus import KINDS, LOCATIONS, Sdk, bodies_of, sample_plan
from tests.contracts.wix_sdk import WixSdk

pytestmark = pytest.mark.contracts

APP_ID = "5e7b0a52-3c1d-4f8e-9a6b-2d4c6e8f0a1b"
APP_SECRET = "sandbox-secret"


@pytest.fixture(scope="module")
def wix() -> Iterator[tuple[str, dict[str, str]]]:
    """A sandbox over HTTP with one installed site: (base URL, the headers @wix/sdk sends)."""
    box = WixSandbox(APP_ID, APP_SECRET)
    instance = str(uuid.uuid4())
    box.add_instance(instance)
    with BackgroundServer(box.wsgi_app) as server:
        grant = {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET,
                 "instance_id": instance}  # fmt: skip
        token = httpx.post(f"{server.url}/oauth2/token", json=grant).json()["access_token"]
        yield server.url, {"Authorization": token}


def exchange(wix_sdk: WixSdk, wix: tuple[str, dict[str, str]], module: str, fn: str, *args: Any) -> Any:
    """Call the SDK function against the sandbox; the answer must be a 200. Returns what the SDK gave its caller."""
    done = wix_sdk.send(wix[0], wix[1], module, fn, *args)
    assert done.status == 200 and done.error is None, (fn, done.status, done.body)
    return done


def test_every_menus_call_answers_in_the_rest_types(wix_sdk: WixSdk, wix: tuple[str, dict[str, str]]) -> None:
    # Given the flows' plan for a small catalog, built kind by kind in Wix's order (references to what exists)
    plan = sample_plan()
    created: dict[str, str] = {}
    by_kind: dict[WixKind, list[dict[str, Any]]] = {}
    for kind in KINDS:
        sdk, e = Sdk(kind), ENTITIES[kind]
        bodies = bodies_of(plan, kind, created)

        # When posbridge's bulk create runs through the SDK
        done = exchange(wix_sdk, wix, sdk.module, sdk.bulk_create, bodies, {"returnEntity": True})

        # Then the answer is the REST type, and the SDK's result carries each created entity (as `_id`)
        assert wix_sdk.errors(sdk.module, sdk.create_response, done.body) == []
        meta_key, entity_key = e.created
        results = done.result["results"]
        assert [r[meta_key]["success"] for r in results] == [True] * len(bodies)
        assert [r[entity_key]["_id"] for r in results] == [r[meta_key]["_id"] for r in results]
        built = [n for n in plan.nodes[kind] if n.body.get("name") in {b["name"] for b in bodies}]
        created |= {node.key: r[entity_key]["_id"] for node, r in zip(built, results, strict=True)}
        by_kind[kind] = [r[entity_key] for r in results]

    for kind in KINDS:
        sdk, e = Sdk(kind), ENTITIES[kind]
        # When each kind is updated as the catalog sync does it (the mask is an array at the SDK level)
        entities = [{"id": x["_id"], "revision": x["revision"], "name": f"{x['name']} (new)"} for x in by_kind[kind]]
        masked = [{kind: x, e.mask: ["name"]} if e.mask else {kind: x} for x in entities]
        done = exchange(wix_sdk, wix, sdk.module, sdk.bulk_update, masked, {"returnEntity": True})
        # Then the answer is the REST type and the SDK's result holds the new revision under the kind's keys
        assert wix_sdk.errors(sdk.module, sdk.update_response, done.body) == []
        meta_key, entity_key = e.updated
        assert [(r[meta_key]["success"], r[entity_key]["revision"]) for r in done.result["results"]] == [
            (True, str(int(x["revision"]) + 1)) for x in entities
        ]

        # When it is queried back by id, one page then the next cursor
        ids = [x["id"] for x in entities]
        first = exchange(
            wix_sdk, wix, sdk.module, sdk.query, {"filter": {"id": {"$in": ids}}, "cursorPaging": {"limit": 1}}
        )
        # Then the pages are the REST type, and together they hold every entity
        assert wix_sdk.errors(sdk.module, sdk.query_response, first.body) == []
        seen = [x["_id"] for x in first.result[e.plural]]
        cursor = first.body["pagingMetadata"]["cursors"].get("next")
        while cursor:
            page = exchange(wix_sdk, wix, sdk.module, sdk.query, {"cursorPaging": {"limit": 1, "cursor": cursor}})
            assert wix_sdk.errors(sdk.module, sdk.query_response, page.body) == []
            seen += [x["_id"] for x in page.result[e.plural]]
            cursor = page.body["pagingMetadata"]["cursors"].get("next")
        assert sorted(seen) == sorted(ids)

    for kind in reversed(KINDS):
        sdk, e = Sdk(kind), ENTITIES[kind]
        ids = [x["_id"] for x in by_kind[kind]]
        if not e.has_bulk_delete:
            # When menus are deleted one by one (deleteMenu), the answer is DeleteMenuResponse
            for menu_id in ids:
                done = exchange(wix_sdk, wix, sdk.module, sdk.delete_one, menu_id)
                assert wix_sdk.errors(sdk.module, "DeleteMenuResponse", done.body) == []
            continue
        # When the rest are bulk-deleted (ids in the query string), the answer is the REST type, one result per id
        done = exchange(wix_sdk, wix, sdk.module, sdk.bulk_delete, ids)
        assert wix_sdk.errors(sdk.module, sdk.delete_response, done.body) == []
        assert [(r["itemMetadata"]["_id"], r["itemMetadata"]["success"]) for r in done.result["results"]] == [
            (i, True) for i in ids
        ]


def test_list_locations_answers_in_the_rest_type(wix_sdk: WixSdk, wix: tuple[str, dict[str, str]]) -> None:
    # Given a new site (one default location)
    # When posbridge's list_locations runs through the SDK (which packs the query into `.r`)
    args = {"includeArchived": False, "paging": {"limit": 1000, "offset": 0}}
    done = exchange(wix_sdk, wix, LOCATIONS, "listLocations", args)
    # Then the answer is ListLocationsResponse and the SDK's result names the location
    assert wix_sdk.errors(LOCATIONS, "ListLocationsResponse", done.body) == []
    (location,) = done.result["locations"]
    assert uuid.UUID(location["_id"]) and location["default"] is True and location["archived"] is False


# --- the sandbox's field tables are the packages' types --------------------------------------------------------------


def _type_at(definitions: dict[str, Any], root: str, path: list[str]) -> dict[str, Any]:
    """The object type at a dotted path under `root`, through $refs and array items."""
    node: dict[str, Any] = definitions[root]
    for part in path:
        node = node["properties"][part]
        node = node.get("items", node)
        if "$ref" in node:
            node = definitions[unquote(node["$ref"].split("/")[-1])]
    return node


@pytest.mark.parametrize("kind", [k.name for k in sandbox_menus.KINDS])
def test_the_sandboxs_field_tables_are_the_rest_types(wix_sdk: WixSdk, kind: str) -> None:
    # Given the kind's module schema (meta.d.ts)
    sandbox = next(k for k in sandbox_menus.KINDS if k.name == kind)
    sdk = Sdk(kind)  # type: ignore[arg-type]
    definitions = wix_sdk.schema(sdk.module)["definitions"]
    entity = kind[0].upper() + kind[1:]
    # Then every table the sandbox validates with lists exactly the type's fields
    for key, fields in sandbox_menus.FIELDS.items():
        if key.split(".")[0] == kind:
            assert set(_type_at(definitions, entity, key.split(".")[1:])["properties"]) == fields, key
    assert set(definitions[sdk.create_request]["properties"]) == sandbox_menus.BULK_FIELDS | {sandbox.plural}
    assert set(definitions[sdk.update_request]["properties"]) == sandbox_menus.BULK_FIELDS | {sandbox.plural}
    masked = definitions[sdk.update_request]["properties"][sandbox.plural]["items"]["$ref"].split("/")[-1]
    assert set(definitions[masked]["properties"]) == {kind} | ({sandbox.mask} if sandbox.mask else set())
    assert set(definitions[sdk.query_request]["properties"]) == sandbox_menus.QUERY_FIELDS
    assert set(definitions["CursorQuery"]["properties"]) == sandbox_menus.CURSOR_QUERY_FIELDS
    assert set(definitions["CursorPaging"]["properties"]) == sandbox_menus.CURSOR_PAGING_FIELDS
    # And its bulk answers use the type's keys
    results = definitions[sdk.create_response]["properties"]["results"]["items"]["$ref"].split("/")[-1]
    assert set(definitions[results]["properties"]) == set(sandbox.created)
    results = definitions[sdk.update_response]["properties"]["results"]["items"]["$ref"].split("/")[-1]
    assert set(definitions[results]["properties"]) == set(sandbox.updated)
