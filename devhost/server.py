"""A threaded HTTP/1.1 server for the local host: one thread per connection, blocking sockets.

Each request is read, handled and answered on its connection's thread, with no hand-off
between an I/O loop and a worker pool: under the GIL every hand-off is a context switch that
costs as much as the work. Connections beyond `max_connections` wait in the listen backlog.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from typing import NamedTuple

from devhost.http11 import BadRequest, RequestHead, parse_request_head, render_response
from shared.http1 import Fields, HeadTooLarge, MessageError, Reader

log = logging.getLogger("devhost.server")


class Request(NamedTuple):
    method: str
    target: str
    headers: Fields
    body: bytes
    client: str  # the caller's address


class Response(NamedTuple):
    status: int
    headers: Fields
    body: bytes


Handler = Callable[[Request], Response]
_JSON = [("Content-Type", "application/json; charset=utf-8")]


class HttpServer:
    def __init__(
        self,
        sock: socket.socket,
        handler: Handler,
        *,
        max_connections: int = 1024,
        idle_timeout: float = 120.0,
        max_body_bytes: int = 1 << 30,
    ) -> None:
        self._sock = sock
        self._closed = threading.Event()
        self._handler = handler
        self._slots = threading.BoundedSemaphore(max_connections)
        self._idle_timeout = idle_timeout
        self._max_body = max_body_bytes

    def serve_forever(self) -> None:
        while True:
            self._slots.acquire()
            try:
                conn, address = self._sock.accept()
            except OSError:
                self._slots.release()
                if self._closed.is_set():
                    return
                continue
            threading.Thread(target=self._serve, args=(conn, address[0]), daemon=True).start()

    def close(self) -> None:
        """Stop serve_forever. On Linux close() alone does not wake a thread blocked in accept():
        shutdown() does."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def _serve(self, conn: socket.socket, client: str) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(self._idle_timeout)
            reader = Reader(conn)
            while self._exchange(conn, reader, client):
                pass
        except OSError:
            pass  # the peer went away or idled out: nothing to answer
        finally:
            conn.close()
            self._slots.release()

    def _exchange(self, conn: socket.socket, reader: Reader, client: str) -> bool:
        """One request and its response; False when the connection is done."""
        try:
            raw = reader.head()
            if raw is None:
                return False
            head = parse_request_head(raw)
            body = self._body(conn, reader, head)
        except HeadTooLarge:
            self._refuse(
                conn, BadRequest(431, "The request head is too large.", "RequestHeaderFieldsTooLarge")
            )
            return False
        except MessageError as exc:
            self._refuse(conn, BadRequest(400, f"Malformed request: {exc}."))
            return False
        except BadRequest as exc:
            self._refuse(conn, exc)
            return False
        response = self._call(Request(head.method, head.target, head.headers, body, client))
        try:
            data = render_response(
                response.status,
                response.headers,
                response.body,
                head_only=head.method == "HEAD",
                keep_alive=head.keep_alive,
            )
        except (ValueError, UnicodeEncodeError):
            log.exception("the response to %s cannot be written", head.method)
            data = render_response(
                500,
                _JSON,
                _error_body("InternalError", "The response cannot be written."),
                head_only=False,
                keep_alive=head.keep_alive,
            )
        conn.sendall(data)
        return head.keep_alive

    def _body(self, conn: socket.socket, reader: Reader, head: RequestHead) -> bytes:
        too_large = BadRequest(
            413, f"The request body is over the limit of {self._max_body} bytes.", "PayloadTooLarge"
        )
        if head.content_length is not None and head.content_length > self._max_body:
            raise too_large
        if head.expects_continue and head.content_length != 0:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if head.content_length is None:
            try:
                return reader.chunked(self._max_body)
            except MessageError as exc:
                if "over the limit" in str(exc):
                    raise too_large from exc
                raise
        return reader.exact(head.content_length) if head.content_length else b""

    def _call(self, request: Request) -> Response:
        try:
            return self._handler(request)
        except Exception:
            log.exception("the local host failed on %s", request.method)
            return Response(500, _JSON, _error_body("InternalError", "The local host failed."))

    def _refuse(self, conn: socket.socket, exc: BadRequest) -> None:
        body = _error_body(exc.code, exc.message)
        conn.sendall(render_response(exc.status, _JSON, body, head_only=False, keep_alive=False))


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()
