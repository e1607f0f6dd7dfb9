"""CreateDraft's rule: the canonical catalog -> the full tree of Wix entities to build, within every Wix limit.

The plan is the draft posbridge owns (Menus (New) has none): one node per Wix entity, in the build order Wix
recommends (variants, modifiers, modifier groups, items, sections, menus), each with its Wix body and references to
the nodes it needs (plan keys, resolved to Wix ids once those exist). Nothing here calls Wix.

Wix limits (wix-api.md section 7) are respected here, so nothing is sent to fail: a section over 300 items and a
menu over 100 sections are split ("Mains", "Mains (2)"); more than 25 modifier groups on an item, 500 modifiers in a
group or 500 price variants are cut and reported; names and descriptions over their lengths are shortened and
reported; selection rules are capped at 25. New menus are created hidden, sections and items visible but reachable
only through those menus, so nothing is visible to customers before Publish.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from posbridge.domain.catalog import (
    LEGACY_KINDS,
    Catalog,
    Issue,
    Modifier,
    PosKind,
    content_hashes,
    variation_parts,
)
from posbridge.ports.wix import NAME_MAX, WixKind

BUILD_ORDER: tuple[WixKind, ...] = ("variant", "modifier", "modifierGroup", "item", "section", "menu")
ITEMS_PER_SECTION = 300
SECTIONS_PER_MENU = 100
GROUPS_PER_ITEM = 25
MODIFIERS_PER_GROUP = 500
PRICE_VARIANTS_PER_ITEM = 500
SELECTIONS_MAX = 25
DESCRIPTION_MAX = 1500

RefField = Literal["priceVariants", "modifierGroups", "modifiers", "itemIds", "sectionIds"]


class Ref(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: RefField
    key: str
    extra: dict[str, Any] = {}


class PlanNode(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str  # unique in the plan: "<kind>:<pos id>[:n]"
    kind: WixKind
    pos_kind: PosKind
    pos_id: str
    body: dict[str, Any]  # the Wix entity without its references
    refs: tuple[Ref, ...] = ()

    @property
    def name(self) -> str:
        return str(self.body.get("name", ""))


class VariationEntry(BaseModel):
    """Where a POS variation lands: its item, its variant (when the item has several), its first menu and section."""

    model_config = ConfigDict(frozen=True)

    pos_id: str
    item_key: str
    variant_key: str | None
    menu_key: str | None
    section_key: str | None


class Plan(BaseModel):
    nodes: dict[WixKind, list[PlanNode]]
    variations: list[VariationEntry]
    # "<POS KIND>#<pos id>" -> content hash; "VARIANT_NAME#" / "PRICE#<variation id>" its parts; "WHOLE#<group id>" the
    # group's hash as mapped before modifier_parts (its modifiers whole), which the sync still takes as unchanged
    hashes: dict[str, str]
    issues: list[Issue]
    placements: dict[str, str] = {}  # item pos id -> Item.placement

    @field_validator("hashes", mode="before")
    @classmethod
    def _neutral_keys(cls, hashes: Any) -> Any:
        """A plan written before the neutral kinds (a catalog job in flight across the upgrade) keys its hashes by the
        legacy kinds, and a variation's name part by "VARIANT#": read under today's keys, so its Publish maps every
        hash and the next sync rewrites nothing that did not change."""
        if not isinstance(hashes, dict) or not any(str(k).partition("#")[0] in LEGACY_KINDS for k in hashes):
            return hashes
        renamed: dict[str, Any] = {}
        for key, value in hashes.items():
            kind, sep, pos_id = str(key).partition("#")
            renamed[f"{'VARIANT_NAME' if kind == 'VARIANT' else LEGACY_KINDS.get(kind, kind)}{sep}{pos_id}"] = value
        return renamed

    def totals(self) -> dict[str, int]:
        return {kind: len(self.nodes.get(kind, [])) for kind in BUILD_ORDER}

    def by_key(self) -> dict[str, PlanNode]:
        return {n.key: n for kind in BUILD_ORDER for n in self.nodes.get(kind, [])}


class _Planner:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def note(self, kind: PosKind, pos_id: str, name: str, problem: str) -> None:
        self.issues.append(Issue(kind=kind, pos_id=pos_id, name=name, problem=problem))

    def name(self, kind: WixKind, pos_kind: PosKind, pos_id: str, name: str, suffix: str = "") -> str:
        """Within the kind's length, never empty; a shortened or invented name is reported."""
        limit = NAME_MAX[kind]
        base = name.strip()
        if not base:
            base = f"Unnamed {kind}"
            self.note(pos_kind, pos_id, name, f"no name: imported as {base!r}")
        if len(base) + len(suffix) > limit:
            self.note(pos_kind, pos_id, name, f"name longer than {limit} characters: shortened")
            base = base[: limit - len(suffix) - 1].rstrip() + "…"
        return base + suffix

    def description(self, pos_kind: PosKind, pos_id: str, name: str, text: str) -> dict[str, str]:
        if not text:
            return {}
        if len(text) > DESCRIPTION_MAX:
            self.note(pos_kind, pos_id, name, f"description longer than {DESCRIPTION_MAX} characters: shortened")
            text = text[: DESCRIPTION_MAX - 1] + "…"
        return {"description": text}


