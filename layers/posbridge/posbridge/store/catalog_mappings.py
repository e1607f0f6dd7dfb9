"""Catalog mappings: every POS catalog id -> its Wix id(s), and back, in the mappings table.

    PK TENANT#<instanceId>  SK CATALOG#POS#<KIND>#<posId>
        KIND             CATEGORY, ITEM, VARIANT, MODIFIER_GROUP or MODIFIER (domain.catalog.PosKind)
        wix_id           the main Wix id (a category: its first menu, else its first section; a variation: its
                         variant when the item has several, else the item)
        wix_kind         menu | section | item | variant | modifierGroup | modifier
        revision         the Wix revision of wix_id as the import left it
        content_hash     posbridge.domain.catalog.content_hashes, to tell what changed later
        wix_entities     every Wix entity built for this POS entity, "<kind>/<id>" (a split section has several)
        ITEM only: placement (Item.placement: while it holds, the item's sections need no rewrite)
        VARIANT only:    wix_item_id, wix_menu_id, wix_section_id, wix_variant_id (when the item has variants),
                         variant_hash and price_hash (its name, held by its Wix variant, and its price and stock,
                         held by its Wix item: see domain.catalog.variation_parts)
    PK TENANT#<instanceId>  SK CATALOG#WIX#<KIND>#<wixId>    -> pos_id, pos_kind   (KIND: MENU, SECTION, ITEM,
                                                                  VARIANT, MODIFIER_GROUP, MODIFIER)
    PK TENANT#<instanceId>  SK CATALOG#WIX#SOLD_AS#<wixItemId>#<wixVariantId or "">  -> pos_id, pos_kind
                            (VARIANT): what a Wix order line sold, by its item and size, for Flow 1

    PK TENANT#<instanceId>  SK CATALOG#LAYOUT   -> menu_name, uncategorized_name (the last published import's)

The catalog publish writes these at Publish (and Rollback restores the previous set and layout), so a failed import
leaves the previous mapping as it was; the incremental sync (flows/catalog_sync.py) reads the entries it needs with
`get` (all of them with `load` when it reads the whole catalog) and updates single entries with `put` and `remove`,
never while the tenant's import holds CATALOGIMPORT#LOCK.

Legacy keys. Releases before the neutral kinds stored two kinds under Square's names (domain.catalog.LEGACY_KINDS):
CATALOG#POS#ITEM_VARIATION#<id> and CATALOG#POS#MODIFIER_LIST#<id>, and `pos_kind` ITEM_VARIATION / MODIFIER_LIST on
those entries and on the reverse entries. There is no migration step: every read here (and in store.catalog_lookup)
also reads the legacy key of a VARIANT or MODIFIER_GROUP and maps a legacy `pos_kind`, and every write moves what it
writes to the neutral key: `replace` (each Publish and Rollback) deletes every legacy key; `put` deletes an entry's
legacy key once its neutral one is written, `remove` deletes both; the reverse keys never held a POS kind, so a write
overwrites their `pos_kind` in place. Should both keys of one entry exist (only between `put`'s two batches), the
neutral one wins. A table is fully neutral after each tenant's next import; until then the sync converts what it
rewrites. The legacy read costs one more key per VARIANT or MODIFIER_GROUP read and one delete per such entry written.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from pydantic import ValidationError

from posbridge.domain.catalog import DERIVED_SEPARATOR, LEGACY_KINDS, PosKind
from posbridge.domain.catalog_mapping import CatalogMapping
from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk

POS_PREFIX = "CATALOG#POS#"
WIX_PREFIX = "CATALOG#WIX#"
LAYOUT_SK = "CATALOG#LAYOUT"  # outside both prefixes: `replace` leaves it alone
WIX_KIND_KEYS = {
    "menu": "MENU",
    "section": "SECTION",
    "item": "ITEM",
    "variant": "VARIANT",
    "modifierGroup": "MODIFIER_GROUP",
    "modifier": "MODIFIER",
}


LEGACY_KEY_KINDS: dict[str, str] = {neutral: legacy for legacy, neutral in LEGACY_KINDS.items()}


def pos_sk(pos_kind: PosKind, pos_id: str) -> str:
    return f"{POS_PREFIX}{pos_kind}#{pos_id}"


def legacy_sk(pos_kind: PosKind, pos_id: str) -> str | None:
    """The key a release before the neutral kinds used for this entry, if its kind had another name then."""
    legacy = LEGACY_KEY_KINDS.get(pos_kind)
    return None if legacy is None else f"{POS_PREFIX}{legacy}#{pos_id}"


def mapping_sk(mapping: CatalogMapping) -> str:
    return pos_sk(mapping.pos_kind, mapping.pos_id)


def reverse_keys(mapping: CatalogMapping) -> list[str]:
    keys = []
    for entity in mapping.wix_entities:
        kind, _, wix_id = entity.partition("/")
        keys.append(f"{WIX_PREFIX}{WIX_KIND_KEYS[kind]}#{wix_id}")
    if mapping.pos_kind == "VARIANT" and mapping.wix_item_id:
        keys.append(sold_as_sk(mapping.wix_item_id, mapping.wix_variant_id))
    return keys


def sold_as_sk(wix_item_id: str, wix_variant_id: str | None) -> str:
    """The key of the POS variation a Wix order line sold: its item, and its variant when the item has several (an
    item with one variation has no Wix variant: its key ends with the empty variant)."""
    return f"{WIX_PREFIX}SOLD_AS#{wix_item_id}#{wix_variant_id or ''}"


def wix_modifier_sk(wix_modifier_id: str) -> str:
    return f"{WIX_PREFIX}{WIX_KIND_KEYS['modifier']}#{wix_modifier_id}"


class CatalogMappings(TableStore):
    def load(self, tenant_id: str) -> list[CatalogMapping]:
        """The tenant's whole catalog mapping (POS side). Kind and POS id come from the key; an entry some other
        writer left without `wix_entities` owns nothing (an import never deletes what it cannot account for)."""
        return _parsed(self._query(tenant_id, POS_PREFIX))

    def get(self, tenant_id: str, keys: list[tuple[PosKind, str]]) -> list[CatalogMapping]:
        """The entries of these (POS kind, POS id), those that exist, under their neutral or their legacy key:
        BatchGetItem, 100 keys per request."""
        sort_keys = {pos_sk(kind, pos_id) for kind, pos_id in keys}
        sort_keys |= {sk for kind, pos_id in keys if (sk := legacy_sk(kind, pos_id)) is not None}
        return _parsed(self._batch_get_sks(tenant_pk(tenant_id), sorted(sort_keys)))

    def derived_groups(self, tenant_id: str, group_id: str) -> list[CatalogMapping]:
        """The entries of the groups items' overrides derived from this POS modifier group (a Query for the neutral
        keys and one for the legacy keys)."""
        derived = f"{group_id}{DERIVED_SEPARATOR}"
        legacy = legacy_sk("MODIFIER_GROUP", derived)
        prefixes = [pos_sk("MODIFIER_GROUP", derived), *([legacy] if legacy else [])]
        return _parsed([item for prefix in prefixes for item in self._query(tenant_id, prefix)])

    def replace(self, tenant_id: str, new: list[CatalogMapping]) -> None:
        """Make the tenant's catalog mapping exactly `new`: put every pair, delete every other catalog key.

        Idempotent (a retry writes the same items), so it needs no transaction; it is not atomic either: a reader
        may briefly see a mix, and Rollback restores the previous mapping with the same call if Publish fails."""
        pk = tenant_pk(tenant_id)
        keep: set[str] = set()
        existing = {str(i["SK"]) for p in (POS_PREFIX, WIX_PREFIX) for i in self._query(tenant_id, p, keys_only=True)}
        with self._table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch:
            for m in new:
                keep.add(mapping_sk(m))
                batch.put_item(Item={"PK": pk, "SK": mapping_sk(m), **m.model_dump(exclude_none=True)})
                for sk in reverse_keys(m):
                    keep.add(sk)
                    batch.put_item(Item={"PK": pk, "SK": sk, "pos_id": m.pos_id, "pos_kind": m.pos_kind})
            for sk in sorted(existing - keep):
                batch.delete_item(Key={"PK": pk, "SK": sk})

    def save_layout(self, tenant_id: str, menu_name: str, uncategorized_name: str) -> None:
        """The names the last published import gave its menu and its uncategorized section, so a later sync plans
        the same layout instead of renaming them back to the defaults."""
        self._table.put_item(
            Item={
                "PK": tenant_pk(tenant_id),
                "SK": LAYOUT_SK,
                "menu_name": menu_name,
                "uncategorized_name": uncategorized_name,
            }
        )

    def restore_layout(self, tenant_id: str, layout: tuple[str, str] | None) -> None:
        """Put back the layout `layout()` returned before a Publish (None: there was none)."""
        if layout is None:
            self._table.delete_item(Key={"PK": tenant_pk(tenant_id), "SK": LAYOUT_SK})
        else:
            self.save_layout(tenant_id, *layout)

    def layout(self, tenant_id: str) -> tuple[str, str] | None:
        """(menu name, uncategorized section name) of the last published import, if any."""
        item = self._table.get_item(Key={"PK": tenant_pk(tenant_id), "SK": LAYOUT_SK}, ConsistentRead=True).get("Item")
        return None if item is None else (str(item["menu_name"]), str(item["uncategorized_name"]))

    def put(self, tenant_id: str, entries: list[CatalogMapping]) -> None:
        """Upsert these entries and their reverse keys (idempotent), then delete their legacy keys (after: a reader
        finds one of the two all along). Reverse keys an entry no longer names are removed by `remove` of the old
        entry, which the caller does first when an entry's Wix entities changed."""
        pk = tenant_pk(tenant_id)
        with self._table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch:
            for m in entries:
                batch.put_item(Item={"PK": pk, "SK": mapping_sk(m), **m.model_dump(exclude_none=True)})
                for sk in reverse_keys(m):
                    batch.put_item(Item={"PK": pk, "SK": sk, "pos_id": m.pos_id, "pos_kind": m.pos_kind})
        legacy = sorted({old for m in entries if (old := legacy_sk(m.pos_kind, m.pos_id)) is not None})
        with self._table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch:
            for sk in legacy:
                batch.delete_item(Key={"PK": pk, "SK": sk})

    def remove(self, tenant_id: str, entries: list[CatalogMapping]) -> None:
        """Delete these entries (under their neutral and their legacy key) and their reverse keys (idempotent:
        deleting a missing key is a no-op)."""
        pk = tenant_pk(tenant_id)
        with self._table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch:
            for m in entries:
                legacy = legacy_sk(m.pos_kind, m.pos_id)
                for sk in (mapping_sk(m), *([legacy] if legacy else []), *reverse_keys(m)):
                    batch.delete_item(Key={"PK": pk, "SK": sk})

    def _query(self, tenant_id: str, prefix: str, keys_only: bool = False) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(tenant_pk(tenant_id)) & Key("SK").begins_with(prefix),
            "ConsistentRead": True,
        }
        if keys_only:
            kwargs["ProjectionExpression"] = "PK, SK"
        while True:
            page = self._table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _parsed(items: list[dict[str, Any]]) -> list[CatalogMapping]:
    """The entries these items hold; a legacy item's kind (its key's and its `pos_kind`) read as the neutral one, and
    an entry found under both keys read from its neutral key."""
    found: dict[tuple[str, str], CatalogMapping] = {}
    for item in items:
        kind, _, pos_id = str(item["SK"])[len(POS_PREFIX) :].partition("#")
        data = {k: v for k, v in item.items() if k in CatalogMapping.model_fields and v is not None}
        data.setdefault("pos_kind", kind)
        data.setdefault("pos_id", pos_id)
        data.setdefault("wix_kind", "variant" if data.get("wix_variant_id") else "item")
        data.setdefault("wix_entities", ())
        data.setdefault("content_hash", "")
        try:
            mapping = CatalogMapping.model_validate(data)  # PosKind maps a legacy pos_kind
        except ValidationError:
            continue  # not a catalog mapping this code can read: left alone
        key = (mapping.pos_kind, mapping.pos_id)
        if kind not in LEGACY_KINDS or key not in found:
            found[key] = mapping
    return list(found.values())
