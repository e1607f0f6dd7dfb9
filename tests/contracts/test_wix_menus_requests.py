"""Menus (New) requests: every call posbridge.wix.menus_api makes is the request the official SDK module builds for the
same call, its body conforms to the module's REST request type, and posbridge reads the answer in the shape the
module's REST response type gives it (meta.d.ts: the result keys differ per entity and per call)."""

from __future__ import annotations

from typing import Any

import pytest

from posbridge.flows.catalog_sync import MASKS
from posbridge.ports.wix import WixKind
from posbridge.wix.menus_api import ENTITIES, MenusApi
from tests.contracts.wix_menus import KINDS, LOCATIONS, Sdk, guid, planned_bodies
from tests.contracts.wix_sdk import WixSdk
from tests.contracts.wix_wire import RecordingWix, assert_same_request

pytestmark = pytest.mark.contracts

BODIES = planned_bodies()


def typed_answer(sdk: WixSdk, module: str, type_name: str, answer: dict[str, Any]) -> dict[str, Any]:
    """A canned answer, checked against the REST response type first (a test must not feed a shape Wix never sends)."""
    assert sdk.errors(module, type_name, answer) == []
    return answer


def rest_view(body: dict[str, Any], kind: WixKind) -> dict[str, Any]:
    """meta.d.ts types a FieldMask as string[]; the wire (and the SDK's transformSDKFieldMaskToRESTFieldMask) joins it
    with commas. Split it back to check the rest of the body against the type."""
    e = ENTITIES[kind]
    if e.mask is None:
        return body
    entries = [{**x, e.mask: x[e.mask].split(",")} if isinstance(x.get(e.mask), str) else x for x in body[e.plural]]
    return {**body, e.plural: entries}


# --- bulk create ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_bulk_create_is_the_sdks_request_and_reads_the_typed_answer(wix_sdk: WixSdk, kind: WixKind) -> None:
    # Given the entities the catalog flows build for this kind, and Wix's answer in the module's REST type
    sdk, e = Sdk(kind), ENTITIES[kind]
    entities = BODIES[kind]
    ids = [guid() for _ in entities]
    meta_key, entity_key = e.created
    results = [
        {meta_key: {"id": i, "originalIndex": n, "success": True}, entity_key: {**body, "id": i, "revision": "1"}}
        for n, (i, body) in enumerate(zip(ids, entities, strict=True))
    ]
    answer = typed_answer(wix_sdk, sdk.module, sdk.create_response, {"results": results})
    wire = RecordingWix(lambda request: answer)

    # When posbridge creates them
    outcomes = MenusApi(wire.client()).bulk_create(kind, entities)

    # Then the SDK builds the very same request, the body conforms to the REST type, and every entity is read back
    sent = wire.only()
    assert_same_request(sent, wix_sdk.request(sdk.module, sdk.bulk_create, entities, {"returnEntity": True}))
    assert wix_sdk.errors(sdk.module, sdk.create_request, sent.body) == []
    assert [(o.ok, o.id, o.revision) for o in outcomes] == [(True, i, "1") for i in ids]
    assert [o.entity and o.entity["name"] for o in outcomes] == [b["name"] for b in entities]


def test_a_failed_create_is_read_from_the_kinds_metadata_key(wix_sdk: WixSdk) -> None:
    # Given a menus bulk create where Wix refuses the second menu (menus answer under `menuMetadata`)
    sdk = Sdk("menu")
    menus = [{"name": "Lunch", "visible": False}, {"name": "Dinner", "visible": False}]
    answer = typed_answer(wix_sdk, sdk.module, sdk.create_response, {"results": [
        {"menuMetadata": {"id": guid(), "originalIndex": 0, "success": True}},
        {"menuMetadata": {"originalIndex": 1, "success": False, "error": {"code": "INVALID", "description": "no"}}},
    ]})  # fmt: skip

    # When posbridge creates them
    outcomes = MenusApi(RecordingWix(lambda request: answer).client()).bulk_create("menu", menus)

    # Then each menu has its own outcome, the failure with Wix's code
    assert [(o.ok, o.code) for o in outcomes] == [(True, ""), (False, "INVALID")]