def build_plan(catalog: Catalog) -> Plan:
    p = _Planner()
    nodes: dict[WixKind, list[PlanNode]] = {kind: [] for kind in BUILD_ORDER}
    hashes = {f"{kind}#{pos_id}": h for (kind, pos_id), h in content_hashes(catalog).items()}
    for item in catalog.items.values():
        for v in item.variations:
            hashes |= {f"{part}#{v.pos_id}": h for part, h in variation_parts(v).items()}
    hashes |= {f"WHOLE#{g.pos_id}": g.content_hash() for g in catalog.modifier_groups.values()}

    planned_modifiers: set[str] = set()  # groups derived from one POS list share its modifiers (one Wix modifier each)
    for group in catalog.modifier_groups.values():
        modifiers = group.modifiers
        if len(modifiers) > MODIFIERS_PER_GROUP:
            p.note(
                "MODIFIER_GROUP", group.pos_id, group.name, f"over {MODIFIERS_PER_GROUP} modifiers: the rest left out"
            )
            modifiers = modifiers[:MODIFIERS_PER_GROUP]
        refs = []
        for m in modifiers:
            if m.pos_id in planned_modifiers:
                refs.append(_modifier_ref(m))
                continue
            planned_modifiers.add(m.pos_id)
            nodes["modifier"].append(
                PlanNode(
                    key=f"modifier:{m.pos_id}",
                    kind="modifier",
                    pos_kind="MODIFIER",
                    pos_id=m.pos_id,
                    body={"name": p.name("modifier", "MODIFIER", m.pos_id, m.name), "inStock": m.in_stock},
                )
            )
            refs.append(_modifier_ref(m))
        high = group.max_selections if group.max_selections is not None else len(modifiers)
        high = min(high, len(modifiers), SELECTIONS_MAX)
        low = min(group.min_selections, high)
        if group.min_selections > high or (group.max_selections or 0) > SELECTIONS_MAX:
            p.note("MODIFIER_GROUP", group.pos_id, group.name, f"selection rule capped to {low}..{high}")
        rule = {"required": low > 0, "minSelections": low, "maxSelections": high}
        nodes["modifierGroup"].append(
            PlanNode(
                key=f"group:{group.pos_id}",
                kind="modifierGroup",
                pos_kind="MODIFIER_GROUP",
                pos_id=group.pos_id,
                body={"name": p.name("modifierGroup", "MODIFIER_GROUP", group.pos_id, group.name), "rule": rule},
                refs=tuple(refs),
            )
        )

    placements = _first_placements(catalog)
    variations: list[VariationEntry] = []
    for item in catalog.items.values():
        item_key = f"item:{item.pos_id}"
        menu_key, section_key = placements.get(item.pos_id, (None, None))
        body: dict[str, Any] = {
            "name": p.name("item", "ITEM", item.pos_id, item.name),
            **p.description("ITEM", item.pos_id, item.name, item.description),
            "visible": True,
            "orderSettings": {"inStock": item.in_stock},
        }
        refs = []
        if len(item.variations) == 1:
            body["priceInfo"] = {"price": item.variations[0].price.decimal_string()}
            variations.append(VariationEntry(
                pos_id=item.variations[0].pos_id, item_key=item_key, variant_key=None,
                menu_key=menu_key, section_key=section_key,
            ))  # fmt: skip
        else:
            for v in item.variations:
                variant_key = f"variant:{v.pos_id}"
                nodes["variant"].append(
                    PlanNode(
                        key=variant_key,
                        kind="variant",
                        pos_kind="VARIANT",
                        pos_id=v.pos_id,
                        body={"name": p.name("variant", "VARIANT", v.pos_id, v.name)},
                    )
                )
                variations.append(VariationEntry(
                    pos_id=v.pos_id, item_key=item_key, variant_key=variant_key,
                    menu_key=menu_key, section_key=section_key,
                ))  # fmt: skip
            # Wix has no stock per variant: a sold-out size is left out of the choices while others are available.
            offered = [v for v in item.variations if v.in_stock] or list(item.variations)
            for v in item.variations:
                if v not in offered:
                    p.note("VARIANT", v.pos_id, v.name, "sold out: not offered until back in stock")
            if len(offered) > PRICE_VARIANTS_PER_ITEM:
                p.note("ITEM", item.pos_id, item.name, f"over {PRICE_VARIANTS_PER_ITEM} variations: the rest left out")
                offered = offered[:PRICE_VARIANTS_PER_ITEM]
            refs += [
                Ref(
                    field="priceVariants",
                    key=f"variant:{v.pos_id}",
                    extra={"priceInfo": {"price": v.price.decimal_string()}},
                )
                for v in offered
            ]
        group_ids = item.modifier_group_ids
        if len(group_ids) > GROUPS_PER_ITEM:
            p.note("ITEM", item.pos_id, item.name, f"over {GROUPS_PER_ITEM} modifier groups: the rest left out")
            group_ids = group_ids[:GROUPS_PER_ITEM]
        refs += [Ref(field="modifierGroups", key=f"group:{g}") for g in group_ids]
        nodes["item"].append(
            PlanNode(key=item_key, kind="item", pos_kind="ITEM", pos_id=item.pos_id, body=body, refs=tuple(refs))
        )

    for menu in catalog.menus:
        section_keys: list[str] = []
        for section in menu.sections:
            chunks = _chunks(list(section.item_ids), ITEMS_PER_SECTION)
            if len(chunks) > 1:
                p.note("CATEGORY", section.pos_id, section.name,
                       f"{len(section.item_ids)} items: split into {len(chunks)} sections of at most "
                       f"{ITEMS_PER_SECTION}")  # fmt: skip
            for n, chunk in enumerate(chunks, 1):
                key = _section_key(menu.pos_id, section.pos_id, n)
                section_keys.append(key)
                suffix = "" if n == 1 else f" ({n})"
                nodes["section"].append(
                    PlanNode(
                        key=key,
                        kind="section",
                        pos_kind="CATEGORY",
                        pos_id=section.pos_id,
                        body={
                            "name": p.name("section", "CATEGORY", section.pos_id, section.name, suffix),
                            **p.description("CATEGORY", section.pos_id, section.name, section.description),
                            "visible": True,
                        },
                        refs=tuple(Ref(field="itemIds", key=f"item:{i}") for i in chunk),
                    )
                )
        menu_chunks = _chunks(section_keys, SECTIONS_PER_MENU)
        if len(menu_chunks) > 1:
            p.note("CATEGORY", menu.pos_id, menu.name,
                   f"{len(section_keys)} sections: split into {len(menu_chunks)} menus of at most "
                   f"{SECTIONS_PER_MENU}")  # fmt: skip
        for n, chunk in enumerate(menu_chunks, 1):
            suffix = "" if n == 1 else f" ({n})"
            nodes["menu"].append(
                PlanNode(
                    key=_menu_key(menu.pos_id, n),
                    kind="menu",
                    pos_kind="CATEGORY",
                    pos_id=menu.pos_id,
                    body={
                        "name": p.name("menu", "CATEGORY", menu.pos_id, menu.name, suffix),
                        **p.description("CATEGORY", menu.pos_id, menu.name, menu.description),
                        "visible": False,  # shown only by Publish
                    },
                    refs=tuple(Ref(field="sectionIds", key=k) for k in chunk),
                )
            )
    return Plan(
        nodes=nodes,
        variations=variations,
        hashes=hashes,
        issues=[*catalog.issues, *p.issues],
        placements={item.pos_id: item.placement for item in catalog.items.values()},
    )


