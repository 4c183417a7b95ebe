"""Certificates: PUT, GET, HEAD, LIST and DELETE under /management/certificates."""

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
from shared.bodies import parse_upload

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_ITEM = "management/certificates/{certificateId}"
_ADMIN = func.AuthLevel.ADMIN


@bp.route(route=_ITEM, methods=["PUT"], auth_level=_ADMIN)
async def put_certificate(req: Request) -> Response:
    return await respond(req, _put, body_limit=SERVICES.settings.max_upload_bytes)


def _put(call: Call) -> Response:
    cert_id = route_id(call, "certificateId")
    services = SERVICES.get()
    upload = parse_upload(call.json())
    cert, created = services.certificates.upload(cert_id, upload, conditions(call))
    return json_response(cert.to_resource(), 201 if created else 200, etag=cert.etag)


@bp.route(route=_ITEM, methods=["GET"], auth_level=_ADMIN)
async def get_certificate(req: Request) -> Response:
    return await respond(req, _get)


def _get(call: Call) -> Response:
    cert = SERVICES.get().certificates.get(route_id(call, "certificateId"))
    return json_response(cert.to_resource(), etag=cert.etag)


@bp.route(route=_ITEM, methods=["HEAD"], auth_level=_ADMIN)
async def head_certificate(req: Request) -> Response:
    return await respond(req, _head)


def _head(call: Call) -> Response:
    return etag_response(SERVICES.get().certificates.etag(route_id(call, "certificateId")))


@bp.route(route="management/certificates", methods=["GET"], auth_level=_ADMIN)
async def list_certificates(req: Request) -> Response:
    return await respond(req, _list, options=LIST_OPTIONS)


def _list(call: Call) -> Response:
    top, after = paging(call)
    page = SERVICES.get().certificates.list(top=top, after=after, filter_text=call.params.get("$filter"))
    return page_response(call, page, top)


@bp.route(route=_ITEM, methods=["DELETE"], auth_level=_ADMIN)
async def delete_certificate(req: Request) -> Response:
    return await respond(req, _delete)


def _delete(call: Call) -> Response:
    deleted = SERVICES.get().certificates.delete(route_id(call, "certificateId"), conditions(call))
    return empty_response(200 if deleted else 204)
