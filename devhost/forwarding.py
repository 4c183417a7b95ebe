"""A call's two halves, as the Functions host sends them to a streaming Python worker: the HTTP
leg (to the worker's own server, paired by `x-ms-invocation-id`) and the invocation (over the
control channel). Bodies stream both ways through aiohttp; nothing here parses HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from types import SimpleNamespace

import aiohttp
from yarl import URL

from devhost.asgi import Receive, Scope, Send
from devhost.call_body import BodyTooLarge, ClientGone, RequestBody, watch_disconnect
from devhost.messages import invocation_message, leg_headers
from devhost.pool import WorkerPool
from devhost.routing import Match
from devhost.settings import HostSettings
from devhost.worker_process import WorkerGone, WorkerProcess

log = logging.getLogger("devhost.host")
# FastAPI's own routes in the worker's web app (docs_url, redoc_url, openapi_url and the OAuth2 redirect).
WORKER_OWN_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
_NOT_RETURNED = frozenset({b"connection", b"keep-alive", b"proxy-connection"})
_LEG_ERRORS = (aiohttp.ClientError, OSError)


class Forwarder:
    def __init__(self, settings: HostSettings, pool: WorkerPool) -> None:
        self._settings = settings
        self._pool = pool
        self._session: aiohttp.ClientSession | None = None
        self._invocations: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        trace = aiohttp.TraceConfig()
        trace.on_request_headers_sent.append(_headers_sent)
        self._session = aiohttp.ClientSession(
            trace_configs=[trace],
            connector=aiohttp.TCPConnector(limit=0, force_close=False),
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def forward(self, scope: Scope, receive: Receive, send: Send, match: Match) -> None:
        from devhost.app import send_error

        head = scope["method"] == "HEAD"
        try:
            worker = await self._pool.pick()
        except TimeoutError:
            await send_error(send, 503, "ServiceUnavailable", "No worker process is ready.", head=head)
            return
        worker.open_calls += 1
        call = _Call(self, worker, match, scope)
        body = RequestBody(receive, self._settings.body_limit)
        try:
            try:
                response = await self._leg(call, body)
            except TimeoutError:
                # The front end gives up; the function runs on, as in Azure (functionTimeout still applies).
                await send_error(
                    send, 502, "FrontEndTimeout", "No answer within the front end's limit.", head=head
                )
                return
            except (*_LEG_ERRORS, WorkerGone, BodyTooLarge, ClientGone) as exc:
                await self._refuse(send, body, call.invocation, head, exc)
                return
            async with response:
                await self._stream(response, body, receive, send)
        finally:
            worker.open_calls -= 1

    def start_invocation(self, call: _Call) -> None:
        """Send the invocation, once the leg's headers went out: a leg that could not even be sent
        leaves no invocation waiting for it in the worker (the pairing has no timeout)."""
        if call.invocation is None and call.scope["path"] in WORKER_OWN_PATHS:
            # The worker's FastAPI answers these itself, before the runtime's catch-all route: the
            # leg is never paired, and an invocation sent for it would wait until functionTimeout.
            log.warning("%s is served by the worker's FastAPI itself: no function runs", call.scope["path"])
            call.invocation = asyncio.create_task(asyncio.sleep(0))
        elif call.invocation is None:
            call.invocation = asyncio.create_task(self._invoke(call))
            self._invocations.add(call.invocation)
            call.invocation.add_done_callback(self._invocations.discard)

    async def _leg(self, call: _Call, body: RequestBody) -> aiohttp.ClientResponse:
        """Send the HTTP leg; its response once the headers are in (bounded by the front end's limit)."""
        assert self._session is not None
        worker, scope = call.worker, call.scope
        target = worker.http_uri + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        headers = leg_headers(scope, worker.http_uri, call.invocation_id)
        has_body = (
            any(n == b"transfer-encoding" for n, _ in scope["headers"])
            or headers.get("Content-Length", "0") != "0"
        )
        async with asyncio.timeout(self._settings.frontend_timeout):
            for attempt in (1, 2):
                try:
                    return await self._session.request(
                        scope["method"],
                        URL(target, encoded=True),
                        headers=headers,
                        data=body.chunks() if has_body else None,
                        allow_redirects=False,
                        trace_request_ctx=call,
                    )
                except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                    # A pooled connection the worker's uvicorn closed (it does after a function error):
                    # nothing reached the worker yet, so the leg is sent again on a new connection.
                    if attempt == 2 or body.started or (call.invocation and call.invocation.done()):
                        raise
        raise AssertionError("unreachable")

    async def _refuse(
        self,
        send: Send,
        body: RequestBody,
        invocation: asyncio.Task[None] | None,
        head: bool,
        exc: BaseException,
    ) -> None:
        from devhost.app import send_error

        if body.client_gone:
            return
        if body.too_large:
            await send_error(
                send, 413, "PayloadTooLarge", "The request body is over the host's limit.", head=head
            )
            return
        if invocation is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(invocation), 1.0)  # did the worker die, time out?
        log.warning("HTTP leg to the worker failed: %s", type(exc).__name__)
        await send_error(send, 500, "InternalServerError", "The function invocation failed.", head=head)

    async def _stream(
        self, response: aiohttp.ClientResponse, body: RequestBody, receive: Receive, send: Send
    ) -> None:
        """The worker's answer as it came: status, every header line, the body chunk by chunk;
        each gap between chunks bounded by the front end's (idle) limit."""
        headers = [(n.lower(), v) for n, v in response.raw_headers if n.lower() not in _NOT_RETURNED]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        stop = watch_disconnect(receive, body)
        try:
            while True:
                async with asyncio.timeout(self._settings.frontend_timeout):
                    chunk = await response.content.readany()
                if not chunk:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if stop.done():
                    return
            await send({"type": "http.response.body", "body": b""})
        except (TimeoutError, *_LEG_ERRORS) as exc:
            # Headers are out: all that is left is to cut the connection, as a proxy does.
            log.warning("response from the worker cut short: %s", type(exc).__name__)
            raise
        finally:
            stop.cancel()

    async def _invoke(self, call: _Call) -> None:
        worker, match, invocation_id = call.worker, call.match, call.invocation_id
        message = invocation_message(match, invocation_id, call.scope)
        timeout = self._settings.function_timeout
        try:
            answer = await worker.request(message, timeout)
        except TimeoutError:
            # What the Functions host does for an out-of-process worker: the function cannot be
            # cancelled, so the worker is restarted (its other open calls fail with it).
            log.error(
                "Timeout value of %s s exceeded by function '%s' (Id: '%s'): restarting worker process %s",
                timeout,
                match.route.name,
                invocation_id,
                worker.pid,
            )
            worker.kill()
            return
        except WorkerGone:
            return
        if not answer.get("ok"):
            log.warning(
                "function '%s' (Id: '%s') failed: %s", match.route.name, invocation_id, answer.get("error")
            )


class _Call:
    """One call in flight: where it goes, and its invocation once sent."""

    def __init__(self, forwarder: Forwarder, worker: WorkerProcess, match: Match, scope: Scope) -> None:
        self.forwarder = forwarder
        self.worker = worker
        self.match = match
        self.scope = scope
        self.invocation_id = str(uuid.uuid4())
        self.invocation: asyncio.Task[None] | None = None


async def _headers_sent(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestHeadersSentParams
) -> None:
    call = context.trace_request_ctx
    if isinstance(call, _Call):
        call.forwarder.start_invocation(call)
