"""Turns HTTP requests into `func.HttpRequest` calls of the registered functions, as the
Functions host does, enforcing auth levels when CERTGATE_LOCAL_FUNCTION_KEY is set."""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
from urllib.parse import parse_qsl

import azure.functions as func

from devhost.routes import Route, build_routes, match
from devhost.server import Request, Response


class FunctionHost:
    def __init__(self, app: func.FunctionApp, *, function_key: str | None) -> None:
        self.routes = build_routes(app)
        self._key = function_key

    def __call__(self, request: Request) -> Response:
        path, _, query = _origin_form(request.target).partition("?")
        method = request.method.upper()
        candidates, route_params = match(self.routes, path)
        if not candidates:
            return _error(404, "NotFound", "No function serves this path.")
        route = next((r for r in candidates if method in r.methods), None)
        if route is None:
            return _error(405, "MethodNotAllowed", f"{method} is not allowed here.")
        params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        headers = _headers(request)
        if not self._authorized(route, headers, params):
            return _error(401, "Unauthorized", "A valid function key is required.")
        http_request = func.HttpRequest(
            method=method,
            url=f"http://{headers.get('host') or '127.0.0.1'}{path}{'?' + query if query else ''}",
            headers=headers,
            params=params,
            route_params=route_params,
            body=request.body,
        )
        response = route.handler(**{route.param_name: http_request})
        if inspect.iscoroutine(response):
            response = asyncio.run(response)
        return _response(response)

    def _authorized(self, route: Route, headers: dict[str, str], params: dict[str, str]) -> bool:
        if self._key is None or route.auth_level == "anonymous":
            return True
        given = headers.get("x-functions-key") or params.get("code") or ""
        return hmac.compare_digest(given.encode(), self._key.encode())


def _origin_form(target: str) -> str:
    """The path and query of a request-target; an absolute-form target loses its scheme and
    authority (RFC 9112 3.2.2)."""
    if target.startswith("/"):
        return target
    scheme, sep, rest = target.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        slash = rest.find("/")
        return rest[slash:] if slash >= 0 else "/"
    return "/" + target


def _headers(request: Request) -> dict[str, str]:
    """Lower-cased names, repeated fields joined with ", " (RFC 9110 5.3), as the Functions host
    hands them to the worker."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        low = name.lower()
        headers[low] = f"{headers[low]}, {value}" if low in headers else value
    # As App Service's front end does: append the caller's address to X-Forwarded-For.
    prior = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{prior}, {request.client}" if prior else request.client
    return headers


def _response(response: func.HttpResponse) -> Response:
    headers = response.headers
    pairs = [(str(n), str(v)) for n, v in headers.items()]
    body = response.get_body() or b""
    if "content-type" not in headers and body:
        mimetype = response.mimetype or "text/plain"
        pairs.append(
            (
                "Content-Type",
                f"{mimetype}; charset={response.charset}" if mimetype.startswith("text/") else mimetype,
            )
        )
    return Response(response.status_code, pairs, body)


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Response(status, [("Content-Type", "application/json; charset=utf-8")], body)
