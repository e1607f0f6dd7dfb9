"""Square's wire shapes as the official Python SDK types them (`squareup`, Fern-generated), checked strictly.

The SDK is the oracle (RULES: the vendor decides): request bodies are the keyword parameters of its client methods,
typed with the `square.requests.*` TypedDicts; answers and webhooks are the `square.types.*` pydantic models. The SDK
itself never rejects anything (its TypedDicts are not checked at runtime, its models keep unknown fields, and its enums
are `Union[Literal[...], Any]` so that new values never break old clients), so this module walks a JSON value against
those annotations itself: a field the type does not have, a wrong JSON type, a value outside an enum or a missing
required field is a `Violation`, named with the Square error code the sandbox answers it with.

Used by the Square sandbox (every request body is checked before a handler runs) and by tests/contracts.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib
import inspect
import re
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import square
import typing_extensions
from square.core.serialization import FieldMetadata

_RAW_CLASS = re.compile(r"^class (Raw\w+Client):", re.MULTILINE)
_RAW_METHOD = re.compile(r"^    def (\w+)\(", re.MULTILINE)
_RAW_PATH = re.compile(r'^\s+f?"((?:v2|oauth2)/[^"]*)",\s*$', re.MULTILINE)  # oauth2/: the OAuth API
_RAW_VERB = re.compile(r'^\s+method="(\w+)",', re.MULTILINE)
_PATH_PARAM = re.compile(r"\{jsonable_encoder\((\w+)\)\}")


def _sdk_routes() -> dict[str, tuple[str, str, str]]:
    """Every endpoint of the SDK, read from the source of its raw clients (no import: the sandbox starts fast):
    "METHOD /v2/path/{param}" (Square's templates, as the sandbox's router keys its routes) -> (module, class,
    method). The method's positional parameters are the path's; its keyword-only ones are the JSON body (or, for a
    GET, the query string)."""
    root = Path(square.__file__).parent
    routes: dict[str, tuple[str, str, str]] = {}
    for source in sorted(root.rglob("raw_client.py")):
        sync = source.read_text().split("\nclass AsyncRaw")[0]
        found = _RAW_CLASS.search(sync)
        if found is None:
            continue
        module = ".".join(("square", *source.relative_to(root).with_suffix("").parts))
        methods = list(_RAW_METHOD.finditer(sync))
        for k, method in enumerate(methods):
            body = sync[method.end() : methods[k + 1].start() if k + 1 < len(methods) else len(sync)]
            path, verb = _RAW_PATH.search(body), _RAW_VERB.search(body)
            if path and verb:
                template = _PATH_PARAM.sub(r"{\1}", path.group(1))
                routes[f"{verb.group(1)} /{template}"] = (module, found.group(1), method.group(1))
    return routes


SDK_ROUTES = _sdk_routes()


@functools.cache
def sdk_method(route: str) -> Any:
    """The SDK's raw client method for a route (KeyError: the SDK has no such endpoint)."""
    module, cls, method = SDK_ROUTES[route]
    return getattr(getattr(importlib.import_module(module), cls), method)


@dataclass(frozen=True)
class Violation:
    field: str  # Square's field path: "order.line_items[0].quantity"
    code: str  # Square's error code for it
    detail: str

    def __str__(self) -> str:
        return f"{self.field or '<body>'}: {self.code}: {self.detail}"


@dataclass(frozen=True)
class Field:
    annotation: Any
    required: bool


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _bare(annotation: Any) -> Any:
    """Strip Annotated / Required / NotRequired wrappers."""
    while True:
        origin = typing_extensions.get_origin(annotation)
        if origin is typing_extensions.Annotated:
            annotation = annotation.__origin__
        elif origin in (typing_extensions.NotRequired, typing_extensions.Required):
            annotation = typing_extensions.get_args(annotation)[0]
        else:
            return annotation


