"""The proxy: any method under /gateway/ goes to the bound backend with its certificate.

The backend call blocks, so it runs on a worker thread; the worker's event loop (which
also serves the worker's HTTP) only moves body chunks. The request body is read as it is
sent on (no full duplex in the worker: it is read whole before the answer streams).
"""

import logging
from collections.abc import Iterator

import anyio
import anyio.from_thread
import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from functions.http import error_response
from functions.runtime import SERVICES
from shared.errors import CertgateError, InvalidRequestBody
from shared.gateway.forwarding import GatewayRequest

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger(__name__)
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@bp.route(route="gateway/{*path}", methods=_METHODS, auth_level=func.AuthLevel.FUNCTION)
async def forward_gateway(req: Request) -> Response:
    try:
        forwarder = SERVICES.get().forwarder
        request = _gateway_request(req)
        forwarder.check_length(request.length)  # 413 before anything is read or forwarded
        answer = await run_in_threadpool(forwarder.forward, request)
    except CertgateError as exc:
        return error_response(exc)
    except Exception:
        log.exception("unexpected error")
        return error_response(CertgateError("An unexpected error occurred."))
    response: Response
    if answer.complete is not None:  # small, and already read: no streaming hand-offs
        response = Response(answer.complete, status_code=answer.status)
        response.raw_headers = []  # the backend's framing, not one computed here
    else:
        response = StreamingResponse(answer.body, status_code=answer.status)
    for name, value in answer.headers:  # every line, repeats and Set-Cookie values as sent
        response.headers.append(name, value)
    return response


def _gateway_request(req: Request) -> GatewayRequest:
    headers = req.headers
    length = _content_length(headers.get("content-length"))
    has_body = (length or 0) > 0 or "chunked" in headers.get("transfer-encoding", "").lower()
    return GatewayRequest(
        method=req.method,
        path=req.scope["raw_path"].decode("latin-1"),
        query=req.scope["query_string"].decode("latin-1"),
        scheme=headers.get("x-forwarded-proto") or req.url.scheme,
        host=headers.get("x-forwarded-host") or headers.get("host") or "",
        headers=list(headers.items()),
        body=_client_body(req, SERVICES.settings.backend_idle_timeout_seconds) if has_body else None,
        length=length,
    )


def _content_length(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidRequestBody("Content-Length is not a number.")
    return int(raw)


def _client_body(req: Request, idle: float) -> Iterator[bytes]:
    """The client's body for the forwarding thread, pulled chunk by chunk from the event
    loop: memory stays at one chunk whatever the body's size."""
    chunks = req.stream().__aiter__()

    async def next_chunk() -> bytes | None:
        with anyio.fail_after(idle):
            try:
                chunk: bytes = await chunks.__anext__()
                return chunk
            except StopAsyncIteration:
                return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk
