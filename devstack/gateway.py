"""A local API Gateway (REST API, proxy integration) for the template's Api events.

moto cannot build the RestApi, so this serves the routes declared in template.yaml: it matches the path template,
builds the proxy event API Gateway would send (v1 format), invokes the function through moto, and maps the result
back. IAM auth on admin routes is recorded in the event but not enforced: the devstack is open, as documented.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from devstack.template import ApiRoute

_TEXT_TYPES = ("text/", "application/json", "application/jwt", "application/x-www-form-urlencoded", "application/xml")
_MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


@dataclass(frozen=True)
class CompiledRoute:
    route: ApiRoute
    pattern: re.Pattern[str]
    param_names: tuple[str, ...]

    @classmethod
    def of(cls, route: ApiRoute) -> CompiledRoute:
        names: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.endswith("+"):
                names.append(name[:-1])
                return "(.+)"
            names.append(name)
            return "([^/]+)"

        regex = re.sub(r"\\\{([^}]+)\\\}", replace, re.escape(route.path))
        return cls(route, re.compile(f"^{regex}$"), tuple(names))


class LocalGateway:
    def __init__(
        self, routes: list[ApiRoute], invoke: Callable[[str, dict[str, Any]], tuple[Any, str | None]], stage: str
    ) -> None:
        # Literal paths win over templated ones, as in API Gateway.
        self._routes = sorted((CompiledRoute.of(r) for r in routes), key=lambda c: c.route.path.count("{"))
        self._invoke = invoke
        self.stage = stage

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._respond(Request(environ))(environ, start_response)

    def _respond(self, request: Request) -> Response:
        prefix = f"/{self.stage}"
        if not request.path.startswith(prefix + "/"):
            return _json(403, {"message": "Missing Authentication Token"})
        path = request.path[len(prefix) :]
        for compiled in self._routes:
            match = compiled.pattern.match(path)
            if match and compiled.route.method in {request.method, "ANY"}:
                if (request.content_length or 0) > _MAX_BODY_BYTES:
                    return _json(413, {"message": "Request Too Long"})
                event = self._event(
                    request, path, compiled, dict(zip(compiled.param_names, match.groups(), strict=True))
                )
                payload, function_error = self._invoke(compiled.route.function_logical_id, event)
                if function_error or not isinstance(payload, dict) or "statusCode" not in payload:
                    return _json(502, {"message": "Internal server error"})
                return _proxy_response(payload)
        return _json(403, {"message": "Missing Authentication Token"})

    def _event(self, request: Request, path: str, compiled: CompiledRoute, params: dict[str, str]) -> dict[str, Any]:
        raw = request.get_data()
        text_body = (request.mimetype or "text/plain").startswith(_TEXT_TYPES) and _is_utf8(raw)
        body = raw.decode() if text_body else base64.b64encode(raw).decode()
        headers = {k: v for k, v in request.headers.items()}
        multi_headers: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            multi_headers.setdefault(key, []).append(value)
        query = {k: v for k, v in request.args.items()}
        multi_query = {k: request.args.getlist(k) for k in request.args}
        now = time.time()
        return {
            "resource": compiled.route.path,
            "path": path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": compiled.route.path,
                "httpMethod": request.method,
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "extendedRequestId": str(uuid.uuid4()),
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "protocol": "HTTP/1.1",
                "accountId": "123456789012",
                "apiId": "devstack",
                "domainName": request.host,
                "identity": {
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": request.user_agent.string,
                    # On AWS, IAM-authorized routes carry the caller's ARN here; the devstack is open.
                    "userArn": "arn:aws:iam::123456789012:user/devstack" if compiled.route.iam_auth else None,
                    "caller": None,
                    "accessKey": None,
                    "accountId": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "user": None,
                },
            },
            "body": body if raw else None,
            "isBase64Encoded": bool(raw) and not text_body,
        }


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _proxy_response(payload: dict[str, Any]) -> Response:
    body = payload.get("body") or ""
    data = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode()
    headers = Headers()
    multi = payload.get("multiValueHeaders") or {}
    for key, values in multi.items():
        for value in values:
            headers.add(key, str(value))
    for key, value in (payload.get("headers") or {}).items():
        if key not in multi:  # API Gateway merges both maps; multiValueHeaders wins on a clash
            headers[key] = str(value)
    return Response(data, status=int(payload["statusCode"]), headers=headers)


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
