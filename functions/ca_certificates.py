"""CA certificates: PUT, GET, HEAD, LIST and DELETE under /management/caCertificates."""

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
from shared.bodies import parse_ca_upload

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_ITEM = "management/caCertificates/{caCertificateId}"
_ADMIN = func.AuthLevel.ADMIN


@bp.route(route=_ITEM, methods=["PUT"], auth_level=_ADMIN)
async def put_ca_certificate(req: Request) -> Response:
    return await respond(req, _put, body_limit=SERVICES.settings.max_upload_bytes)


def _put(call: Call) -> Response:
    ca_id = route_id(call, "caCertificateId")
    data = parse_ca_upload(call.json())
    ca, created = SERVICES.get().ca_certificates.put(ca_id, data, conditions(call))
    return json_response(ca.to_resource(), 201 if created else 200, etag=ca.etag)


@bp.route(route=_ITEM, methods=["GET"], auth_level=_ADMIN)
async def get_ca_certificate(req: Request) -> Response:
    return await respond(req, _get)


def _get(call: Call) -> Response:
    ca = SERVICES.get().ca_certificates.get(route_id(call, "caCertificateId"))
    return json_response(ca.to_resource(), etag=ca.etag)


@bp.route(route=_ITEM, methods=["HEAD"], auth_level=_ADMIN)
async def head_ca_certificate(req: Request) -> Response:
    return await respond(req, _head)


def _head(call: Call) -> Response:
    return etag_response(SERVICES.get().ca_certificates.etag(route_id(call, "caCertificateId")))


@bp.route(route="management/caCertificates", methods=["GET"], auth_level=_ADMIN)
async def list_ca_certificates(req: Request) -> Response:
    return await respond(req, _list, options=LIST_OPTIONS)


def _list(call: Call) -> Response:
    top, after = paging(call)
    page = SERVICES.get().ca_certificates.list(top=top, after=after, filter_text=call.params.get("$filter"))
    return page_response(call, page, top)


@bp.route(route=_ITEM, methods=["DELETE"], auth_level=_ADMIN)
async def delete_ca_certificate(req: Request) -> Response:
    return await respond(req, _delete)


def _delete(call: Call) -> Response:
    deleted = SERVICES.get().ca_certificates.delete(route_id(call, "caCertificateId"), conditions(call))
    return empty_response(200 if deleted else 204)
