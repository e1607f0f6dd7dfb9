"""Flow 5: POS catalog changes -> Wix menus, incrementally: only what changed is written.

One sync per tenant at a time (the catalog work queue's FIFO group is tenant + "catalog"), triggered by a POS catalog
webhook (a burst collapses: dedup on the catalog version's updated_at, and a sync that finds nothing new since the
cursor is a no-op) or by the scheduled reconciliation (`full=True`).

  1. Never while the tenant's catalog import holds CATALOGIMPORT#LOCK (SyncDeferred: the message comes back later).
  2. Ask the POS what changed since the tenant's cursor (Square Search Catalog `begin_time`, deleted objects
     included); nothing: done.
  3. Read only what changed: those items and modifier groups from the POS (with the groups the items use) and the
     mapping entries of them, their variations and modifiers (BatchGetItem), mapped to the canonical model and
     planned exactly as the import does (flows/catalog_plan.py); then diff the plan's content hashes against the
     mapping's. The whole POS catalog and the whole mapping are read instead where only they can tell what a change
     touched (`_narrow` says when: a category changed, an item joined, left or moved between sections, a modifier
     group went away), when a lost create must be swept (the sweep must know every mapped id), when there is no
     cursor (an import's Publish sets it to its snapshot's POS time, so only a POS that gave none leaves it unset),
     and for the reconciliation (`full=True`), which also reads every mapped Wix entity: one whose revision is not
     the mapping's was edited in Wix (drift) and is written again.
  4. Too many changes (`max_changes`), or a change of shape the import owns (a new or removed menu or section, a
     section or menu split differently, an item going from one price to several or back, an entity deleted in Wix):
     the draft catalog publish is started instead of writing in place.
  5. Otherwise, in Wix's dependency order: creates (variants, modifiers, modifier groups, items), then updates
     (variants, modifiers, groups, items, sections, menus; each with the mapping's revision, 100 per bulk call), then
     deletes of what the POS removed (after the updates unlinked it). A 409 re-reads that entity and retries once;
     every such entity is reported as edited in Wix. The tenant's `catalog_system_of_record` says who wins: "pos"
     (default) overwrites the Wix edit, "wix" keeps it (the mapping takes its revision).
  6. A re-run never creates twice: each bulk create is recorded in flight first and the mapping of what it created
     saved right after it (a create whose answer was lost is swept by name on the next run). The rest of the mapping
     (new hashes and revisions, entries of what was deleted) is written once the writes are done, an entity that
     failed keeping its old hash so the next sync tries it again; the cursor advances only when every write
     succeeded.

No update loop: the bridge subscribes to no Wix menu webhook, so its own writes never come back as work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from posbridge.domain.catalog import CatalogChanges, LayoutOptions, PosKind, source_group
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.domain.tenant import Tenant
from posbridge.errors import TransientError
from posbridge.flows.catalog_plan import BUILD_ORDER, Plan, PlanNode, build_plan, resolve
from posbridge.flows.catalog_publish import DELETE_ORDER, build_mapping, iso, wix_entities_by_kind
from posbridge.ports.pos import CatalogSource, CatalogSources
from posbridge.ports.stores import CatalogMappingStore, CatalogSyncCursor, ImportLocks, TenantReader
from posbridge.ports.wix import BULK_MAX, NO_BULK_DELETE, Outcome, WixKind, WixMenus, WixMenusApi

CREATE_KINDS: tuple[WixKind, ...] = ("variant", "modifier", "modifierGroup", "item")
CONFLICTS = frozenset({"REVISION_MISMATCH", "CONFLICT", "ALREADY_EXISTS"})  # a per-entity 409
SWEEP_MARGIN = timedelta(seconds=60)
# What an update may change, per kind (the fields the plan's bodies and references hold).
MASKS: dict[WixKind, tuple[str, ...]] = {
    "variant": ("name",),
    "modifier": ("name", "inStock"),
    "modifierGroup": ("name", "rule", "modifiers"),
    "item": ("name", "description", "orderSettings", "priceInfo", "priceVariants", "modifierGroups"),
    "section": ("name", "description", "itemIds"),
    "menu": ("name", "description", "sectionIds"),
}


class SyncDeferred(TransientError):
    """The tenant's catalog import is running: try again later (the import itself reads the whole catalog)."""


