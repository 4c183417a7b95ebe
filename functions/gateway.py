"""The proxy: any method under /gateway/ goes to the bound backend with its certificate."""

from __future__ import annotations

import azure.functions as func

from functions.http import respond
from functions.runtime import SERVICES
from shared.errors import PayloadTooLarge
from shared.gateway.forwarding import GatewayRequest

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
        response = func.HttpResponse(answer.body, status_code=answer.status)
        for name, value in answer.headers:
            if name.lower() == "set-cookie":
                response.headers.add(name, value)  # the worker sends each as its own cookie
            elif name in response.headers:
                # The worker keeps one value per name: combine them (RFC 9110 5.3).
                response.headers[name] = f"{response.headers[name]}, {value}"
            else:
                response.headers[name] = value
        return response

    return respond(action)
