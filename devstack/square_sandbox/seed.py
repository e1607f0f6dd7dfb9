"""A small restaurant catalog, as a seller would build it in the Square Dashboard.

"Dinner" is a menu (top-level MENU_CATEGORY) whose sections are child menu categories; "Kitchen" and "Bar" are
REGULAR_CATEGORY reporting / kitchen-routing categories, so both kinds appear as Square advises handling them.
Tiramisu is sold out at the location.
"""

from __future__ import annotations

from typing import Any

from devstack.square_sandbox import catalog
from devstack.square_sandbox.state import Merchant

SOLD_OUT = "#tiramisu-slice"


def _category(
    temp_id: str, name: str, category_type: str, parent: str | None = None, ordinal: int = 0
) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "category_type": category_type}
    if parent:
        data["parent_category"] = {"id": parent, "ordinal": ordinal}
    return {"type": "CATEGORY", "id": temp_id, "category_data": data}


def _modifier_list(temp_id: str, name: str, selection: str, modifiers: list[tuple[str, str, int]]) -> dict[str, Any]:
    """`selection_type` is deprecated (CatalogModifierList): min/max_selected_modifiers are the rule, -1 "not set"."""
    return {
        "type": "MODIFIER_LIST",
        "id": temp_id,
        "modifier_list_data": {
            "name": name,
            "selection_type": selection,
            "min_selected_modifiers": -1,
            "max_selected_modifiers": 1 if selection == "SINGLE" else -1,
            "modifiers": [
                {
                    "type": "MODIFIER",
                    "id": mod_id,
                    "modifier_data": {
                        "name": mod_name,
                        "price_money": {"amount": cents, "currency": "USD"},
                        "ordinal": k,
                    },
                }
                for k, (mod_id, mod_name, cents) in enumerate(modifiers)
            ],
        },
    }


def _item(
    temp_id: str,
    name: str,
    section: str,
    regular: str,
    variations: list[tuple[str, str, int]],
    modifier_lists: tuple[str, ...] = (),
    description: str = "",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "description": description,
        "categories": [{"id": section, "ordinal": 0}, {"id": regular}],
        "variations": [
            {
                "type": "ITEM_VARIATION",
                "id": var_id,
                "item_variation_data": {
                    "name": var_name,
                    "ordinal": k,
                    "pricing_type": "FIXED_PRICING",
                    "price_money": {"amount": cents, "currency": "USD"},
                },
            }
            for k, (var_id, var_name, cents) in enumerate(variations)
        ],
    }
    if modifier_lists:
        data["modifier_list_info"] = [{"modifier_list_id": ml, "enabled": True} for ml in modifier_lists]
    return {"type": "ITEM", "id": temp_id, "item_data": data}


def objects() -> list[dict[str, Any]]:
    return _arranged(
        [
            _category("#dinner", "Dinner", "MENU_CATEGORY"),
            _category("#starters", "Starters", "MENU_CATEGORY", "#dinner", 0),
            _category("#mains", "Mains", "MENU_CATEGORY", "#dinner", 1),
            _category("#desserts", "Desserts", "MENU_CATEGORY", "#dinner", 2),
            _category("#drinks", "Drinks", "MENU_CATEGORY", "#dinner", 3),
            _category("#kitchen", "Kitchen", "REGULAR_CATEGORY"),
            _category("#bar", "Bar", "REGULAR_CATEGORY"),
            _modifier_list(
                "#crust",
                "Crust",
                "SINGLE",
                [("#crust-thin", "Thin crust", 0), ("#crust-stuffed", "Stuffed crust", 250)],
            ),
            _modifier_list(
                "#toppings",
                "Extra toppings",
                "MULTIPLE",
                [
                    ("#top-mushrooms", "Mushrooms", 150),
                    ("#top-olives", "Olives", 100),
                    ("#top-cheese", "Extra cheese", 200),
                ],
            ),
            _item(
                "#garlic-bread", "Garlic Bread", "#starters", "#kitchen", [("#garlic-bread-regular", "Regular", 650)]
            ),
            _item(
                "#soup",
                "Tomato Soup",
                "#starters",
                "#kitchen",
                [("#soup-cup", "Cup", 500), ("#soup-bowl", "Bowl", 800)],
            ),
            _item(
                "#caesar",
                "Caesar Salad",
                "#starters",
                "#kitchen",
                [("#caesar-small", "Small", 700), ("#caesar-large", "Large", 1100)],
            ),
            _item(
                "#margherita",
                "Margherita Pizza",
                "#mains",
                "#kitchen",
                [("#margherita-small", "Small", 1200), ("#margherita-large", "Large", 1600)],
                ("#crust", "#toppings"),
                "Tomato, mozzarella, basil.",
            ),
            _item(
                "#burger", "Cheeseburger", "#mains", "#kitchen", [("#burger-regular", "Regular", 1350)], ("#toppings",)
            ),
            _item("#salmon", "Grilled Salmon", "#mains", "#kitchen", [("#salmon-regular", "Regular", 2400)]),
            _item("#risotto", "Mushroom Risotto", "#mains", "#kitchen", [("#risotto-regular", "Regular", 1700)]),
            _item("#tiramisu", "Tiramisu", "#desserts", "#kitchen", [(SOLD_OUT, "Slice", 750)]),
            _item(
                "#lava-cake", "Chocolate Lava Cake", "#desserts", "#kitchen", [("#lava-cake-regular", "Regular", 800)]
            ),
            _item(
                "#lemonade",
                "Lemonade",
                "#drinks",
                "#bar",
                [("#lemonade-regular", "Regular", 350), ("#lemonade-large", "Large", 450)],
            ),
            _item(
                "#espresso",
                "Espresso",
                "#drinks",
                "#bar",
                [("#espresso-single", "Single", 250), ("#espresso-double", "Double", 350)],
            ),
        ]
    )


def _arranged(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each item's ordinal in its menu section, in list order, as the Dashboard sets them when a seller arranges
    a menu."""
    counts: dict[str, int] = {}
    for obj in objects:
        if obj["type"] == "ITEM":
            placement = obj["item_data"]["categories"][0]
            placement["ordinal"] = counts.get(placement["id"], 0)
            counts[placement["id"]] = placement["ordinal"] + 1
    return objects


def seed(m: Merchant) -> list[dict[str, Any]]:
    """Load the sample catalog once; later calls return the same objects at their current versions."""
    if not m.seeded_ids:
        id_map: dict[str, str] = {}
        m.seeded_ids, _ = catalog.upsert_batch(m, objects(), "objects", id_map)
        # sold_out is not writable through the API: set it as the POS does, in the same catalog version.
        overrides = m.catalog[id_map[SOLD_OUT]]["item_variation_data"].setdefault("location_overrides", [])
        overrides.append({"location_id": m.location_id, "sold_out": True})
        catalog.emit_version_updated(m)
    render = catalog.renderer(m)
    return [render(m.catalog[i]) for i in m.seeded_ids if not m.catalog[i]["is_deleted"]]
