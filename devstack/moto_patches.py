"""Two fixes to moto 5.2.5's DynamoDB TransactWriteItems, applied to the devstack's moto server.

moto backs a transaction up by deep-copying every table it touches, once per item, and rolls a failed one back by
putting those copies in place of the tables. So every transaction costs time and memory in proportion to the whole
table (the 1,000-order soak grew to about 20 GB with it and stays under 520 MB without), and a rollback erased the
writes other requests made to those tables meanwhile: a devstack that loses writes under load is laxer than AWS,
never stricter. Here the backup is the items the transaction names, and a rollback restores those items only.
Transactions also run one at a time, as DynamoDB isolates them (it refuses a conflicting one; moto would interleave).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_transactions = threading.Lock()
_Saved = list[tuple[str, dict[str, Any], dict[str, Any] | None]]  # (table, key, item before, None: absent)


class _CopyAllButTables:
    """moto's module sees this as `copy`: tables are not copied (the items are backed up instead)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _named_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> _Saved:
    """Each item the transaction names, as it is now. An entry moto will refuse (unknown table, no key) is skipped:
    moto raises before it writes anything for it."""
    saved: _Saved = []
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table = backend.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            current = backend.get_item(op["TableName"], key)
        except Exception:  # moto's own validation answers for it
            continue
        before = None if current is None else copy.deepcopy(current.to_json()["Attributes"])
        saved.append((op["TableName"], key, before))
    return saved


def _restore(backend: DynamoDBBackend, saved: _Saved) -> None:
    for table_name, key, before in reversed(saved):
        if before is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, before)


def install() -> None:
    """Idempotent: patches the backend class once per process."""
    if getattr(DynamoDBBackend.transact_write_items, "_posbridge_patched", False):
        return
    original = DynamoDBBackend.transact_write_items
    dynamodb_models.copy = _CopyAllButTables()  # type: ignore[assignment,attr-defined]

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with _transactions:
            saved = _named_items(self, transact_items)
            try:
                original(self, transact_items)
            except Exception:
                _restore(self, saved)
                raise

    transact_write_items._posbridge_patched = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