# --- ports ------------------------------------------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SyncPorts:
    tenants: TenantReader
    catalogs: CatalogSources
    mappings: CatalogMappingStore
    locks: ImportLocks
    state: CatalogSyncCursor
    wix: WixMenus
    start_publish: Callable[[str], str]  # instance id -> the started import's job id
    max_changes: int = 500  # more entity writes than this: the draft publish instead
    clock: Callable[[], datetime] = _utcnow


@dataclass
class WixEdit:
    """An entity changed in Wix since the bridge last wrote it (its revision moved)."""

    kind: str
    wix_id: str
    pos_kind: str
    pos_id: str
    fields: list[str]
    kept: str  # "pos": overwritten with the POS; "wix": the Wix edit kept


@dataclass
class SyncResult:
    outcome: str  # up_to_date | synced | partial | publish_started | no_catalog | ignored
    changes: dict[str, int] = field(default_factory=dict)  # "<create|update|delete>:<kind>" -> entities
    wix_calls: int = 0
    wix_edits: list[WixEdit] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    cursor: str | None = None
    reason: str = ""
    job_id: str | None = None
    seconds: float = 0.0
    read: str = ""  # "changes": only what changed was read (POS and mapping); "catalog": the whole of both

    def summary(self) -> dict[str, Any]:
        """For the state record and logs: ids and counts only."""
        data = asdict(self)
        data["wix_edits"] = data["wix_edits"][:20]
        data["errors"] = data["errors"][:20]
        data["seconds"] = str(round(self.seconds, 3))
        return data


