"""The host's ASGI app (served by uvicorn): what the Functions host answers itself (400 for a
missing or doubled Host, 404, 405, 401, 413 on Content-Length) before a call goes to a worker."""

from __future__ import annotations

import json
import logging
from typing import Any

from devhost.asgi import Receive, Scope, Send
from devhost.forwarding import Forwarder
from devhost.keys import header_value
from devhost.routing import Match, RouteTable
from devhost.settings import HostSettings

log = logging.getLogger("devhost.host")


async def send_error(send: Send, status: int, code: str, message: str, *, head: bool = False) -> None:
    """An answer of the host itself, in the contract's error shape."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


class HostApp:
    def __init__(self, settings: HostSettings, table: RouteTable, forwarder: Forwarder) -> None:
        self._settings = settings
        self._table = table
        self._forwarder = forwarder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        head = scope["method"] == "HEAD"
        if sum(1 for name, _ in headers if name == b"host") != 1:
            # RFC 9112 3.2: without exactly one Host, 400 (for version 1.0 requests too, here).
            await send_error(
                send, 400, "BadRequest", "The request must carry exactly one Host header.", head=head
            )
            return
        found = self._table.match(scope["raw_path"].decode("latin-1"), scope["method"])
        if not isinstance(found, Match):
            if found == 404:
                await send_error(send, 404, "NotFound", "No function serves this path.", head=head)
            else:
                await send_error(
                    send, 405, "MethodNotAllowed", f"{scope['method']} is not allowed here.", head=head
                )
            return
        if not self._settings.keys.allows(
            found.route.auth_level, header_value(headers, b"x-functions-key"), scope["query_string"]
        ):
            await send_error(send, 401, "Unauthorized", "A valid key is required.", head=head)
            return
        if _declared_length(headers) > self._settings.body_limit:
            await send_error(
                send, 413, "PayloadTooLarge", "The request body is over the host's limit.", head=head
            )
            return
        await self._forwarder.forward(scope, receive, send, found)


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int:
    """Content-Length as the server let it through (uvicorn refuses malformed ones), else 0."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def describe(table: RouteTable) -> list[str]:
    """One line per route, logged at startup as `func start` lists its functions."""
    lines: list[Any] = []
    for route in table.routes:
        lines.append(
            f"{route.name}: [{','.join(sorted(route.methods))}] /{route.template} ({route.auth_level})"
        )
    return lines
