"""The request body of one call, pulled from the ASGI server chunk by chunk as aiohttp sends it
to the worker (bounded memory), counted against FUNCTIONS_REQUEST_BODY_SIZE_LIMIT as it streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from devhost.asgi import Receive


class BodyTooLarge(Exception):
    """A body without Content-Length (chunked) grew over the limit."""


class ClientGone(Exception):
    """The client disconnected while its body was being read."""


class RequestBody:
    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self.received = 0
        self.started = False  # a chunk went to the worker: the leg cannot be sent again
        self.complete = False
        self.too_large = False
        self.client_gone = False

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.client_gone = True
                raise ClientGone
            chunk: bytes = message.get("body", b"")
            self.received += len(chunk)
            if self.received > self._limit:
                self.too_large = True
                raise BodyTooLarge
            if chunk:
                self.started = True
                yield chunk
            if not message.get("more_body", False):
                self.complete = True
                return


def watch_disconnect(receive: Receive, body: RequestBody) -> asyncio.Task[None]:
    """A task that ends when the client goes away while its answer streams (it is cancelled
    when the answer is complete). Only once the request body was read: before, receive() is
    the body's."""

    async def wait() -> None:
        if not body.complete:
            await asyncio.Event().wait()  # never: the body reader owns receive()
        while (await receive())["type"] != "http.disconnect":
            pass

    return asyncio.create_task(wait())
