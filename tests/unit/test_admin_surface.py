"""The admin surface: every /admin route IAM-authorized, its OpenAPI document generated and committed, the CLI
mirroring it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from devstack.openapi import DOCUMENT, document
from devstack.template import api_routes, load_sam

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


def _template_admin_routes() -> dict[tuple[str, str], bool]:
    return {(r.method, r.path): r.iam_auth for r in api_routes(load_sam(TEMPLATE)) if r.path.startswith("/admin")}


def _normalised(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_admin_route_is_iam_authorized() -> None:
    # Given the admin routes of template.yaml
    routes = _template_admin_routes()
    # Then there are some, and none is open
    assert len(routes) >= 10
    assert [route for route, iam in routes.items() if not iam] == []


def test_the_committed_openapi_document_is_current() -> None:
    # Given the document the admin function's routes generate
    # Then docs/openapi.json is exactly it (regenerate: `make openapi`)
    assert DOCUMENT.exists(), "run `make openapi`"
    assert DOCUMENT.read_text() == document(), "docs/openapi.json is stale: run `make openapi`"


def test_the_openapi_document_and_the_template_declare_the_same_admin_routes() -> None:
    # Given the OpenAPI paths and the template's routes
    spec = json.loads(DOCUMENT.read_text())
    documented = {(method.upper(), _normalised(path)) for path, ops in spec["paths"].items() for method in ops}
    declared = {(method, _normalised(path)) for method, path in _template_admin_routes()}
    # Then each documented route is served by API Gateway and each served route is documented
    assert documented == declared
