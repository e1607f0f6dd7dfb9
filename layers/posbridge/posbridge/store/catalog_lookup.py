"""Read side of the catalog mapping (written by the catalog publish, Flow 4): where a POS item variation lives in Wix.

    PK TENANT#<instanceId>  SK CATALOG#POS#VARIANT#<variationId>
        -> wix_item_id, wix_menu_id, wix_section_id, wix_variant_id?, wix_id, revision, content_hash

Flow 2 needs the first four to build a Wix Restaurants line's `catalogReference`. Flow 1 reads the other way: the
reverse keys (store.catalog_mappings) turn a Wix line's item, size and modifiers into POS catalog ids. Both also read
what a release before the neutral kinds wrote (CATALOG#POS#ITEM_VARIATION#<id>, `pos_kind` ITEM_VARIATION): see
store.catalog_mappings.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from posbridge.domain.catalog import neutral_kind
from posbridge.domain.order_catalog import CatalogIds, CatalogPlacement, WixSoldAs
from posbridge.store.catalog_mappings import legacy_sk, pos_sk, sold_as_sk, wix_modifier_sk
from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk


class CatalogLookup(TableStore):
    def variations(self, tenant_id: str, variation_ids: Iterable[str]) -> dict[str, CatalogPlacement]:
        """The placement of each mapped variation; unmapped (or unreadable) ones are simply absent."""
        wanted = sorted(set(variation_ids))
        neutral = {pos_sk("VARIANT", v): v for v in wanted}
        legacy = {sk: v for v in wanted if (sk := legacy_sk("VARIANT", v)) is not None}
        found: dict[str, CatalogPlacement] = {}
        for item in self._batch_get_sks(tenant_pk(tenant_id), sorted({*neutral, *legacy})):
            sk = str(item["SK"])
            variation_id = neutral[sk] if sk in neutral else legacy[sk]
            if sk in legacy and variation_id in found:
                continue  # both keys (a sync between its two writes): the neutral one wins
            try:
                found[variation_id] = CatalogPlacement.model_validate(item)
            except ValidationError:
                continue  # a half-written mapping is no mapping: the line is handled as unmapped
        return found

    def pos_catalog_ids(self, tenant_id: str, sold: Iterable[WixSoldAs], modifiers: Iterable[str]) -> CatalogIds:
        """The POS variation of each Wix (item, size) and the POS modifier of each Wix modifier, in one BatchGetItem
        (100 keys a request); what the mapping does not hold (or holds as another kind) is absent."""
        variations = {sold_as_sk(s.item_id, s.variant_id): s for s in set(sold)}
        wix_modifiers = {wix_modifier_sk(m): m for m in set(modifiers)}
        found = CatalogIds()
        for item in self._batch_get_sks(tenant_pk(tenant_id), sorted({*variations, *wix_modifiers})):
            sk, pos_id, kind = str(item["SK"]), item.get("pos_id"), neutral_kind(item.get("pos_kind"))
            if not isinstance(pos_id, str) or not pos_id:
                continue
            if sk in variations and kind == "VARIANT":
                found.variations[variations[sk]] = pos_id
            elif sk in wix_modifiers and kind == "MODIFIER":
                found.modifiers[wix_modifiers[sk]] = pos_id
        return found
