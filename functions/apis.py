"""APIs: PUT, GET, HEAD, LIST, DELETE and the policy (GET, HEAD) under /management/apis."""

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
from shared.bodies import parse_api_spec
from shared.policy import policy_resource

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_ITEM = "management/apis/{apiId}"
_ADMIN = func.AuthLevel.ADMIN


@bp.route(route=_ITEM, methods=["PUT"], auth_level=_ADMIN)
async def put_api(req: Request) -> Response:
    return await respond(req, _put, body_limit=SERVICES.settings.max_upload_bytes)


def _put(call: Call) -> Response:
    api_id = route_id(call, "apiId")
    spec = parse_api_spec(call.json())
    services = SERVICES.get()
    services.named_values.require(spec.backend_credentials.named_value_ids())
    api, created = services.apis.put(api_id, spec, conditions(call))
    return json_response(api.to_resource(), 201 if created else 200, etag=api.etag)


@bp.route(route=_ITEM, methods=["GET"], auth_level=_ADMIN)
async def get_api(req: Request) -> Response:
    return await respond(req, _get)


def _get(call: Call) -> Response:
    api = SERVICES.get().apis.get(route_id(call, "apiId"))
    return json_response(api.to_resource(), etag=api.etag)


@bp.route(route=_ITEM, methods=["HEAD"], auth_level=_ADMIN)
async def head_api(req: Request) -> Response:
    return await respond(req, _head)


def _head(call: Call) -> Response:
    return etag_response(SERVICES.get().apis.etag(route_id(call, "apiId")))


@bp.route(route="management/apis", methods=["GET"], auth_level=_ADMIN)
async def list_apis(req: Request) -> Response:
    return await respond(req, _list, options=LIST_OPTIONS)


def _list(call: Call) -> Response:
    top, after = paging(call)
    page = SERVICES.get().apis.list(top=top, after=after, filter_text=call.params.get("$filter"))
    return page_response(call, page, top)


@bp.route(route=_ITEM, methods=["DELETE"], auth_level=_ADMIN)
async def delete_api(req: Request) -> Response:
    return await respond(req, _delete)


def _delete(call: Call) -> Response:
    deleted = SERVICES.get().apis.delete(route_id(call, "apiId"), conditions(call))
    return empty_response(200 if deleted else 204)


@bp.route(route=_ITEM + "/policy", methods=["GET"], auth_level=_ADMIN)
async def get_api_policy(req: Request) -> Response:
    return await respond(req, _policy)


def _policy(call: Call) -> Response:
    api = SERVICES.get().apis.get(route_id(call, "apiId"))
    return json_response(policy_resource(api), etag=api.etag)


@bp.route(route=_ITEM + "/policy", methods=["HEAD"], auth_level=_ADMIN)
async def head_api_policy(req: Request) -> Response:
    return await respond(req, _head)  # the policy's ETag is its API's
