"""Flow 5's diff: which planned entities the mapping knows, what changed since (content hashes, Wix drift), what the
POS removed."""

from __future__ import annotations

from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.flows.catalog_plan import BUILD_ORDER, Plan, PlanNode
from posbridge.flows.catalog_publish import wix_entities_by_kind
from posbridge.flows.catalog_sync.run import _RunState, _text
from posbridge.ports.wix import WixKind


class _Diff(_RunState):
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
            m = self.old.get(("VARIANT", entry.pos_id))
            if m is not None and entry.variant_key is None and m.wix_variant_id:
                structural = structural or f"item of variation {entry.pos_id} changed from several prices to one"
        return ids, structural

    def _mapping_of(self, node: PlanNode) -> CatalogMapping | None:
        return self.old.get((node.pos_kind, node.pos_id))

    def _revisions(self) -> dict[str, str | None]:
        """Wix id -> the revision the mapping holds (an item's own entry wins over its single variation's copy)."""
        revisions: dict[str, str | None] = {}
        for m in sorted(self.old.values(), key=lambda m: m.pos_kind != "VARIANT"):
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
            """Did the part of the variation that `part` names change ("VARIANT_NAME": its name, "PRICE": its price and
            stock)? An entry mapped before the parts were kept has only the whole hash to tell."""
            m = self.old.get(("VARIANT", variation_id))
            known = None if m is None else m.variant_hash if part == "VARIANT_NAME" else m.price_hash
            if known is None:
                return changed("VARIANT", variation_id)
            return known != plan.hashes.get(f"{part}#{variation_id}")

        def regrouped(group_id: str) -> bool:
            """Did what Wix keeps on the group change (its name, rule, modifiers' order, prices, pre-selection; not
            their names or stock: domain.catalog.modifier_parts)? An entry mapped before holds the group's whole
            hash: while that still matches, nothing changed."""
            m = self.old.get(("MODIFIER_GROUP", group_id))
            return changed("MODIFIER_GROUP", group_id) and (
                m is None or m.content_hash != plan.hashes.get(f"WHOLE#{group_id}")
            )

        dropped = {m.wix_item_id for m in removed if m.pos_kind == "VARIANT" and m.wix_variant_id}

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
                    hit = moved("VARIANT_NAME", node.pos_id)
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
