"""python -m bench: run every benchmark, print a table, write bench/results.json."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from bench import catalog, catalog_sync, coldstart, cost, flow1, flow23, order_money, startup

RESULTS = Path(__file__).resolve().parent / "results.json"


def main() -> None:
    rows = startup.rows() + coldstart.rows() + flow1.rows() + order_money.rows() + flow23.rows()
    rows += catalog.rows() + catalog_sync.rows() + cost.rows()
    width = max(len(str(r["metric"])) for r in rows)
    print(f"{'metric':<{width}}  {'value':>9}  unit  ratio")
    for row in rows:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        print(f"{row['metric']!s:<{width}}  {row['value']!s:>9}  {row['unit']!s:<4}  {ratio}")
    RESULTS.write_text(
        json.dumps(
            {
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": {
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "processor_count": _cpus(),
                },
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