# --- bulk update ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_bulk_update_is_the_sdks_request_and_reads_the_typed_answer(wix_sdk: WixSdk, kind: WixKind) -> None:
    # Given updates as the catalog sync builds them (the body with id and revision, the mask from MASKS)
    sdk, e = Sdk(kind), ENTITIES[kind]
    updates = [({**b, "id": guid(), "revision": "3"}, [f for f in MASKS[kind] if f in b]) for b in BODIES[kind]]
    meta_key, entity_key = e.updated
    results = [
        {meta_key: {"id": body["id"], "originalIndex": n, "success": True}, entity_key: {**body, "revision": "4"}}
        for n, (body, _) in enumerate(updates)
    ]
    answer = typed_answer(wix_sdk, sdk.module, sdk.update_response, {"results": results})
    wire = RecordingWix(lambda request: answer)

    # When posbridge updates them
    outcomes = MenusApi(wire.client()).bulk_update(kind, updates)

    # Then the SDK builds the same request from its own arguments (a mask is an array in SDK calls; variants have
    # none in the REST type), the body conforms to the REST type, and each new revision is read back
    masked = [{kind: body, e.mask: mask} if e.mask else {kind: body} for body, mask in updates]
    sent = wire.only()
    assert_same_request(sent, wix_sdk.request(sdk.module, sdk.bulk_update, masked, {"returnEntity": True}))
    assert wix_sdk.errors(sdk.module, sdk.update_request, rest_view(sent.body, kind)) == []
    assert [(o.ok, o.id, o.revision) for o in outcomes] == [(True, b["id"], "4") for b, _ in updates]


def test_a_mask_travels_as_one_comma_joined_string(wix_sdk: WixSdk) -> None:
    # Given Publish showing a menu (mask: visible) as a list of field names
    menu = {"id": guid(), "revision": "2", "visible": True}
    wire = RecordingWix(lambda request: {"results": [{"menuMetadata": {"originalIndex": 0, "success": True}}]})

    # When posbridge sends it
    MenusApi(wire.client()).bulk_update("menu", [(menu, ["visible", "sectionIds"])])

    # Then the mask is the FieldMask's JSON form, the string the SDK sends
    assert wire.only().body["menus"] == [{"menu": menu, "mask": "visible,sectionIds"}]


# --- deletes ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in KINDS if ENTITIES[k].has_bulk_delete])
def test_bulk_delete_is_the_sdks_request_with_ids_in_the_query(wix_sdk: WixSdk, kind: WixKind) -> None:
    # Given two entities to delete, one already gone
    sdk = Sdk(kind)
    ids = [guid(), guid()]
    gone = {"code": "NOT_FOUND", "description": "gone"}
    answer = typed_answer(wix_sdk, sdk.module, sdk.delete_response, {"results": [
        {"itemMetadata": {"id": ids[0], "originalIndex": 0, "success": True}},
        {"itemMetadata": {"id": ids[1], "originalIndex": 1, "success": False, "error": gone}},
    ]})  # fmt: skip
    wire = RecordingWix(lambda request: answer)

    # When posbridge deletes them
    outcomes = MenusApi(wire.client()).delete_many(kind, ids)

    # Then the request is the SDK's (`?ids=a&ids=b`, no body), the ids conform to the REST type, and both count as gone
    sent = wire.only()
    assert_same_request(sent, wix_sdk.request(sdk.module, sdk.bulk_delete, ids))
    assert sent.body is None
    assert wix_sdk.errors(sdk.module, sdk.delete_request, {"ids": [v for k, v in sent.query if k == "ids"]}) == []
    assert [(o.ok, o.id) for o in outcomes] == [(True, ids[0]), (True, ids[1])]


