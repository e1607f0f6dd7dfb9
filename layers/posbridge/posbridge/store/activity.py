"""The restaurant page's read of its recent orders, both ways, from the records the flows already write
(store/orders.py, store/order_sync.py):

    SK ORDER#WIX#<wixOrderId>       origin wix: an online order sent to the POS; origin pos: one imported from it
    SK ORDERSYNC#POS#<posOrderId>   a POS order's Wix status last applied
    SK ORDERSKIP#WIX#<id> / ORDERSKIP#POS#<id>   an order not sent / not imported, with the reason

One Query of the tenant's partition over `begins_with(SK, "ORDER")` with a projection of those few attributes. Order
ids are random, so the keys are not in time order: the page's rows are the newest of at most READ_MOST records
(a restaurant with a longer history needs an index by time: see the README's restaurant page section).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from posbridge.domain.activity import OrderActivity
from posbridge.store.table import TableStore
from posbridge.store.tenants import tenant_pk

READ_MOST = 2000
_ATTRIBUTES = (
    "SK",
    "origin",
    "pos_order_id",
    "wix_order_id",
    "created_at",
    "to_collect_minor",
    "wix_status",
    "wix_canceled",
    "applied_updated_at",
    "recorded_at",  # skips only
    "reason",
)


def _when(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class OrderActivityStore(TableStore):
    def recent(self, tenant_id: str, limit: int = 20) -> list[OrderActivity]:
        items = self._read(tenant_id)
        synced = {str(i["SK"]).removeprefix("ORDERSYNC#POS#"): i for i in items if i["SK"].startswith("ORDERSYNC#")}
        rows: list[OrderActivity] = []
        for item in items:
            sk = str(item["SK"])
            if sk.startswith("ORDER#WIX#") and item.get("origin", "wix") == "wix":
                collect = item.get("to_collect_minor")
                sync = synced.pop(str(item.get("pos_order_id")), {})  # the kitchen's progress, applied to Wix
                rows.append(
                    OrderActivity(
                        "wix_to_pos", _when(item.get("created_at")), sk.removeprefix("ORDER#WIX#"),
                        item.get("pos_order_id"), "sent", wix_status=sync.get("wix_status"),
                        wix_canceled=bool(sync.get("wix_canceled", False)),
                        to_collect_minor=None if collect is None else int(collect),
                    )
                )  # fmt: skip
            elif sk.startswith("ORDER#WIX#"):
                pos_id = str(item.get("pos_order_id"))
                sync = synced.pop(pos_id, {})
                rows.append(self._imported(sk.removeprefix("ORDER#WIX#"), pos_id, item, sync))
            elif sk.startswith("ORDERSKIP#"):
                side, order_id = sk.removeprefix("ORDERSKIP#").split("#", 1)
                wix = side == "WIX"
                rows.append(
                    OrderActivity(
                        "wix_to_pos" if wix else "pos_to_wix", _when(item.get("recorded_at")),
                        order_id if wix else None, None if wix else order_id, "skipped",
                        skip_reason=str(item.get("reason") or ""),
                    )
                )  # fmt: skip
        for pos_id, sync in synced.items():  # a status applied to an order whose mapping the read did not reach
            rows.append(self._imported(sync.get("wix_order_id"), pos_id, {}, sync))
        rows.sort(key=lambda r: r.at, reverse=True)
        return rows[:limit]

    @staticmethod
    def _imported(wix_id: Any, pos_id: str, mapping: dict[str, Any], sync: dict[str, Any]) -> OrderActivity:
        # the later of its import and the kitchen's last move on the POS
        at = max(_when(mapping.get("created_at")), _when(sync.get("applied_updated_at")))
        return OrderActivity(
            "pos_to_wix", at, None if wix_id is None else str(wix_id), pos_id, "imported",
            wix_status=sync.get("wix_status"), wix_canceled=bool(sync.get("wix_canceled", False)),
        )  # fmt: skip

    def _read(self, tenant_id: str) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(tenant_pk(tenant_id)) & Key("SK").begins_with("ORDER"),
            "FilterExpression": ~Attr("SK").begins_with("ORDER#POS#"),  # the other side of the same mappings
            "ProjectionExpression": ", ".join(f"#a{i}" for i in range(len(_ATTRIBUTES))),
            "ExpressionAttributeNames": {f"#a{i}": name for i, name in enumerate(_ATTRIBUTES)},
        }
        items: list[dict[str, Any]] = []
        while len(items) < READ_MOST:
            page = self._table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items[:READ_MOST]
