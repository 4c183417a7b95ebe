"""The proxy: any method under /gateway/ goes to the bound backend with its certificate."""

from __future__ import annotations

import azure.functions as func

from functions.http import respond
from functions.runtime import SERVICES
from shared.errors import PayloadTooLarge
from shared.gateway.forwarding import GatewayRequest
from shared.gateway.headers import for_the_worker

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@bp.route(route="gateway/{*path}", methods=_METHODS, auth_level=func.AuthLevel.FUNCTION)
def forward_gateway(req: func.HttpRequest) -> func.HttpResponse:
    def action() -> func.HttpResponse:
        services = SERVICES.get()
        body = req.get_body()
        limit = services.settings.max_gateway_body_bytes
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        answer = services.forwarder.forward(
            GatewayRequest(req.method, req.url, list(req.headers.items()), body)
        )
        headers, cookies = for_the_worker(answer.headers)
        response = func.HttpResponse(answer.body, status_code=answer.status, headers=headers)
        for name, value in cookies:
            response.headers.add(name, value)
        return response

    return respond(action)