def test_menus_have_no_bulk_delete_in_the_sdk_and_go_one_by_one(wix_sdk: WixSdk) -> None:
    # Given the menus module: it has deleteMenu and no bulkDeleteMenus
    sdk = Sdk("menu")
    with pytest.raises(RuntimeError, match="has no function bulkDeleteMenus"):
        wix_sdk.request(sdk.module, sdk.bulk_delete, [guid()])
    ids = [guid(), guid()]
    wire = RecordingWix(lambda request: {})

    # When posbridge deletes two menus
    outcomes = MenusApi(wire.client()).delete_many("menu", ids)

    # Then it makes deleteMenu's request for each, in order
    assert len(wire.sent) == 2
    for sent, menu_id in zip(wire.sent, ids, strict=True):
        assert_same_request(sent, wix_sdk.request(sdk.module, sdk.delete_one, menu_id))
    assert [o.ok for o in outcomes] == [True, True]


# --- queries ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_query_pages_are_the_sdks_typed_query_requests(wix_sdk: WixSdk, kind: WixKind) -> None:
    # Given two pages of entities, the first with a next cursor, both in the REST response type
    sdk, e = Sdk(kind), ENTITIES[kind]
    first = [{**b, "id": guid(), "revision": "1"} for b in BODIES[kind]]
    second = [{**BODIES[kind][0], "id": guid(), "revision": "1"}]
    pages = [
        {e.plural: first, "pagingMetadata": {"count": len(first), "cursors": {"next": "c2"}, "hasNext": True}},
        {e.plural: second, "pagingMetadata": {"count": 1, "cursors": {}, "hasNext": False}},
    ]
    for page in pages:
        typed_answer(wix_sdk, sdk.module, sdk.query_response, page)
    wire = RecordingWix(lambda request: pages[len(wire.sent) - 1])
    flt = {"createdDate": {"$gte": "2026-01-01T00:00:00.000Z"}}

    # When posbridge reads every match
    found = MenusApi(wire.client()).query(kind, flt)

    # Then each page is the SDK's typedQuery request (the cursor alone after the first), bodies of the REST type
    assert [x["id"] for x in found] == [x["id"] for x in first + second]
    expected = [{"filter": flt, "cursorPaging": {"limit": 500}}, {"cursorPaging": {"limit": 500, "cursor": "c2"}}]
    assert len(wire.sent) == 2
    for sent, query in zip(wire.sent, expected, strict=True):
        assert_same_request(sent, wix_sdk.request(sdk.module, sdk.query, query))
        assert wix_sdk.errors(sdk.module, sdk.query_request, sent.body) == []


@pytest.mark.parametrize("kind", KINDS)
def test_by_ids_is_the_sdks_query_with_an_in_filter(wix_sdk: WixSdk, kind: WixKind) -> None:
    # Given ids to read back
    sdk, e = Sdk(kind), ENTITIES[kind]
    ids = [guid(), guid()]
    wire = RecordingWix(lambda request: {e.plural: [], "pagingMetadata": {"count": 0, "hasNext": False}})

    # When posbridge reads them
    MenusApi(wire.client()).by_ids(kind, ids)

    # Then it is typedQuery with `id $in`
    query = {"filter": {"id": {"$in": ids}}, "cursorPaging": {"limit": 500}}
    assert_same_request(wire.only(), wix_sdk.request(sdk.module, sdk.query, query))


# --- locations --------------------------------------------------------------------------------------------------------


def test_list_locations_is_the_sdks_request(wix_sdk: WixSdk) -> None:
    # Given one page of locations in the REST response type
    location = {"id": guid(), "name": "Main", "default": True, "archived": False, "status": "ACTIVE"}
    answer = {"locations": [location], "pagingMetadata": {"count": 1, "offset": 0, "hasNext": False}}
    wire = RecordingWix(lambda request: typed_answer(wix_sdk, LOCATIONS, "ListLocationsResponse", answer))

    # When posbridge lists the site's active locations
    found = MenusApi(wire.client()).list_locations()

    # Then the request means what listLocations sends (the SDK packs it into `.r`; both forms are toURLSearchParams')
    args = {"includeArchived": False, "paging": {"limit": 1000, "offset": 0}}
    assert_same_request(wire.only(), wix_sdk.request(LOCATIONS, "listLocations", args))
    assert wix_sdk.errors(LOCATIONS, "ListLocationsRequest", args) == []
    assert found == [location]
