"""APIs: PUT, GET, LIST, DELETE and the policy under /management/apis."""

from __future__ import annotations

import azure.functions as func

from functions.http import (
    conditions,
    empty_response,
    json_response,
    page_response,
    paging,
    read_json,
    respond,
    route_id,
)
from functions.runtime import SERVICES
from shared.models import parse_api_spec
from shared.policy import policy_resource

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_ITEM = "management/apis/{apiId}"


@bp.route(route=_ITEM, methods=["PUT"], auth_level=func.AuthLevel.FUNCTION)
def put_api(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        api_id = route_id(req, "apiId")
        services = SERVICES.get()
        spec = parse_api_spec(read_json(req, services.settings.max_upload_bytes))
        api, created = services.apis.put(api_id, spec, conditions(req))
        return json_response(api.to_resource(), 201 if created else 200, etag=api.etag)

    return respond(action)


@bp.route(route=_ITEM, methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_api(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        api = SERVICES.get().apis.get(route_id(req, "apiId"))
        return json_response(api.to_resource(), etag=api.etag)

    return respond(action)


@bp.route(route="management/apis", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def list_apis(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        top, after = paging(req)
        return page_response(req, SERVICES.get().apis.list(top=top, after=after), top)

    return respond(action)


@bp.route(route=_ITEM, methods=["DELETE"], auth_level=func.AuthLevel.FUNCTION)
def delete_api(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        deleted = SERVICES.get().apis.delete(route_id(req, "apiId"), conditions(req))
        return empty_response(200 if deleted else 204)

    return respond(action)


@bp.route(route=_ITEM + "/policy", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_api_policy(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        api = SERVICES.get().apis.get(route_id(req, "apiId"))
        return json_response(policy_resource(api), etag=api.etag)

    return respond(action)
