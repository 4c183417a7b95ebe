"""WSGI application that turns HTTP requests into `func.HttpRequest` calls of the registered
functions, enforcing auth levels when CERTGATE_LOCAL_FUNCTION_KEY is set."""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from devhost.routes import Route, build_routes, match

log = logging.getLogger("devhost")
StartResponse = Callable[..., Any]


class FunctionHost:
    def __init__(self, app: func.FunctionApp, *, function_key: str | None) -> None:
        self.routes = build_routes(app)
        self._key = function_key

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw_uri = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        parts = urlsplit(raw_uri)
        method = environ["REQUEST_METHOD"].upper()
        candidates, route_params = match(self.routes, parts.path)
        if not candidates:
            return _error(start_response, 404, "NotFound", "No function serves this path.")
        route = next((r for r in candidates if method in r.methods), None)
        if route is None:
            return _error(start_response, 405, "MethodNotAllowed", f"{method} is not allowed here.")
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = _headers(environ)
        if not self._authorized(route, headers, params):
            return _error(start_response, 401, "Unauthorized", "A valid function key is required.")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        host = headers.get("host") or environ.get("SERVER_NAME", "127.0.0.1")
        request = func.HttpRequest(
            method=method,
            url=f"{environ.get('wsgi.url_scheme', 'http')}://{host}{raw_uri}",
            headers=headers,
            params=params,
            route_params=route_params,
            body=body,
        )
        response = route.handler(**{route.param_name: request})
        if inspect.iscoroutine(response):
            response = asyncio.run(response)
        return _send(start_response, method, response)

    def _authorized(self, route: Route, headers: dict[str, str], params: dict[str, str]) -> bool:
        if self._key is None or route.auth_level == "anonymous":
            return True
        given = headers.get("x-functions-key") or params.get("code") or ""
        return hmac.compare_digest(given.encode(), self._key.encode())


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    # As App Service's front end does: append the caller's address to X-Forwarded-For.
    caller = environ.get("REMOTE_ADDR")
    if caller:
        prior = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{prior}, {caller}" if prior else caller
    return headers


def _send(start_response: StartResponse, method: str, response: func.HttpResponse) -> list[bytes]:
    headers = response.headers
    pairs = [(str(n), str(v)) for n, v in headers.items() if n.lower() != "content-length"]
    if "content-type" not in headers and response.get_body():
        mimetype = response.mimetype or "text/plain"
        pairs.append(
            (
                "Content-Type",
                f"{mimetype}; charset={response.charset}" if mimetype.startswith("text/") else mimetype,
            )
        )
    body = response.get_body() or b""
    pairs.append(("Content-Length", str(len(body))))
    status = response.status_code
    start_response(f"{status} {_reason(status)}", pairs)
    return [] if method == "HEAD" else [body]


def _error(start_response: StartResponse, status: int, code: str, message: str) -> list[bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start_response(
        f"{status} {_reason(status)}",
        [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