def _alias(annotation: Any) -> str | None:
    """The wire name a Fern TypedDict key carries (`address_line1` is sent as `address_line_1`)."""
    while True:
        origin = typing_extensions.get_origin(annotation)
        if origin is typing_extensions.Annotated:
            for extra in annotation.__metadata__:
                if isinstance(extra, FieldMetadata):
                    return extra.alias
            annotation = annotation.__origin__
        elif origin in (typing_extensions.NotRequired, typing_extensions.Required):
            annotation = typing_extensions.get_args(annotation)[0]
        else:
            return None


_RELATIVE_IMPORT = re.compile(r"^\s*from \.(\w+) import (\w+)\s*$", re.MULTILINE)


@functools.cache
def _deferred_imports(module_name: str) -> dict[str, Any]:
    """Names a Fern module imports only under `if typing.TYPE_CHECKING:` (to break import cycles): its string
    annotations name them, so they are imported here to resolve those annotations."""
    package = module_name.rsplit(".", 1)[0]
    source = inspect.getsource(sys.modules[module_name])
    return {
        name: getattr(importlib.import_module(f"{package}.{module}"), name)
        for module, name in _RELATIVE_IMPORT.findall(source)
    }


def _required(hint: Any, total: bool) -> bool:
    """From the annotation itself: Fern's modules use `from __future__ import annotations`, so the TypedDict class
    saw only strings and its `__required_keys__` lists every key."""
    while True:
        origin = typing_extensions.get_origin(hint)
        if origin is typing_extensions.NotRequired:
            return False
        if origin is typing_extensions.Required:
            return True
        if origin is not typing_extensions.Annotated:
            return total
        hint = hint.__origin__


@functools.cache
def fields_of(cls: type) -> dict[str, Field]:
    """Wire name -> (type, required) of a TypedDict or a pydantic model."""
    if typing_extensions.is_typeddict(cls):
        hints = typing.get_type_hints(cls, localns=_deferred_imports(cls.__module__), include_extras=True)
        total = getattr(cls, "__total__", True)
        return {(_alias(hint) or name): Field(_bare(hint), _required(hint, total)) for name, hint in hints.items()}
    # pydantic resolved the models' forward references when the SDK called update_forward_refs
    return {
        info.alias or name: Field(_bare(info.annotation), info.is_required())
        for name, info in cls.model_fields.items()  # type: ignore[attr-defined]
    }


@functools.cache
def body_fields(route: str) -> dict[str, Field]:
    """The JSON body (or query) fields of an endpoint: the SDK method's keyword-only parameters."""
    method = sdk_method(route)
    hints = typing.get_type_hints(method, include_extras=True)
    return {
        name: Field(_bare(hints[name]), param.default is inspect.Parameter.empty)
        for name, param in inspect.signature(method).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY and name != "request_options"
    }


def response_model(route: str) -> type:
    """The `square.types.*Response` model the SDK parses the endpoint's answer into (its errors included)."""
    returned = typing.get_type_hints(sdk_method(route))["return"]  # HttpResponse[Model] or SyncPager[Item, Model]
    model: type = typing_extensions.get_args(returned)[-1]
    return model


def check_body(route: str, body: dict[str, Any]) -> list[Violation]:
    """Everything in a request body the SDK's types for `route` do not allow."""
    return _check_fields(body, body_fields(route), "")


