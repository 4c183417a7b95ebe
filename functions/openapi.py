"""GET /openapi.json: the OpenAPI 3.1 document of every route (shared/openapi.json), anonymous."""

from __future__ import annotations

from pathlib import Path

import azure.functions as func

from functions.http import respond

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_DOCUMENT = (Path(__file__).resolve().parent.parent / "shared" / "openapi.json").read_bytes()


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_openapi(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        return func.HttpResponse(_DOCUMENT, status_code=200, mimetype="application/json", charset="utf-8")

    return respond(action)
