"""The official Wix SDK modules (contracts/wix, pinned by its package-lock.json) as a test oracle.

`WixSdk.request(module, fn, *args)` answers the HTTP request the SDK's own public function builds for those arguments;
`WixSdk.send(...)` sends it to a server (a sandbox) and answers what came back; `WixSdk.validate(module, type, body)`
checks a JSON body against the module's REST types (meta.d.ts as JSON Schema: a field the types lack is an error).
One Node process serves a whole test session (contracts/wix/bridge.js).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft7Validator

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "wix"

# Wix ids are GUIDs (meta.d.ts `@format GUID`): the real service refuses anything else.
_formats = jsonschema.FormatChecker()


def _is_guid(value: object) -> bool:
    # ts-json-schema-generator puts a `string[]` field's `@format GUID` on the array itself: check each element.
    if isinstance(value, list):
        return all(_is_guid(v) for v in value)
    return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()


_formats.checks("GUID", raises=ValueError)(_is_guid)


@dataclass(frozen=True)
class SdkRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]  # as sent
    logical_query: tuple[tuple[str, str], ...]  # `.r` (base64 JSON) unpacked into dotted names
    body: Any


@dataclass(frozen=True)
class SdkExchange:
    request: SdkRequest
    status: int
    body: dict[str, Any]  # the REST answer
    result: Any  # what the SDK function returned to its caller (None when it threw)
    error: str | None


class WixSdk:
    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None or not (CONTRACTS / "node_modules").is_dir():
            raise RuntimeError("contracts/wix is not installed: run `make contracts-deps` (make test does)")
        self._process = subprocess.Popen(
            [node, str(CONTRACTS / "bridge.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=CONTRACTS,
        )
        self._lock = threading.Lock()
        self._validators: dict[tuple[str, str], Draft7Validator] = {}
        self._schemas: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=10)

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin and self._process.stdout
        with self._lock:
            self._process.stdin.write(json.dumps(message) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the Wix SDK bridge stopped")
        answer: dict[str, Any] = json.loads(line)
        if not answer.pop("ok"):
            raise RuntimeError(f"the Wix SDK bridge failed: {answer['error']}")
        return answer

    def request(self, module: str, fn: str, *args: Any) -> SdkRequest:
        return _request(self._ask({"op": "request", "module": module, "fn": fn, "args": list(args)})["request"])

    def send(self, base_url: str, headers: dict[str, str], module: str, fn: str, *args: Any) -> SdkExchange:
        answer = self._ask(
            {"op": "send", "module": module, "fn": fn, "args": list(args), "baseUrl": base_url, "headers": headers}
        )
        return SdkExchange(
            _request(answer["request"]), answer["status"], answer["body"], answer["result"], answer["error"]
        )

    def schema(self, module: str) -> dict[str, Any]:
        if module not in self._schemas:
            self._schemas[module] = self._ask({"op": "schema", "module": module})["schema"]
        return self._schemas[module]

    def validator(self, module: str, type_name: str) -> Draft7Validator:
        key = (module, type_name)
        if key not in self._validators:
            schema = self.schema(module)
            if type_name not in schema["definitions"]:
                raise KeyError(f"{module} has no REST type {type_name}")
            root = {"$ref": f"#/definitions/{type_name}", "definitions": schema["definitions"]}
            self._validators[key] = Draft7Validator(root, format_checker=_formats)
        return self._validators[key]

    def errors(self, module: str, type_name: str, body: Any) -> list[str]:
        """Every way `body` breaks the REST type, as `path: message` lines (empty when it conforms)."""
        found = self.validator(module, type_name).iter_errors(body)
        return sorted(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found)


def _request(raw: dict[str, Any]) -> SdkRequest:
    return SdkRequest(
        method=raw["method"],
        path=raw["path"],
        query=tuple((k, v) for k, v in raw["query"]),
        logical_query=tuple((k, v) for k, v in raw["logicalQuery"]),
        body=raw["body"],
    )
