"""Flow 4, Publish: the visibility switch, then the mapping committed and Flow 5's cursor set."""

from __future__ import annotations

from typing import Any

from posbridge.domain.catalog import PosKind
from posbridge.domain.catalog_job import (
    ImportJob,
)
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.errors import PermanentError, TransientError
from posbridge.flows.catalog_plan import BUILD_ORDER, Plan, PlanNode
from posbridge.flows.catalog_publish.build import _created, _sweep_all
from posbridge.flows.catalog_publish.job import Deps, Step
from posbridge.ports.wix import BULK_MAX, Outcome, WixMenusApi

# --- Publish ------------------------------------------------------------------------------------------------------


def publish(deps: Deps, job_id: str) -> dict[str, Any]:
    """The one visible moment: new menus shown, then the old hidden; then the mapping committed."""
    step = Step(deps, job_id, "Publish")
    plan = step.plan()
    target = step.target()
    if step.job.in_doubt and not step.job.swept:
        _sweep_all(step, plan)
        step.update(lambda j: setattr(j, "swept", True))
    created = _created(step, BUILD_ORDER[-1])
    new_menus = [created[n.key] for n in plan.nodes["menu"] if n.key in created]
    if not new_menus:
        raise PermanentError("nothing_to_publish", "no menu of the new catalog could be created")
    api = step.api
    old = {m["id"]: m.get("revision") for m in target["hide"]}
    revisions = {m["id"]: m.get("revision") for m in new_menus} | old
    visible = {m["id"]: False for m in new_menus} | dict.fromkeys(old, True)
    if step.job.publish_started:  # a retry: what is visible now, at which revision
        current = {m["id"]: m for m in api.by_ids("menu", list(revisions))}
        revisions = {i: m.get("revision") for i, m in current.items()}
        visible = {i: bool(m.get("visible", True)) for i, m in current.items()}
    step.update(lambda j: setattr(j, "publish_started", True))

    shown, failed = _flip(api, [m["id"] for m in new_menus if not visible.get(m["id"])], True, revisions)
    live = [m["id"] for m in new_menus if visible.get(m["id"]) or m["id"] in shown]
    if not live:
        raise TransientError(f"no new menu could be made visible ({failed[0] if failed else 'unknown'})")
    hidden, not_hidden = _flip(api, [i for i in old if visible.get(i)], False, revisions)
    warnings = [f"menu {m['id']} could not be shown: {m['code']}" for m in failed]
    warnings += [f"old menu {m['id']} could not be hidden: {m['code']}" for m in not_hidden]
    for menu in new_menus:
        if menu["id"] in shown:
            menu["revision"] = shown[menu["id"]]
    mapping = build_mapping(plan, created)

    def committing(j: ImportJob) -> None:
        j.mapping_started = True
        j.warnings = [*j.warnings, *(w for w in warnings if w not in j.warnings)]

    step.update(committing)
    deps.mappings.replace(step.job.instance_id, mapping)
    deps.mappings.save_layout(step.job.instance_id, step.job.options.menu_name, step.job.options.uncategorized_name)
    deps.blobs.put_json(step.key("unused.json"), _unused(plan, created))
    step.update(lambda j: setattr(j, "published", True))
    _start_sync_at_snapshot(deps, step.job)
    return {"shown": len(live), "hidden": len(hidden), "mapped": len(mapping)}


def _start_sync_at_snapshot(deps: Deps, job: ImportJob) -> None:
    """The mapping now says what Wix shows: the POS catalog as of the snapshot. Flow 5 can start from there (changes
    made later, during the import too, are newer and come back to it) instead of reading the whole catalog.

    Only once `published` is recorded: before that a Rollback can restore the previous mapping, which the cursor must
    still describe. Never backwards (a conditional write; a re-run writes the same value)."""
    if job.published and job.snapshot_as_of:
        deps.cursors.advance(job.instance_id, job.snapshot_as_of)


