"""Flow 5's writes: the sweep of a create whose answer was lost, then creates, updates (a 409 re-read and the tenant's
conflict policy applied), deletes, and the mapping committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.flows.catalog_plan import BUILD_ORDER, Plan, PlanNode, resolve
from posbridge.flows.catalog_publish import DELETE_ORDER, build_mapping, iso
from posbridge.flows.catalog_sync.run import (
    CONFLICTS,
    CREATE_KINDS,
    MASKS,
    SWEEP_MARGIN,
    WixEdit,
    _provisional,
    _RunState,
    _text,
)
from posbridge.ports.wix import BULK_MAX, WixKind


class _Writes(_RunState):
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
            keys_of.setdefault(("VARIANT", entry.pos_id), set()).update(keys)
        placed: dict[str | None, CatalogMapping] = {}  # Wix item id -> one of its variations' old entries
        if self.partial:  # no menus or sections planned: an item's stay where they were (its placement held)
            placed = {m.wix_item_id: m for m in self.old.values() if m.pos_kind == "VARIANT"}
        changed: list[CatalogMapping] = []
        for m in fresh:
            key = (m.pos_kind, m.pos_id)
            old = self.old.get(key)
            if m.pos_kind == "VARIANT" and (where := placed.get(m.wix_item_id)) is not None:
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