class _Counting:
    """Counts the Wix calls a sync makes (every MenusApi call is one request, queries one per page)."""

    def __init__(self, api: WixMenusApi) -> None:
        self.api = api
        self.calls = 0

    def bulk_create(self, kind: WixKind, entities: list[dict[str, Any]]) -> list[Outcome]:
        self.calls += 1
        return self.api.bulk_create(kind, entities)

    def bulk_update(self, kind: WixKind, updates: list[tuple[dict[str, Any], list[str]]]) -> list[Outcome]:
        self.calls += 1
        return self.api.bulk_update(kind, updates)

    def delete_many(self, kind: WixKind, ids: list[str]) -> list[Outcome]:
        self.calls += len(ids) if kind in NO_BULK_DELETE else 1
        return self.api.delete_many(kind, ids)

    def query(self, kind: WixKind, flt: dict[str, Any]) -> list[dict[str, Any]]:
        found = self.api.query(kind, flt)
        self.calls += max(1, -(-len(found) // 500))
        return found

    def by_ids(self, kind: WixKind, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            found += self.query(kind, {"id": {"$in": ids[start : start + 500]}})
        return found


# --- the flow -----------------------------------------------------------------------------------------------------


def sync_catalog(ports: SyncPorts, instance_id: str, *, full: bool = False) -> SyncResult:
    started = time.monotonic()
    result = _sync(ports, instance_id, full)
    result.seconds = time.monotonic() - started
    if result.outcome not in ("ignored", "no_catalog"):
        # An import that took the lock meanwhile may have read its snapshot before this sync read the changes; its
        # Publish sets the cursor. Moving it past that snapshot now would leave out of the new menus what this sync
        # wrote to the old ones.
        if result.outcome in ("synced", "up_to_date") and result.cursor and not ports.locks.lock_holder(instance_id):
            ports.state.advance(instance_id, result.cursor, result.summary())
        else:
            ports.state.record(instance_id, result.summary())
    return result


def _sync(ports: SyncPorts, instance_id: str, full: bool) -> SyncResult:
    tenant = ports.tenants.get(instance_id)
    if tenant is None or tenant.status != "active":
        return SyncResult("ignored", reason=f"tenant {instance_id} is not an active tenant")
    holder = ports.locks.lock_holder(instance_id)
    if holder is not None:
        raise SyncDeferred(f"catalog import {holder} is running for {instance_id}: sync deferred")
    state = ports.state.get(instance_id)
    cursor = state.get("cursor")
    source = ports.catalogs.for_tenant(tenant)
    changes = source.changes_since(cursor)
    new_cursor = changes.latest or cursor
    if not full and cursor and changes.count == 0:
        return SyncResult("up_to_date", cursor=cursor)
    layout = ports.mappings.layout(instance_id)  # the import's own names, or the defaults it would have used
    options = LayoutOptions(*layout) if layout else LayoutOptions()
    narrow = None
    if not full and cursor and not state.get("inflight"):
        narrow = _narrow(ports, source, instance_id, changes, options)
    if narrow is not None:
        plan, mapping = narrow
    else:
        mapping = ports.mappings.load(instance_id)
        if not mapping:
            return SyncResult("no_catalog", reason="no catalog imported yet: run the catalog publish first")
        plan = build_plan(source.load_catalog(options))
    api = _Counting(ports.wix.reads(instance_id))
    creates = _Counting(ports.wix.creates(instance_id))
    run = _Run(ports, tenant, api, creates, mapping, partial=narrow is not None)
    run.result.read = "changes" if narrow is not None else "catalog"
    if state.get("inflight"):
        run.sweep(state["inflight"])
    outcome = run.apply(plan, check_wix=full)
    outcome.wix_calls = api.calls + creates.calls
    if outcome.outcome == "synced":
        outcome.cursor = new_cursor
    return outcome


def _narrow(
    ports: SyncPorts, source: CatalogSource, tenant_id: str, changes: CatalogChanges, options: LayoutOptions
) -> tuple[Plan, list[CatalogMapping]] | None:
    """The plan and the mapping of just what changed, or None where only the whole catalog and mapping can tell what
    a change touched: a category changed (menus and sections are built from every item in them), an item joined or
    left the menus or moved (`Item.placement`: its sections' item lists), a mapped modifier group went away (items
    outside the change may use it), a changed item uses a group derived by its overrides, a changed modifier group has
    groups derived from it (they belong to items outside the change), or the POS could not say what a change belongs
    to."""
    if changes.whole or changes.categories:
        return None
    catalog = source.load_items(changes.items, changes.modifier_groups, options)
    keys: list[tuple[PosKind, str]] = [("ITEM", i) for i in changes.items]
    keys += [("ITEM_VARIATION", v) for v in changes.variations]
    keys += [("MODIFIER_LIST", g) for g in changes.modifier_groups]
    keys += [("MODIFIER", m) for m in changes.modifiers]
    for item in catalog.items.values():
        keys += [("ITEM_VARIATION", v.pos_id) for v in item.variations]
    for group in catalog.modifier_groups.values():
        keys.append(("MODIFIER_LIST", group.pos_id))
        keys += [("MODIFIER", m.pos_id) for m in group.modifiers]
    mapping = ports.mappings.get(tenant_id, keys)
    known = {(m.pos_kind, m.pos_id): m for m in mapping}
    # a stock count moves nothing onto the menus: a dish that is not on them and only had its count changed is left out
    # (so a sale of merchandise the menus do not list costs no whole read)
    wanted = {i for i in changes.items if i not in changes.counted_items or ("ITEM", i) in known}
    items = {k: v for k, v in catalog.items.items() if k in wanted}
    for item_id in wanted:
        mapped = known.get(("ITEM", item_id))
        if (item_id in items) != (mapped is not None):  # joined or left the menus
            return None
        if mapped is not None and items[item_id].placement != mapped.placement:  # moved
            return None
    used = {g for item in items.values() for g in item.modifier_group_ids}
    if any(source_group(g) != g for g in used):  # a derived group: its id moves with the item's overrides
        return None
    # A changed group some items' overrides derive groups from: those groups belong to items outside the change (one
    # Query per changed group; group edits are rare). An item that stops overriding leaves its old derived group
    # unreferenced on Wix (invisible to customers) until the reconciliation deletes it.
    if any(ports.mappings.derived_groups(tenant_id, g) for g in sorted(changes.modifier_groups)):
        return None
    for group_id in changes.modifier_groups:
        if ("MODIFIER_LIST", group_id) in known and group_id not in catalog.modifier_groups:
            return None
    groups = {
        k: g for k, g in catalog.modifier_groups.items() if k in used or ("MODIFIER_LIST", k) in known
    }  # a new group nothing uses is not imported (as the whole catalog would not)
    return build_plan(catalog.model_copy(update={"items": items, "modifier_groups": groups})), mapping


class _Run:
    def __init__(
        self,
        ports: SyncPorts,
        tenant: Tenant,
        api: _Counting,
        creates: _Counting,
        mapping: list[CatalogMapping],
        partial: bool = False,
    ) -> None:
        self.ports = ports
        self.tenant = tenant
        self.tid = tenant.instance_id
        self.api = api
        self.creates = creates
        self.old: dict[tuple[str, str], CatalogMapping] = {(m.pos_kind, m.pos_id): m for m in mapping}
        self.partial = partial  # the plan and mapping cover only what changed (no menus or sections)
        self.result = SyncResult("synced")

    # --- sweep of a create whose answer was lost ------------------------------------------------------------------

    def sweep(self, inflight: dict[str, Any]) -> None:
        kind: WixKind = inflight["kind"]
        names = list(inflight.get("names") or [])
        since = datetime.fromisoformat(str(inflight["at"]).replace("Z", "+00:00")) - SWEEP_MARGIN
        mapped = {e.partition("/")[2] for m in self.old.values() for e in m.wix_entities} | {
            m.wix_id for m in self.old.values()
        }
        for start in range(0, len(names), BULK_MAX):
            flt = {"name": {"$in": names[start : start + BULK_MAX]}, "createdDate": {"$gte": iso(since)}}
            orphans = [e["id"] for e in self.api.query(kind, flt) if e.get("id") and e["id"] not in mapped]
            for chunk in range(0, len(orphans), BULK_MAX):
                self.api.delete_many(kind, orphans[chunk : chunk + BULK_MAX])
        self.ports.state.set_inflight(self.tid, None)

    # --- the diff -------------------------------------------------------------------------------------------------

    def apply(self, plan: Plan, check_wix: bool) -> SyncResult:
        new_hashes = {_split(k): h for k, h in plan.hashes.items()}
        ids, structural = self._known_ids(plan)
        removed = [m for key, m in self.old.items() if key not in new_hashes]
        if any(m.pos_kind == "CATEGORY" for m in removed):
            structural = structural or "a menu or section was removed on the POS"
        revisions = self._revisions()
        drift: set[str] = set()
        if check_wix and not structural:
            drift, missing = self._drift(plan, ids, revisions)
            if missing:
                structural = f"{missing} mapped entities are gone from Wix"
        dirty = self._dirty(plan, new_hashes, ids, drift, removed)
        creates = [n for n in dirty if n.key not in ids]
        updates = [n for n in dirty if n.key in ids]
        deletes = self._deletes(removed)
        total = len(creates) + len(updates) + sum(len(v) for v in deletes.values())
        r = self.result
        for n in creates:
            _bump(r.changes, f"create:{n.kind}")
        for n in updates:
            _bump(r.changes, f"update:{n.kind}")
        for kind, wix_ids in deletes.items():
            r.changes[f"delete:{kind}"] = len(wix_ids)
        if structural or total > self.ports.max_changes:
            r.outcome = "publish_started"
            r.reason = structural or f"{total} changes, more than {self.ports.max_changes}: published as a new catalog"
            r.job_id = self.ports.start_publish(self.tid)
            return r
        if total == 0:
            return r
        self._create(plan, creates, ids, revisions)
        failed = self._update(plan, updates, ids, revisions)
        failed |= {n.key for n in creates if n.key not in ids}
        if not failed:
            self._delete(deletes)
        self._commit(plan, ids, revisions, failed, removed if not failed else [])
        if failed or r.errors:
            r.outcome = "partial"
        return r

    def _known_ids(self, plan: Plan) -> tuple[dict[str, str], str]:
        """Plan key -> Wix id for every planned entity the mapping knows; and why the plan cannot be applied in place
        (a new category, or a category built as a different set of menus/sections), or ""."""
        ids: dict[str, str] = {}
        structural = ""
        categories: dict[str, list[PlanNode]] = {}
        for kind in BUILD_ORDER:
            for node in plan.nodes.get(kind, []):
                m = self._mapping_of(node)
                if node.pos_kind == "CATEGORY":
                    categories.setdefault(node.pos_id, []).append(node)
                elif node.kind == "variant":
                    if m is not None and m.wix_variant_id:
                        ids[node.key] = m.wix_variant_id
                    elif m is not None:
                        structural = structural or f"item of variation {node.pos_id} changed from one price to several"
                elif m is not None:
                    ids[node.key] = m.wix_id
        for pos_id, nodes in categories.items():
            m = self.old.get(("CATEGORY", pos_id))
            nodes.sort(key=lambda n: (n.kind != "menu", n.key))
            entities = list(m.wix_entities) if m else []
            if [e.partition("/")[0] for e in entities] != [n.kind for n in nodes]:
                structural = structural or f"category {pos_id} is new or laid out differently"
                continue
            for node, entity in zip(nodes, entities, strict=True):
                ids[node.key] = entity.partition("/")[2]
        for entry in plan.variations:  # one price again where there were several
            m = self.old.get(("ITEM_VARIATION", entry.pos_id))
            if m is not None and entry.variant_key is None and m.wix_variant_id:
                structural = structural or f"item of variation {entry.pos_id} changed from several prices to one"
        return ids, structural

    def _mapping_of(self, node: PlanNode) -> CatalogMapping | None:
        return self.old.get((node.pos_kind, node.pos_id))

    def _revisions(self) -> dict[str, str | None]:
        """Wix id -> the revision the mapping holds (an item's own entry wins over its single variation's copy)."""
        revisions: dict[str, str | None] = {}
        for m in sorted(self.old.values(), key=lambda m: m.pos_kind != "ITEM_VARIATION"):
            revisions[m.wix_id] = m.revision
        return revisions

    def _drift(self, plan: Plan, ids: dict[str, str], revisions: dict[str, str | None]) -> tuple[set[str], int]:
        """Reconciliation: plan keys whose Wix entity's revision is not the mapping's (edited in Wix), and how many
        mapped entities are missing from Wix."""
        drift: set[str] = set()
        missing = 0
        by_kind: dict[WixKind, dict[str, str]] = {}
        for kind in BUILD_ORDER:
            for node in plan.nodes.get(kind, []):
                if node.key in ids:
                    by_kind.setdefault(kind, {})[ids[node.key]] = node.key
        for kind, wanted in by_kind.items():
            current = {e["id"]: e for e in self.api.by_ids(kind, sorted(wanted))}
            for wix_id, key in wanted.items():
                entity = current.get(wix_id)
                if entity is None:
                    missing += 1
                    continue
                known = revisions.get(wix_id)
                if known is not None and str(entity.get("revision")) != known:
                    drift.add(key)
                    revisions[wix_id] = _text(entity.get("revision"))
        return drift, missing

    def _dirty(
        self,
        plan: Plan,
        hashes: dict[tuple[str, str], str],
        ids: dict[str, str],
        drift: set[str],
        removed: list[CatalogMapping],
    ) -> list[PlanNode]:
        """Plan nodes to write, in build order: new ones, those whose POS entity's hash moved, and drifted ones. A
        variation's price and stock are written on its item, its name on its variant (when the item has several):
        a price change rewrites the item only. A modifier's name and stock are written on its modifier, its price on
        its group: a modifier sold out rewrites the modifier only."""

        def changed(kind: str, pos_id: str) -> bool:
            m = self.old.get((kind, pos_id))
            return m is None or m.content_hash != hashes.get((kind, pos_id))

        def moved(part: str, variation_id: str) -> bool:
            """Did the part of the variation that `part` names change ("VARIANT": its name, "PRICE": its price and
            stock)? An entry mapped before the parts were kept has only the whole hash to tell."""
            m = self.old.get(("ITEM_VARIATION", variation_id))
            known = None if m is None else m.variant_hash if part == "VARIANT" else m.price_hash
            if known is None:
                return changed("ITEM_VARIATION", variation_id)
            return known != plan.hashes.get(f"{part}#{variation_id}")

        def regrouped(group_id: str) -> bool:
            """Did what Wix keeps on the group change (its name, rule, modifiers' order, prices, pre-selection; not
            their names or stock: domain.catalog.modifier_parts)? An entry mapped before holds the group's whole
            hash: while that still matches, nothing changed."""
            m = self.old.get(("MODIFIER_LIST", group_id))
            return changed("MODIFIER_LIST", group_id) and (
                m is None or m.content_hash != plan.hashes.get(f"WHOLE#{group_id}")
            )

        dropped = {m.wix_item_id for m in removed if m.pos_kind == "ITEM_VARIATION" and m.wix_variant_id}

        variations_of: dict[str, list[str]] = {}
        for entry in plan.variations:
            variations_of.setdefault(entry.item_key, []).append(entry.pos_id)
        dirty: list[PlanNode] = []
        for kind in BUILD_ORDER:
            for node in plan.nodes.get(kind, []):
                if node.key not in ids or node.key in drift:
                    dirty.append(node)
                    continue
                if node.kind == "item":
                    hit = changed("ITEM", node.pos_id) or any(
                        moved("PRICE", v) for v in variations_of.get(node.key, [])
                    )
                    hit = hit or ids[node.key] in dropped or any(r.key not in ids for r in node.refs)
                elif node.kind == "variant":
                    hit = moved("VARIANT", node.pos_id)
                elif node.kind == "modifierGroup":
                    hit = regrouped(node.pos_id) or any(r.key not in ids for r in node.refs)
                else:
                    hit = changed(node.pos_kind, node.pos_id)
                if hit:
                    dirty.append(node)
        return dirty

    def _deletes(self, removed: list[CatalogMapping]) -> dict[WixKind, list[str]]:
        """Wix entities of POS entities that are gone (an item's variants go with it)."""
        return {k: sorted(v) for k, v in wix_entities_by_kind(removed).items() if v}  # type: ignore[misc]

    # --- writes ---------------------------------------------------------------------------------------------------

    def _create(self, plan: Plan, nodes: list[PlanNode], ids: dict[str, str], revisions: dict[str, Any]) -> None:
        for kind in CREATE_KINDS:
            todo = [n for n in nodes if n.kind == kind]
            for start in range(0, len(todo), BULK_MAX):
                batch = [(n, resolve(n, ids)[0]) for n in todo[start : start + BULK_MAX]]
                for node, body in batch:
                    if body is None:
                        self._error(node, "DEPENDENCY_MISSING", "needs an entity that was not created")
                ready = [(n, b) for n, b in batch if b is not None]
                if not ready:
                    continue
                names = [n.name for n, _ in ready]
                self.ports.state.set_inflight(self.tid, {"kind": kind, "names": names, "at": iso(self.ports.clock())})
                outcomes = self.creates.bulk_create(kind, [b for _, b in ready])
                provisional = []
                for (node, _), outcome in zip(ready, outcomes, strict=True):
                    if outcome.ok and outcome.id:
                        ids[node.key] = outcome.id
                        revisions[outcome.id] = outcome.revision
                        provisional.append(_provisional(node, outcome))
                    else:
                        self._error(node, outcome.code, outcome.message)
                self.ports.mappings.put(self.tid, provisional)
                self.ports.state.set_inflight(self.tid, None)

    def _update(
        self, plan: Plan, nodes: list[PlanNode], ids: dict[str, str], revisions: dict[str, str | None]
    ) -> set[str]:
        """Bulk updates in build order; returns the plan keys that could not be written."""
        failed: set[str] = set()
        for kind in BUILD_ORDER:
            todo = [n for n in nodes if n.kind == kind]
            unknown = [ids[n.key] for n in todo if revisions.get(ids[n.key]) is None]
            if unknown:
                for e in self.api.by_ids(kind, unknown):
                    revisions[e["id"]] = _text(e.get("revision"))
            for start in range(0, len(todo), BULK_MAX):
                batch: list[tuple[PlanNode, dict[str, Any], list[str]]] = []
                for node in todo[start : start + BULK_MAX]:
                    body, missing = resolve(node, ids)
                    if body is None:
                        failed.add(node.key)
                        self._error(node, "DEPENDENCY_MISSING", "needs an entity that is not on Wix")
                        continue
                    if missing:  # written without what failed to be created, and tried again next time
                        failed.add(node.key)
                    wix_id = ids[node.key]
                    mask = [f for f in MASKS[kind] if f in body]
                    batch.append((node, {**body, "id": wix_id, "revision": revisions.get(wix_id)}, mask))
                if batch:
                    failed |= self._send_updates(kind, batch, revisions)
        return failed

    def _send_updates(
        self, kind: WixKind, batch: list[tuple[PlanNode, dict[str, Any], list[str]]], revisions: dict[str, str | None]
    ) -> set[str]:
        failed: set[str] = set()
        outcomes = self.api.bulk_update(kind, [(body, mask) for _, body, mask in batch])
        stale: list[tuple[PlanNode, dict[str, Any], list[str]]] = []
        for (node, body, mask), outcome in zip(batch, outcomes, strict=True):
            if outcome.ok:
                revisions[body["id"]] = outcome.revision
            elif outcome.code in CONFLICTS:
                stale.append((node, body, mask))
            else:
                failed.add(node.key)
                self._error(node, outcome.code, outcome.message)
        if not stale:
            return failed
        # Edited in Wix since the last sync (or by another writer): re-read, report, then apply the tenant's policy.
        current = {e["id"]: e for e in self.api.by_ids(kind, [b["id"] for _, b, _ in stale])}
        keep_wix = self.tenant.settings.catalog_system_of_record == "wix"
        retry: list[tuple[PlanNode, dict[str, Any], list[str]]] = []
        for node, body, mask in stale:
            fresh = current.get(body["id"])
            if fresh is None:
                failed.add(node.key)
                self._error(node, "NOT_FOUND", f"{kind} {body['id']} is gone from Wix")
                continue
            fields = [f for f in mask if fresh.get(f) != body.get(f)]
            self.result.wix_edits.append(
                WixEdit(kind, body["id"], node.pos_kind, node.pos_id, fields, "wix" if keep_wix else "pos")
            )
            if keep_wix:
                revisions[body["id"]] = _text(fresh.get("revision"))
            else:
                retry.append((node, {**body, "revision": fresh.get("revision")}, mask))
        if retry:
            for (node, body, _), outcome in zip(
                retry, self.api.bulk_update(kind, [(b, m) for _, b, m in retry]), strict=True
            ):
                if outcome.ok:
                    revisions[body["id"]] = outcome.revision
                else:
                    failed.add(node.key)
                    self._error(node, outcome.code, outcome.message)
        return failed

    def _delete(self, deletes: dict[WixKind, list[str]]) -> None:
        for kind in DELETE_ORDER:
            wix_ids = deletes.get(kind, [])
            for start in range(0, len(wix_ids), BULK_MAX):
                for outcome in self.api.delete_many(kind, wix_ids[start : start + BULK_MAX]):
                    if not outcome.ok:
                        self.result.errors.append(
                            {"kind": kind, "wixId": outcome.id or "", "code": outcome.code or "UNKNOWN"}
                        )

    def _commit(
        self,
        plan: Plan,
        ids: dict[str, str],
        revisions: dict[str, Any],
        failed: set[str],
        removed: list[CatalogMapping],
    ) -> None:
        """The mapping of what was written: new entries and revisions; an entity that failed keeps its old hash (so
        the next sync tries it again); what was deleted on Wix is unmapped."""
        created = {key: {"id": wix_id, "revision": revisions.get(wix_id)} for key, wix_id in ids.items()}
        fresh = build_mapping(plan, created)
        keys_of: dict[tuple[str, str], set[str]] = {}
        for kind in BUILD_ORDER:
            for node in plan.nodes.get(kind, []):
                keys_of.setdefault((node.pos_kind, node.pos_id), set()).add(node.key)
        for entry in plan.variations:
            keys = {entry.item_key} | ({entry.variant_key} if entry.variant_key else set())
            keys_of.setdefault(("ITEM_VARIATION", entry.pos_id), set()).update(keys)
        placed: dict[str | None, CatalogMapping] = {}  # Wix item id -> one of its variations' old entries
        if self.partial:  # no menus or sections planned: an item's stay where they were (its placement held)
            placed = {m.wix_item_id: m for m in self.old.values() if m.pos_kind == "ITEM_VARIATION"}
        changed: list[CatalogMapping] = []
        for m in fresh:
            key = (m.pos_kind, m.pos_id)
            old = self.old.get(key)
            if m.pos_kind == "ITEM_VARIATION" and (where := placed.get(m.wix_item_id)) is not None:
                m = m.model_copy(update={"wix_menu_id": where.wix_menu_id, "wix_section_id": where.wix_section_id})
            if keys_of.get(key, set()) & failed:
                if old is None:
                    continue
                kept = ("content_hash", "variant_hash", "price_hash", "placement")  # so the next sync tries again
                m = m.model_copy(update={k: getattr(old, k) for k in kept})
            if old != m:
                changed.append(m)
        stale_reverse = [
            old for m in changed if (old := self.old.get((m.pos_kind, m.pos_id))) and old.wix_entities != m.wix_entities
        ]
        if stale_reverse:
            self.ports.mappings.remove(self.tid, stale_reverse)
        if changed:
            self.ports.mappings.put(self.tid, changed)
        if removed:
            self.ports.mappings.remove(self.tid, removed)

    def _error(self, node: PlanNode, code: str, message: str) -> None:
        self.result.errors.append(
            {"kind": node.kind, "posKind": node.pos_kind, "posId": node.pos_id, "code": code, "message": message[:200]}
        )


def _provisional(node: PlanNode, outcome: Outcome) -> CatalogMapping:
    """The mapping of an entity just created, before the sync ends: an empty hash, so a re-run updates it rather
    than creating it again."""
    assert outcome.id is not None
    return CatalogMapping(
        pos_kind=node.pos_kind,
        pos_id=node.pos_id,
        wix_id=outcome.id,
        wix_kind=node.kind,
        revision=outcome.revision,
        content_hash="",
        wix_entities=(f"{node.kind}/{outcome.id}",),
        wix_variant_id=outcome.id if node.kind == "variant" else None,
    )


def _split(key: str) -> tuple[str, str]:
    kind, _, pos_id = key.partition("#")
    return kind, pos_id


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


__all__ = ["PosKind", "SyncDeferred", "SyncPorts", "SyncResult", "WixEdit", "sync_catalog"]
