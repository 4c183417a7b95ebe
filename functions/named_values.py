"""Named values: PUT, GET, HEAD, LIST and DELETE under /management/namedValues."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from functions.http import (
    LIST_OPTIONS,
    Call,
    conditions,
    empty_response,
    etag_response,
    json_response,
    page_response,
    paging,
    respond,
    route_id,
)
from functions.runtime import SERVICES
from shared.bodies import parse_named_value

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_ITEM = "management/namedValues/{namedValueId}"
_ADMIN = func.AuthLevel.ADMIN


@bp.route(route=_ITEM, methods=["PUT"], auth_level=_ADMIN)
async def put_named_value(req: Request) -> Response:
    return await respond(req, _put, body_limit=SERVICES.settings.max_upload_bytes)


def _put(call: Call) -> Response:
    named_value_id = route_id(call, "namedValueId")
    spec = parse_named_value(call.json(), named_value_id)
    named_value, created = SERVICES.get().named_values.put(named_value_id, spec, conditions(call))
    return json_response(named_value.to_resource(), 201 if created else 200, etag=named_value.etag)


@bp.route(route=_ITEM, methods=["GET"], auth_level=_ADMIN)
async def get_named_value(req: Request) -> Response:
    return await respond(req, _get)


def _get(call: Call) -> Response:
    named_value = SERVICES.get().named_values.get(route_id(call, "namedValueId"))
    return json_response(named_value.to_resource(), etag=named_value.etag)


@bp.route(route=_ITEM, methods=["HEAD"], auth_level=_ADMIN)
async def head_named_value(req: Request) -> Response:
    return await respond(req, _head)


def _head(call: Call) -> Response:
    return etag_response(SERVICES.get().named_values.etag(route_id(call, "namedValueId")))


@bp.route(route="management/namedValues", methods=["GET"], auth_level=_ADMIN)
async def list_named_values(req: Request) -> Response:
    return await respond(req, _list, options=LIST_OPTIONS)


def _list(call: Call) -> Response:
    top, after = paging(call)
    page = SERVICES.get().named_values.list(top=top, after=after, filter_text=call.params.get("$filter"))
    return page_response(call, page, top)


@bp.route(route=_ITEM, methods=["DELETE"], auth_level=_ADMIN)
async def delete_named_value(req: Request) -> Response:
    return await respond(req, _delete)


def _delete(call: Call) -> Response:
    deleted = SERVICES.get().named_values.delete(route_id(call, "namedValueId"), conditions(call))
    return empty_response(200 if deleted else 204)
