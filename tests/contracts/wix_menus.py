"""Shared by the Menus contract tests: the SDK's names per kind, and entity bodies as the catalog flows build them."""

from __future__ import annotations

import uuid
from typing import Any

from posbridge.domain.catalog import Catalog, Item, Menu, Modifier, ModifierGroup, Section, Variation
from posbridge.domain.money import Money
from posbridge.flows.catalog_plan import Plan, build_plan, resolve
from posbridge.ports.wix import WixKind
from posbridge.wix.menus_api import ENTITIES

LOCATIONS = "@wix/auto_sdk_business-tools_locations"
KINDS: tuple[WixKind, ...] = ("variant", "modifier", "modifierGroup", "item", "section", "menu")  # build order


class Sdk:
    """The SDK's public function and REST type names for one kind (index.typings.d.ts / meta.d.ts)."""

    def __init__(self, kind: WixKind) -> None:
        self.module = ENTITIES[kind].sdk
        plural = ENTITIES[kind].plural
        title = plural[0].upper() + plural[1:]  # "ModifierGroups"
        one = kind[0].upper() + kind[1:]  # "ModifierGroup"
        # Items, sections and menus name their bulk update in the singular (bulkUpdateItem, BulkUpdateItemRequest).
        update = one if kind in ("item", "section", "menu") else title
        self.bulk_create, self.bulk_update = f"bulkCreate{title}", f"bulkUpdate{update}"
        self.bulk_delete, self.delete_one, self.query = f"bulkDelete{title}", f"delete{one}", f"typedQuery{title}"
        self.create_request, self.update_request = f"BulkCreate{title}Request", f"BulkUpdate{update}Request"
        self.create_response, self.update_response = f"BulkCreate{title}Response", f"BulkUpdate{update}Response"
        self.delete_request, self.delete_response = f"BulkDelete{title}Request", f"BulkDelete{title}Response"
        self.query_request, self.query_response = f"Query{title}Request", f"Query{title}Response"


def guid() -> str:
    return str(uuid.uuid4())


def usd(cents: int) -> Money:
    return Money.from_minor_units(cents, "USD")


def sample_plan() -> Plan:
    """The catalog flows' plan for a small POS catalog: a sized dish with two prices and a modifier group, a soup."""
    group = ModifierGroup(
        pos_id="g", name="Toppings", required=True, min_selections=1, max_selections=2,
        modifiers=(Modifier(pos_id="m1", name="Cheese", price=usd(150)), Modifier(pos_id="m2", name="Basil")),
    )  # fmt: skip
    sized = Item(pos_id="pizza", name="Pizza", description="Wood fired", variations=(
        Variation(pos_id="pizza-s", name="Small", price=usd(900)),
        Variation(pos_id="pizza-l", name="Large", price=usd(1250)),
    ), modifier_group_ids=("g",))  # fmt: skip
    soup = Item(pos_id="soup", name="Soup", variations=(Variation(pos_id="soup-v", name="Bowl", price=usd(450)),))
    mains = Section(pos_id="s", name="Mains", item_ids=("pizza", "soup"))
    catalog = Catalog(
        menus=(Menu(pos_id="menu", name="Dinner", sections=(mains,)),),
        items={"pizza": sized, "soup": soup}, modifier_groups={"g": group}, currency="USD",
    )  # fmt: skip
    return build_plan(catalog)


def bodies_of(plan: Plan, kind: WixKind, created: dict[str, str]) -> list[dict[str, Any]]:
    """The kind's bodies with references resolved to the Wix ids in `created` (plan key -> id)."""
    resolved = [resolve(node, created) for node in plan.nodes[kind]]
    bodies = [body for body, missing in resolved if body is not None and not missing]
    assert bodies, f"the plan has no {kind} buildable from {sorted(created)}"
    return bodies


def planned_bodies() -> dict[WixKind, list[dict[str, Any]]]:
    """What the catalog flows really send per kind, references resolved to GUIDs as after creation."""
    plan = sample_plan()
    created = {node.key: guid() for nodes in plan.nodes.values() for node in nodes}
    return {kind: bodies_of(plan, kind, created) for kind in KINDS}