def check(value: Any, annotation: Any, path: str = "") -> list[Violation]:
    """Everything in `value` (parsed JSON) that `annotation` (an SDK type) does not allow."""
    annotation = _bare(annotation)
    if annotation is Any or annotation is object:
        return []
    origin = typing_extensions.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return _check_union(value, typing_extensions.get_args(annotation), path)
    if value is None:  # null only where the type is Optional (handled as a Union above)
        return [Violation(path, "INVALID_VALUE", "null is not allowed here")]
    if origin is typing.Literal:
        allowed = typing_extensions.get_args(annotation)
        if value in allowed:
            return []
        shown = ", ".join(map(str, allowed[:8])) + (", ..." if len(allowed) > 8 else "")
        return [Violation(path, "INVALID_ENUM_VALUE", f"{value!r} is not one of {shown}")]
    if origin in (list, collections.abc.Sequence, set, tuple) or annotation is list:
        if not isinstance(value, list):
            return [Violation(path, "EXPECTED_ARRAY", "expected an array")]
        args = typing_extensions.get_args(annotation)
        inner = args[0] if args else Any
        return [v for k, element in enumerate(value) for v in check(element, inner, f"{path}[{k}]")]
    if origin in (dict, collections.abc.Mapping) or annotation is dict:
        if not isinstance(value, dict):
            return [Violation(path, "EXPECTED_OBJECT", "expected an object")]
        args = typing_extensions.get_args(annotation)
        inner = args[1] if args else Any
        return [v for key, element in value.items() for v in check(element, inner, _join(path, str(key)))]
    if typing_extensions.is_typeddict(annotation) or (
        inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel)
    ):
        if not isinstance(value, dict):
            return [Violation(path, "EXPECTED_OBJECT", "expected an object")]
        return _check_fields(value, fields_of(annotation), path)
    return _check_scalar(value, annotation, path)


def _check_scalar(value: Any, annotation: Any, path: str) -> list[Violation]:
    if annotation is str:
        ok, code = isinstance(value, str), "EXPECTED_STRING"
    elif annotation is bool:
        ok, code = isinstance(value, bool), "EXPECTED_BOOLEAN"
    elif annotation is int:
        ok, code = isinstance(value, int) and not isinstance(value, bool), "EXPECTED_INTEGER"
    elif annotation is float:
        ok, code = isinstance(value, int | float) and not isinstance(value, bool), "EXPECTED_FLOAT"
    else:
        raise TypeError(f"no rule for the SDK type {annotation!r} at {path or '<body>'}")
    return [] if ok else [Violation(path, code, f"expected {annotation.__name__}, got {type(value).__name__}")]


def _check_fields(value: dict[str, Any], known: dict[str, Field], path: str) -> list[Violation]:
    found: list[Violation] = []
    for key in value:
        if key not in known:
            found.append(Violation(_join(path, key), "BAD_REQUEST", f"Unrecognized field `{_join(path, key)}`."))
    for key, spec in known.items():
        if key not in value:
            if spec.required:
                found.append(
                    Violation(_join(path, key), "MISSING_REQUIRED_PARAMETER", f"Missing required field `{key}`.")
                )
            continue
        found += check(value[key], spec.annotation, _join(path, key))
    return found


def _check_union(value: Any, options: tuple[Any, ...], path: str) -> list[Violation]:
    if value is None and type(None) in options:
        return []
    options = tuple(o for o in options if o is not type(None))
    if any(typing_extensions.get_origin(_bare(o)) is typing.Literal for o in options):
        # Fern's open enums are Union[Literal[...], Any]: the Any only keeps old clients working; the enum is strict.
        options = tuple(o for o in options if o is not Any)
    if Any in options:
        return []
    if len(options) == 1:
        return check(value, options[0], path)
    attempts = [check(value, option, path) for option in _prefer_by_type(value, options)]
    if any(not attempt for attempt in attempts):
        return []
    return min(attempts, key=len)


def _prefer_by_type(value: Any, options: tuple[Any, ...]) -> tuple[Any, ...]:
    """A discriminated union (CatalogObject by `type`): only the variants whose `type` matches the value's."""
    if not isinstance(value, dict) or "type" not in value:
        return options
    matching = []
    for option in options:
        bare = _bare(option)
        if not (
            typing_extensions.is_typeddict(bare) or (inspect.isclass(bare) and issubclass(bare, pydantic.BaseModel))
        ):
            continue
        tag = fields_of(bare).get("type")
        literal = tag.annotation if tag else None
        if typing_extensions.get_origin(literal) is typing.Literal and value["type"] in typing_extensions.get_args(
            literal
        ):
            matching.append(option)
    return tuple(matching) or options
