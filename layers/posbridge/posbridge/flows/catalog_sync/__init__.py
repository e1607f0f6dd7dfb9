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

This module is the orchestration (steps 1-4 and the order of 5); the diff is diff.py, the writes writes.py, the
vocabulary and a run's state run.py.
"""

from __future__ import annotations

import time

from posbridge.domain.catalog import CatalogChanges, LayoutOptions, PosKind, source_group
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.flows.catalog_plan import Plan, build_plan
from posbridge.flows.catalog_sync.diff import _Diff
from posbridge.flows.catalog_sync.run import (
    CONFLICTS,
    CREATE_KINDS,
    MASKS,
    SWEEP_MARGIN,
    SyncDeferred,
    SyncPorts,
    SyncResult,
    WixEdit,
    _bump,
    _Counting,
    _split,
)
from posbridge.flows.catalog_sync.writes import _Writes
from posbridge.ports.pos import CatalogSource

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
    keys += [("VARIANT", v) for v in changes.variations]
    keys += [("MODIFIER_GROUP", g) for g in changes.modifier_groups]
    keys += [("MODIFIER", m) for m in changes.modifiers]
    for item in catalog.items.values():
        keys += [("VARIANT", v.pos_id) for v in item.variations]
    for group in catalog.modifier_groups.values():
        keys.append(("MODIFIER_GROUP", group.pos_id))
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
        if ("MODIFIER_GROUP", group_id) in known and group_id not in catalog.modifier_groups:
            return None
    groups = {
        k: g for k, g in catalog.modifier_groups.items() if k in used or ("MODIFIER_GROUP", k) in known
    }  # a new group nothing uses is not imported (as the whole catalog would not)
    return build_plan(catalog.model_copy(update={"items": items, "modifier_groups": groups})), mapping


class _Run(_Diff, _Writes):
    """One sync run: the diff (diff.py), then the writes in Wix's dependency order (writes.py)."""

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


__all__ = [
    "CONFLICTS",
    "CREATE_KINDS",
    "MASKS",
    "SWEEP_MARGIN",
    "PosKind",
    "SyncDeferred",
    "SyncPorts",
    "SyncResult",
    "WixEdit",
    "sync_catalog",
]
