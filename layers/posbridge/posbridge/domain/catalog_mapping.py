"""One POS catalog entity and the Wix entities built for it (Flows 4 and 5; stored by store/catalog_mappings.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from posbridge.domain.catalog import PosKind


class CatalogMapping(BaseModel):
    model_config = ConfigDict(frozen=True)

    pos_kind: PosKind
    pos_id: str
    wix_id: str
    wix_kind: str
    revision: str | None = None
    content_hash: str
    wix_entities: tuple[str, ...]  # "<kind>/<id>"
    wix_item_id: str | None = None
    wix_menu_id: str | None = None
    wix_section_id: str | None = None
    wix_variant_id: str | None = None
    variant_hash: str | None = None
    price_hash: str | None = None
    placement: str | None = None
