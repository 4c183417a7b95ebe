"""GET /health: liveness and storage reachability, anonymous, no secrets."""

from __future__ import annotations

import azure.functions as func

from functions.http import json_response, respond
from functions.runtime import SERVICES
from shared.health import check_health

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_health(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        report = check_health(SERVICES)
        return json_response(report, 200 if report["status"] == "healthy" else 503)

    return respond(action)
