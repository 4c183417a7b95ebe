"""HTTP plumbing shared by the blueprints: the one place errors become the contract's JSON."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import azure.functions as func

from shared.conditions import Conditions
from shared.errors import CertgateError, InvalidQueryParameter, InvalidRequestBody, PayloadTooLarge
from shared.identifiers import validate_id
from shared.models import Page

log = logging.getLogger(__name__)
_JSON = "application/json; charset=utf-8"


def respond(action: Callable[[], func.HttpResponse]) -> func.HttpResponse:
    """Run a handler body; every refusal becomes `{"error": {...}}`, never a stack trace."""
    try:
        return action()
    except CertgateError as exc:
        return error_response(exc)
    except Exception:
        log.exception("unexpected error")
        return error_response(CertgateError("An unexpected error occurred."))


def error_response(exc: CertgateError) -> func.HttpResponse:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.target is not None:
        error["target"] = exc.target
    if exc.details:
        error["details"] = [
            {"code": d.code, "message": d.message, **({"target": d.target} if d.target else {})}
            for d in exc.details
        ]
    return json_response({"error": error}, exc.status)


def json_response(body: Any, status: int = 200, *, etag: str | None = None) -> func.HttpResponse:
    headers = {"ETag": etag} if etag else {}
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", charset="utf-8", headers=headers
    )


def empty_response(status: int) -> func.HttpResponse:
    return func.HttpResponse(status_code=status)


def read_json(req: func.HttpRequest, limit: int) -> Any:
    body = req.get_body()
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: [[[[...
        raise InvalidRequestBody("The request body is not valid JSON.") from exc


def conditions(req: func.HttpRequest) -> Conditions:
    return Conditions(req.headers.get("If-Match"), req.headers.get("If-None-Match"))


def route_id(req: func.HttpRequest, name: str) -> str:
    return validate_id(req.route_params.get(name, ""), target=name)


def paging(req: func.HttpRequest) -> tuple[int, str | None]:
    """`$top` (1..1000, default 100) and the `$skipToken` continuation of a list."""
    raw_top = req.params.get("$top")
    top = 100
    if raw_top is not None:
        if not re.fullmatch(r"[0-9]{1,4}", raw_top) or not 1 <= int(raw_top) <= 1000:
            raise InvalidQueryParameter("'$top' must be a whole number from 1 to 1000.", target="$top")
        top = int(raw_top)
    token = req.params.get("$skipToken")
    if token is not None:
        try:
            validate_id(token, target="$skipToken")
        except CertgateError as exc:
            raise InvalidQueryParameter(
                "'$skipToken' is not a valid continuation.", target="$skipToken"
            ) from exc
    return top, token


def page_response(req: func.HttpRequest, page: Page, top: int) -> func.HttpResponse:
    body: dict[str, Any] = {"value": list(page.items), "count": page.count}
    if page.next_skip_token is not None:
        parts = urlsplit(req.url)
        query: dict[str, str] = {"$top": str(top), "$skipToken": page.next_skip_token}
        if "api-version" in req.params:
            query["api-version"] = req.params["api-version"]
        body["nextLink"] = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"
    return json_response(body)
