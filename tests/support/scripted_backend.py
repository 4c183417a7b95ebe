"""An mTLS backend that answers with scripted raw bytes, to hold the gateway's HTTP/1.1 client
to RFC 9112 framing: each request gets the next answer of the script, which may close the
connection after answering, or instead of answering."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from tests.support.pki import Issued
from tests.support.tls_backends import _abort, _server_context

_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    raw: bytes | Iterable[bytes]  # written as is; b"" writes nothing; pieces: one per `pause`
    close: bool = False  # close the connection after writing: TCP FIN with no TLS close_notify
    close_notify: bool = False  # close it cleanly instead: TLS close_notify, then FIN
    early: bool = False  # answer as soon as the head is in, without reading the body
    pause: float = 0.0  # seconds between two pieces of `raw`


class ScriptedBackend:
    def __init__(self, server: Issued, client_ca_pem: bytes, script: list[Answer]) -> None:
        self._context = _server_context(server, [client_ca_pem])
        self._script = list(script)
        self.requests: list[bytes] = []  # each request as received: head and body
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self.url = f"https://localhost:{self.port}"
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        with contextlib.suppress(OSError), self._context.wrap_socket(raw, server_side=True) as conn:
            with self._lock:
                self.connections += 1
                self._open.append(conn)
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                with self._lock:
                    answer = self._script.pop(0)
                if answer.early:  # as nginx answers 413: then a lingering close
                    self.requests.append(head + b"\r\n\r\n")
                    conn.sendall(answer.raw if isinstance(answer.raw, bytes) else b"".join(answer.raw))
                    socket.socket.shutdown(conn, socket.SHUT_WR)
                    _drain(conn, seconds=5)
                    return
                match = _LENGTH.search(head)
                length = int(match.group(1)) if match else 0
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                with self._lock:
                    self.requests.append(head + b"\r\n\r\n" + body)
                _write(conn, answer)
                if answer.close_notify:
                    conn.unwrap()
                    raw.close()
                    return
                if answer.close:
                    _abort(conn)
                    return

    @property
    def heads(self) -> list[bytes]:
        return [r.split(b"\r\n\r\n", 1)[0] for r in self.requests]

    def close(self) -> None:
        self._sock.close()
        with self._lock:
            for conn in self._open:
                _abort(conn)

    def __enter__(self) -> ScriptedBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write(conn: socket.socket, answer: Answer) -> None:
    if isinstance(answer.raw, bytes):
        conn.sendall(answer.raw)
        return
    for piece in answer.raw:  # a drip, possibly endless: ends when the client cuts the connection
        conn.sendall(piece)
        time.sleep(answer.pause)


def _drain(conn: socket.socket, *, seconds: float) -> None:
    conn.settimeout(0.5)
    deadline = time.monotonic() + seconds
    with contextlib.suppress(OSError):
        while time.monotonic() < deadline and socket.socket.recv(conn, 65536):
            pass