def _modifier_ref(m: Modifier) -> Ref:
    """A group's entry for a modifier: its pre-selection and price live on the group (wix-api.md section 7)."""
    extra: dict[str, Any] = {"preSelected": m.pre_selected}
    if m.price is not None:
        extra["additionalChargeInfo"] = {"additionalCharge": m.price.decimal_string()}
    return Ref(field="modifiers", key=f"modifier:{m.pos_id}", extra=extra)


def _menu_key(menu_pos_id: str, n: int) -> str:
    return f"menu:{menu_pos_id}:{n}"


def _section_key(menu_pos_id: str, section_pos_id: str, n: int) -> str:
    return f"section:{menu_pos_id}:{section_pos_id}:{n}"


def _first_placements(catalog: Catalog) -> dict[str, tuple[str, str]]:
    """Each item's first (menu key, section key): what an order line imported from the POS will point at."""
    found: dict[str, tuple[str, str]] = {}
    for menu in catalog.menus:
        count = 0
        for section in menu.sections:
            for n, chunk in enumerate(_chunks(list(section.item_ids), ITEMS_PER_SECTION), 1):
                menu_n = count // SECTIONS_PER_MENU + 1
                count += 1
                for item_id in chunk:
                    found.setdefault(
                        item_id, (_menu_key(menu.pos_id, menu_n), _section_key(menu.pos_id, section.pos_id, n))
                    )
    return found


