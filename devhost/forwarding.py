"""A call's two halves, as the Functions host sends them to a streaming Python worker: the HTTP
leg (to the worker's own server, paired by `x-ms-invocation-id`) and the invocation (over the
control channel). Bodies stream both ways through aiohttp; nothing here parses HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from devhost.asgi import Receive, Scope, Send
from devhost.call_body import BodyTooLarge, ClientGone, RequestBody, watch_disconnect
from devhost.pool import WorkerPool
from devhost.routing import Match
from devhost.settings import HostSettings
from devhost.worker_process import WorkerGone, WorkerProcess

log = logging.getLogger("devhost.host")
# Hop-by-hop fields (RFC 9110 7.6.1), and what the host sets itself.
_NOT_FORWARDED = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"transfer-encoding", b"upgrade", b"host"}
    | {b"x-ms-invocation-id", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto"}
)
_NOT_RETURNED = frozenset({b"connection", b"keep-alive", b"proxy-connection"})
_LEG_ERRORS = (aiohttp.ClientError, OSError)


class Forwarder:
    def __init__(self, settings: HostSettings, pool: WorkerPool) -> None:
        self._settings = settings
        self._pool = pool
        self._session: aiohttp.ClientSession | None = None
        self._invocations: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(
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
        invocation_id = str(uuid.uuid4())
        worker.open_calls += 1
        invocation = asyncio.create_task(self._invoke(worker, match, invocation_id, scope))
        self._invocations.add(invocation)
        invocation.add_done_callback(self._invocations.discard)
        body = RequestBody(receive, self._settings.body_limit)
        try:
            try:
                response = await self._leg(worker, scope, invocation_id, body, invocation)
            except TimeoutError:
                # The front end gives up; the function runs on, as in Azure (functionTimeout still applies).
                await send_error(
                    send, 502, "FrontEndTimeout", "No answer within the front end's limit.", head=head
                )
                return
            except (*_LEG_ERRORS, WorkerGone, BodyTooLarge, ClientGone) as exc:
                await self._refuse(send, body, invocation, head, exc)
                return
            async with response:
                await self._stream(response, body, receive, send)
        finally:
            worker.open_calls -= 1

    async def _leg(
        self,
        worker: WorkerProcess,
        scope: Scope,
        invocation_id: str,
        body: RequestBody,
        invocation: asyncio.Task[None],
    ) -> aiohttp.ClientResponse:
        """Send the HTTP leg; its response once the headers are in (bounded by the front end's limit)."""
        assert self._session is not None
        target = worker.http_uri + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        headers = _leg_headers(scope, worker, invocation_id)
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
                    )
                except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                    # A pooled connection the worker's uvicorn closed (it does after a function error):
                    # nothing reached the worker yet, so the leg is sent again on a new connection.
                    if attempt == 2 or body.started or invocation.done():
                        raise
        raise AssertionError("unreachable")

    async def _refuse(
        self, send: Send, body: RequestBody, invocation: asyncio.Task[None], head: bool, exc: BaseException
    ) -> None:
        from devhost.app import send_error

        if body.client_gone:
            return
        if body.too_large:
            await send_error(
                send, 413, "PayloadTooLarge", "The request body is over the host's limit.", head=head
            )
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(invocation), 1.0)  # did the worker die, or time out?
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

    async def _invoke(self, worker: WorkerProcess, match: Match, invocation_id: str, scope: Scope) -> None:
        message = _invocation(match, invocation_id, scope)
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


def _leg_headers(scope: Scope, worker: WorkerProcess, invocation_id: str) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    forwarded_for: list[str] = []
    host = ""
    # RFC 9110 7.6.1: the fields that Connection names are hop-by-hop too.
    named = {
        token.strip().lower()
        for name, value in scope["headers"]
        if name == b"connection"
        for token in value.split(b",")
    }
    for name, value in scope["headers"]:
        if name in named:
            continue
        if name == b"host":
            host = value.decode("latin-1")
        elif name == b"x-forwarded-for":
            forwarded_for.append(value.decode("latin-1"))
        if name not in _NOT_FORWARDED:
            headers.add(name.decode("latin-1"), value.decode("latin-1"))
    client = scope.get("client")
    forwarded_for.append(client[0] if client else "")
    headers["Host"] = URL(worker.http_uri).raw_authority
    headers["x-ms-invocation-id"] = invocation_id
    headers["X-Forwarded-For"] = ", ".join(forwarded_for)
    headers["X-Forwarded-Host"] = host
    headers["X-Forwarded-Proto"] = scope.get("scheme", "http")
    return headers


def _invocation(match: Match, invocation_id: str, scope: Scope) -> dict[str, Any]:
    """The invocation message: the HTTP leg carries the request; this carries the route params."""
    return {
        "op": "invoke",
        "invocation_id": invocation_id,
        "function_id": match.route.function_id,
        "binding": match.route.binding,
        "http": {
            "method": scope["method"],
            "url": scope["raw_path"].decode("latin-1"),
            "headers": {},
            "query": {},
            "params": match.params,
        },
    }
