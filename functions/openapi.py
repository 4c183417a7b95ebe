"""GET /openapi/v3.json: the OpenAPI 3.1 document of every route (shared/openapi.json), anonymous.

Not at /openapi.json: with HTTP streams the worker serves HTTP through a FastAPI app of the
extension's, whose own /openapi.json, /docs and /redoc routes answer before any function
(docs/behaviour.md)."""

from pathlib import Path

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_DOCUMENT = (Path(__file__).resolve().parent.parent / "shared" / "openapi.json").read_bytes()


@bp.route(route="openapi/v3.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def get_openapi(req: Request) -> Response:
    return Response(_DOCUMENT, media_type="application/json")
