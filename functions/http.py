"""HTTP plumbing shared by the blueprints, on the HTTP-streams types: the one place errors
become the contract's JSON, and the one place a blocking handler body is moved off the
worker's event loop (which also serves the worker's HTTP)."""

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from azurefunctions.extensions.http.fastapi import JSONResponse, Request, Response
from starlette.concurrency import run_in_threadpool

from shared.conditions import Conditions
from shared.errors import CertgateError, InvalidQueryParameter, InvalidRequestBody, PayloadTooLarge
from shared.identifiers import validate_id
from shared.models import Page

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    """What a management handler needs of a request, read on the event loop."""

    headers: Mapping[str, str]  # case-insensitive (starlette's Headers)
    params: Mapping[str, str]
    route_params: Mapping[str, str]
    base_url: str  # scheme and host the client called, as the host forwarded them
    path: str
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: [[[[...
            raise InvalidRequestBody("The request body is not valid JSON.") from exc


# The `$` options of a list route; an item route takes none. `api-version` is no `$` option:
# accepted and ignored everywhere.
LIST_OPTIONS = frozenset({"$top", "$skipToken", "$filter"})


async def respond(
    req: Request,
    work: Callable[[Call], Response],
    *,
    body_limit: int = 0,
    options: frozenset[str] = frozenset(),
) -> Response:
    """Read the request (its body up to `body_limit` bytes), run `work` on a worker thread;
    every refusal becomes `{"error": {...}}`, never a stack trace. A `$` query option not in
    `options` is refused before anything else: never ignored."""
    try:
        refuse_unsupported_options(req.query_params.keys(), options)
        body = await read_body(req, body_limit) if body_limit else b""
        call = Call(req.headers, req.query_params, req.path_params, base_url(req), req.url.path, body)
        return await run_in_threadpool(work, call)
    except CertgateError as exc:
        return error_response(exc)
    except Exception:
        log.exception("unexpected error")
        return error_response(CertgateError("An unexpected error occurred."))


def refuse_unsupported_options(names: Iterable[str], supported: frozenset[str]) -> None:
    for name in names:
        if name.startswith("$") and name not in supported:
            allowed = ", ".join(sorted(supported)) or "none"
            raise InvalidQueryParameter(
                f"The query option '{name}' is not supported here (supported: {allowed}).", target=name
            )


async def read_body(req: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it is known to be over `limit`: from
    Content-Length before reading, else while a chunked body arrives."""
    declared = req.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
    parts: list[bytes] = []
    size = 0
    async for chunk in req.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        parts.append(chunk)
    return b"".join(parts)


def base_url(req: Request) -> str:
    """The origin the client called: the host in front forwards it as X-Forwarded-Proto and
    X-Forwarded-Host (the Host the worker sees is its own address)."""
    proto = req.headers.get("x-forwarded-proto") or req.url.scheme
    host = req.headers.get("x-forwarded-host") or req.headers.get("host") or req.url.netloc
    return f"{proto}://{host}"


def error_response(exc: CertgateError) -> Response:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.target is not None:
        error["target"] = exc.target
    if exc.details:
        error["details"] = [
            {"code": d.code, "message": d.message, **({"target": d.target} if d.target else {})}
            for d in exc.details
        ]
    return json_response({"error": error}, exc.status)


def json_response(body: Any, status: int = 200, *, etag: str | None = None) -> Response:
    headers = {"ETag": etag} if etag else None
    return JSONResponse(body, status_code=status, headers=headers)


def empty_response(status: int) -> Response:
    return Response(status_code=status)


def etag_response(etag: str) -> Response:
    """A HEAD's answer: the resource's ETag, no body (the server sends none for HEAD)."""
    return Response(status_code=200, headers={"ETag": etag})


def conditions(call: Call) -> Conditions:
    return Conditions(call.headers.get("If-Match"), call.headers.get("If-None-Match"))


def route_id(call: Call, name: str) -> str:
    return validate_id(call.route_params.get(name, ""), target=name)


def paging(call: Call) -> tuple[int, str | None]:
    """`$top` (1..1000, default 100) and the `$skipToken` continuation of a list."""
    raw_top = call.params.get("$top")
    top = 100
    if raw_top is not None:
        if not re.fullmatch(r"[0-9]{1,4}", raw_top) or not 1 <= int(raw_top) <= 1000:
            raise InvalidQueryParameter("'$top' must be a whole number from 1 to 1000.", target="$top")
        top = int(raw_top)
    token = call.params.get("$skipToken")
    if token is not None:
        try:
            validate_id(token, target="$skipToken")
        except CertgateError as exc:
            raise InvalidQueryParameter(
                "'$skipToken' is not a valid continuation.", target="$skipToken"
            ) from exc
    return top, token


def page_response(call: Call, page: Page, top: int) -> Response:
    body: dict[str, Any] = {"value": list(page.items), "count": page.count}
    if page.next_skip_token is not None:
        query: dict[str, str] = {"$top": str(top), "$skipToken": page.next_skip_token}
        for kept in ("$filter", "api-version"):
            if kept in call.params:
                query[kept] = call.params[kept]
        body["nextLink"] = f"{call.base_url}{call.path}?{urlencode(query)}"
    return json_response(body)
