"""GET /health: liveness, storage reachability and the key ring's reach, anonymous, no secrets."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from functions.http import Call, json_response, respond
from functions.runtime import SERVICES
from shared.health import StoredVersions, check_health

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_STORED_VERSIONS = StoredVersions()  # the scan, cached for the worker's polls


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def get_health(req: Request) -> Response:
    return await respond(req, _health)


def _health(call: Call) -> Response:
    report = check_health(SERVICES, _STORED_VERSIONS)
    return json_response(report, 200 if report["status"] == "healthy" else 503)
