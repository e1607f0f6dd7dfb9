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
        self._validators: dict[tuple[str, str, str], Draft7Validator] = {}
        self._schemas: dict[tuple[str, str, str], dict[str, Any]] = {}

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

    def app_token(self, app_id: str, app_secret: str, instance_id: str, base_url: str | None = None) -> dict[str, Any]:
        """How @wix/sdk's AppStrategy asks for an app token: {"request": {method, url, headers, body}, "headers": the
        auth headers it then sends}; answered like Wix, or by the server at `base_url`."""
        ask = {"op": "app-token", "appId": app_id, "appSecret": app_secret, "instanceId": instance_id}
        return self._ask(ask | ({"baseUrl": base_url} if base_url else {}))

    def webhook(self, module: str, event: str, app_id: str, public_key: str, body: str) -> dict[str, Any]:
        """A webhook body run through @wix/sdk's own parsing with `event`'s handler registered: {"envelope": what the
        handler received, or None; "processed": {instanceId, eventType, payload, identity, accountInfo}}."""
        ask = {"op": "webhook", "module": module, "event": event, "appId": app_id, "publicKey": public_key}
        return self._ask(ask | {"body": body})

    def schema(self, module: str, type_name: str = "*", file: str = "meta.d.ts") -> dict[str, Any]:
        """The JSON Schema of every type of `file` ("*"), or of one named type as the root."""
        key = (module, type_name, file)
        if key not in self._schemas:
            ask = {"op": "schema", "module": module, "type": type_name, "file": file}
            self._schemas[key] = self._ask(ask)["schema"]
        return self._schemas[key]

    def validator(self, module: str, type_name: str, file: str = "meta.d.ts") -> Draft7Validator:
        key = (module, type_name, file)
        if key not in self._validators:
            # meta.d.ts as a whole ("*"); other declaration files only type by type (the "*" walk fails on them)
            definitions = self.schema(module).get("definitions", {}) if file == "meta.d.ts" else {}
            if type_name in definitions:
                root = {"$ref": f"#/definitions/{type_name}", "definitions": definitions}
            else:  # only named in the export list: generated with the type as the root
                try:
                    root = self.schema(module, type_name, file)
                except RuntimeError as exc:
                    raise KeyError(f"{module} has no type {type_name} in {file}") from exc
            self._validators[key] = Draft7Validator(root, format_checker=_formats)
        return self._validators[key]

    def errors(self, module: str, type_name: str, body: Any, file: str = "meta.d.ts") -> list[str]:
        """Every way `body` breaks the REST type (or, with `file`, a type of another declaration file), as
        `path: message` lines (empty when it conforms)."""
        found = self.validator(module, type_name, file).iter_errors(body)
        return sorted(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found)


def _request(raw: dict[str, Any]) -> SdkRequest:
    return SdkRequest(
        method=raw["method"],
        path=raw["path"],
        query=tuple((k, v) for k, v in raw["query"]),
        logical_query=tuple((k, v) for k, v in raw["logicalQuery"]),
        body=raw["body"],
    )