def _chunks(values: list[str], size: int) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)] or [[]]


def resolve(node: PlanNode, created: dict[str, str]) -> tuple[dict[str, Any] | None, list[str]]:
    """The node's Wix body with references made Wix ids, and the keys it needed but that do not exist (rejected).

    None when the entity cannot be built at all: a group with no modifier, an item whose every variant failed, a
    section with no item, a menu with no section.
    """
    body = dict(node.body)
    missing: list[str] = []
    lists: dict[RefField, list[Any]] = {}
    for ref in node.refs:
        wix_id = created.get(ref.key)
        if wix_id is None:
            missing.append(ref.key)
            continue
        if ref.field in ("itemIds", "sectionIds"):
            value: Any = wix_id
        elif ref.field == "priceVariants":
            value = {"variantId": wix_id, **ref.extra}
        else:
            value = {"id": wix_id, **ref.extra}
        lists.setdefault(ref.field, []).append(value)
    needed: RefField | None = None
    if node.kind == "modifierGroup":
        needed = "modifiers"
    elif node.kind == "section":
        needed = "itemIds"
    elif node.kind == "menu":
        needed = "sectionIds"
    elif node.kind == "item" and any(r.field == "priceVariants" for r in node.refs):
        needed = "priceVariants"
    if needed is not None and not lists.get(needed):
        return None, missing
    for field, values in lists.items():
        body[field] = {"variants": values} if field == "priceVariants" else values
    return body, missing