def _flip(
    api: WixMenusApi, ids: list[str], visible: bool, revisions: dict[str, Any]
) -> tuple[dict[str, str | None], list[dict[str, str]]]:
    """Set `visible` on menus (100 per call). A failure (a stale revision, mostly) is re-read: done if the menu is
    already as wanted, else tried once more with its current revision; a menu that no longer exists is left alone.
    Returns ({id: new revision}, failures)."""
    done: dict[str, str | None] = {}
    failed: list[dict[str, str]] = []
    for start in range(0, len(ids), BULK_MAX):
        chunk = ids[start : start + BULK_MAX]
        retry: list[str] = []
        for menu_id, outcome in zip(chunk, _update_visible(api, chunk, visible, revisions), strict=True):
            if outcome.ok:
                done[menu_id] = outcome.revision
            elif outcome.code != "NOT_FOUND":
                retry.append(menu_id)
        if not retry:
            continue
        current = {m["id"]: m for m in api.by_ids("menu", retry)}
        again = [i for i in retry if i in current and bool(current[i].get("visible", True)) != visible]
        done |= {i: current[i].get("revision") for i in retry if i in current and i not in again}
        fresh = {i: current[i].get("revision") for i in again}
        for menu_id, outcome in zip(again, _update_visible(api, again, visible, fresh), strict=True):
            if outcome.ok:
                done[menu_id] = outcome.revision
            else:
                failed.append({"id": menu_id, "code": outcome.code})
    return done, failed


def _update_visible(api: WixMenusApi, ids: list[str], visible: bool, revisions: dict[str, Any]) -> list[Outcome]:
    if not ids:
        return []
    return api.bulk_update(
        "menu", [({"id": i, "revision": revisions.get(i), "visible": visible}, ["visible"]) for i in ids]
    )


def build_mapping(plan: Plan, created: dict[str, dict[str, Any]]) -> list[CatalogMapping]:
    """Every POS entity that made it to Wix -> its Wix id(s), revision and content hash."""
    mapping: list[CatalogMapping] = []
    categories: dict[str, list[PlanNode]] = {}
    for kind in BUILD_ORDER:
        for node in plan.nodes.get(kind, []):
            if node.key not in created:
                continue
            if node.pos_kind == "CATEGORY":
                categories.setdefault(node.pos_id, []).append(node)
            elif node.pos_kind != "VARIANT":
                own = _mapping(plan, node.pos_kind, node.pos_id, [node], created)
                if node.kind == "item":
                    own = own.model_copy(update={"placement": plan.placements.get(node.pos_id)})
                mapping.append(own)
    for pos_id, nodes in categories.items():
        nodes.sort(key=lambda n: (n.kind != "menu", n.key))
        mapping.append(_mapping(plan, "CATEGORY", pos_id, nodes, created))
    for entry in plan.variations:
        item = created.get(entry.item_key)
        if item is None:
            continue
        variant = created.get(entry.variant_key) if entry.variant_key else None
        if entry.variant_key and variant is None:
            continue
        main = variant or item
        mapping.append(
            CatalogMapping(
                pos_kind="VARIANT",
                pos_id=entry.pos_id,
                wix_id=main["id"],
                wix_kind="variant" if variant else "item",
                revision=main.get("revision"),
                content_hash=plan.hashes.get(f"VARIANT#{entry.pos_id}", ""),
                wix_entities=(f"variant/{variant['id']}",) if variant else (),
                wix_item_id=item["id"],
                wix_menu_id=(created.get(entry.menu_key or "") or {}).get("id"),
                wix_section_id=(created.get(entry.section_key or "") or {}).get("id"),
                wix_variant_id=variant["id"] if variant else None,
                variant_hash=plan.hashes.get(f"VARIANT_NAME#{entry.pos_id}"),
                price_hash=plan.hashes.get(f"PRICE#{entry.pos_id}"),
            )
        )
    return mapping


def _mapping(
    plan: Plan, pos_kind: PosKind, pos_id: str, nodes: list[PlanNode], created: dict[str, dict[str, Any]]
) -> CatalogMapping:
    main = created[nodes[0].key]
    return CatalogMapping(
        pos_kind=pos_kind,
        pos_id=pos_id,
        wix_id=main["id"],
        wix_kind=nodes[0].kind,
        revision=main.get("revision"),
        content_hash=plan.hashes.get(f"{pos_kind}#{pos_id}", ""),
        wix_entities=tuple(f"{n.kind}/{created[n.key]['id']}" for n in nodes),
    )


def _unused(plan: Plan, created: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Created entities nothing created refers to (their user was rejected): Cleanup deletes them too."""
    # A variant is kept while its item exists, offered or not (a sold-out size waits to be back in stock).
    used = {v.variant_key for v in plan.variations if v.variant_key and v.item_key in created}
    for kind in BUILD_ORDER:
        for node in plan.nodes.get(kind, []):
            if node.key in created:
                used |= {r.key for r in node.refs if r.key in created}
    unused: dict[str, list[str]] = {}
    for kind in BUILD_ORDER:
        if kind == "menu":
            continue
        for node in plan.nodes.get(kind, []):
            if node.key in created and node.key not in used:
                unused.setdefault(kind, []).append(created[node.key]["id"])
    return unused
