"""Certificates: PUT, GET, LIST and DELETE under /management/certificates."""

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
from shared.models import parse_upload

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_ITEM = "management/certificates/{certificateId}"


@bp.route(route=_ITEM, methods=["PUT"], auth_level=func.AuthLevel.FUNCTION)
def put_certificate(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        cert_id = route_id(req, "certificateId")
        services = SERVICES.get()
        upload = parse_upload(read_json(req, services.settings.max_upload_bytes))
        cert, created = services.certificates.upload(cert_id, upload, conditions(req))
        return json_response(cert.to_resource(), 201 if created else 200, etag=cert.etag)

    return respond(action)


@bp.route(route=_ITEM, methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_certificate(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        cert = SERVICES.get().certificates.get(route_id(req, "certificateId"))
        return json_response(cert.to_resource(), etag=cert.etag)

    return respond(action)


@bp.route(route="management/certificates", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def list_certificates(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        top, after = paging(req)
        return page_response(req, SERVICES.get().certificates.list(top=top, after=after), top)

    return respond(action)


@bp.route(route=_ITEM, methods=["DELETE"], auth_level=func.AuthLevel.FUNCTION)
def delete_certificate(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        deleted = SERVICES.get().certificates.delete(route_id(req, "certificateId"), conditions(req))
        return empty_response(200 if deleted else 204)

    return respond(action)
