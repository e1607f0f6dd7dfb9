"""Cold-start import time of each handler module (python -X importtime), next to a bare boto3 handler."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
BARE = ROOT / "bench" / "bare_handler"
RUNS = 7


def _handler_env() -> dict[str, str]:
    """What template.yaml would give the functions, with harmless local values (nothing is called at import)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "posbridge",
        "WIX_APP_ID": "bench",
        "WIX_WEBHOOK_PUBLIC_KEY": pem,
        "WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench.fifo",
        "MAPPINGS_TABLE": "bench",
        "TENANT_SECRET_PREFIX": "posbridge/bench/tenants",
        "IDEMPOTENCY_TABLE": "bench-idempotency",
        "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-dlq.fifo",
        "POS_API_BASE_URL": "https://connect.squareup.com",
        "WIX_API_BASE_URL": "https://www.wixapis.com",
        "WIX_APP_SECRET_NAME": "posbridge/bench/wix-app-secret",
    }


def import_ms(code_dir: Path, env: dict[str, str]) -> float:
    """Median cumulative import time of `app` (module body included) in a fresh interpreter."""
    samples = []
    for _ in range(RUNS):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import app"],
            cwd=code_dir,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        match = re.search(r"^import time:\s+\d+ \|\s+(\d+) \| app$", result.stderr, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no importtime line for app in {code_dir}")
        samples.append(int(match.group(1)) / 1000)
    return statistics.median(samples)


def rows() -> list[dict[str, object]]:
    env = _handler_env()
    bare = import_ms(BARE, env)
    out: list[dict[str, object]] = [
        {"metric": "cold-start import: bare boto3 handler", "value": round(bare, 1), "unit": "ms", "ratio": 1.0}
    ]
    for code_dir in sorted((ROOT / "functions").iterdir()):
        if (code_dir / "app.py").exists():
            ms = import_ms(code_dir, env)
            out.append(
                {
                    "metric": f"cold-start import: {code_dir.name}",
                    "value": round(ms, 1),
                    "unit": "ms",
                    "ratio": round(ms / bare, 2),
                }
            )
    return out
