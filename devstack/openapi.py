"""The admin API's OpenAPI document, generated from the admin function's routes (Powertools, enable_validation).

`python -m devstack.openapi` writes docs/openapi.json; tests/unit/test_openapi.py fails when the file is stale."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
ADMIN_APP = ROOT / "functions" / "admin" / "app.py"
DOCUMENT = ROOT / "docs" / "openapi.json"
# Import-time settings only: nothing is called, boto3 clients are created on first use.
_ENV = {
    "MAPPINGS_TABLE": "mappings",
    "TENANT_SECRET_PREFIX": "posbridge/stack/tenants",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "posbridge-admin",
}


def _admin_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("posbridge_admin_openapi", ADMIN_APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, _ENV):
        spec.loader.exec_module(module)
    return module


def document() -> str:
    """The document as committed: sorted keys, two-space indent, trailing newline."""
    app = _admin_module().app
    schema = app.get_openapi_json_schema(
        title="posbridge admin API",
        version="1.0.0",
        description="Operator API of posbridge. Every route is AWS_IAM-authorized (SigV4, service execute-api) in AWS; "
        "the devstack serves it unsigned on 127.0.0.1. Request bodies over 64 KB are refused with 413.",
    )
    return json.dumps(json.loads(schema), indent=2, sort_keys=True) + "\n"


def main() -> int:
    DOCUMENT.parent.mkdir(exist_ok=True)
    DOCUMENT.write_text(document())
    print(f"wrote {DOCUMENT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
