"""Real HTTPS backends on 127.0.0.1 for the gateway tests, served from threads: `EchoBackend`
answers every method with what it saw, client certificate included; given `client_ca_pems` it
aborts the handshake for any certificate not from those CAs, as a strict mTLS backend does."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography import x509

from tests.support.pki import Issued

PATTERN = bytes(range(256))
_BODYLESS = {204, 304}  # statuses that must not carry a body (RFC 9110, 6.4.1)


def _server_context(server: Issued, client_ca_pems: list[bytes] | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:  # test-only material, not product key handling
        chain, key = Path(tmp) / "chain.pem", Path(tmp) / "key.pem"
        chain.write_bytes(server.chain_pem)
        key.write_bytes(server.key_pem)
        ctx.load_cert_chain(chain, key)
    if client_ca_pems is not None:  # else no client certificate is asked for
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata="".join(p.decode() for p in client_ca_pems))
    return ctx


def _presented_chain_len(conn: ssl.SSLSocket) -> int | None:
    """How many certificates the client sent, its leaf included (`get_unverified_chain`, public
    since Python 3.13). An OpenSSL client loaded with a bare leaf completes the chain from its
    own trust store, so a root may be counted too."""
    chain = conn.get_unverified_chain()
    return len(chain) if chain else None


def _abort(conn: socket.socket) -> None:
    """End a connection without a TLS close_notify, as a lost backend does; a thread blocked
    on it wakes up. Closing is left to the thread that owns the socket: closing under it could
    hand its descriptor number to another socket."""
    with contextlib.suppress(OSError):  # already gone
        socket.socket.shutdown(conn, socket.SHUT_RDWR)  # the TCP socket under any SSL layer


def _pieces(stream: Any, size: int) -> Iterator[bytes]:
    while size > 0:
        piece = stream.read(min(size, 1 << 20))
        if not piece:  # a body cut short is no request: not counted, not answered
            raise ConnectionError("the request body was cut short")
        size -= len(piece)
        yield piece


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _EchoServer
    connection: ssl.SSLSocket

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _body(self) -> tuple[str, int]:
        """The request body's SHA-256 and length, read piece by piece (a body of any size)."""
        digest, size = hashlib.sha256(), 0
        codings = [c.strip().lower() for c in self.headers.get("Transfer-Encoding", "").split(",")]
        if codings[-1] == "chunked":  # chunked is always the last coding applied
            while True:
                chunk = int(self.rfile.readline().split(b";")[0], 16)  # chunk extensions ignored
                if chunk == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):  # trailers
                        pass
                    return digest.hexdigest(), size
                for piece in _pieces(self.rfile, chunk):
                    digest.update(piece)
                    size += len(piece)
                self.rfile.readline()
        for piece in _pieces(self.rfile, int(self.headers.get("Content-Length") or 0)):
            digest.update(piece)
            size += len(piece)
        return digest.hexdigest(), size

    def _answer(self) -> None:
        body_sha256, body_len = self._body()
        owner = self.server.owner
        owner.count_request()
        if owner.delay:
            time.sleep(owner.delay)
        path, _, query = self.path.partition("?")
        status = int(self.headers.get("X-Echo-Status", "200"))
        # "Name: value | Name: value": several response headers, repeated names included
        extra = [
            h.split(":", 1) for v in self.headers.get_all("X-Echo-Set-Header", []) for h in v.split(" | ")
        ]
        if "X-Echo-Body-Bytes" in self.headers:
            size = int(self.headers["X-Echo-Body-Bytes"])
            payload = (PATTERN * (size // 256 + 1))[:size]
            content_type = "application/octet-stream"
        else:
            payload = json.dumps(
                {
                    "method": self.command,
                    "path": path,
                    "query": query,
                    "headers": [[k, v] for k, v in self.headers.items()],
                    "body_sha256": body_sha256,
                    "body_len": body_len,
                    "client_cert": self._client_cert(),
                }
            ).encode()
            content_type = "application/json"
        bodyless = status in _BODYLESS
        self.send_response(status)
        if not any(name.strip().lower() == "content-type" for name, *_ in extra):
            self.send_header("Content-Type", content_type)  # else X-Echo-Set-Header chose one
        if not bodyless:
            self.send_header("Content-Length", str(len(payload)))
        for name, *value in extra:
            if value:  # a fragment without a colon is no header: skipped
                self.send_header(name.strip(), value[0].strip())
        self.end_headers()
        if self.command != "HEAD" and not bodyless:
            self.wfile.write(payload)

    def _client_cert(self) -> dict[str, Any] | None:
        der = self.connection.getpeercert(binary_form=True)
        if not der:
            return None
        return {
            "subject": x509.load_der_x509_certificate(der).subject.rfc4514_string(),
            "thumbprint": hashlib.sha1(der).hexdigest().upper(),
            "chain_len": _presented_chain_len(self.connection),  # None where ssl cannot tell
        }

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method, standard or invented, gets the echo
            return self._answer
        raise AttributeError(name)


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops SYNs under a burst: 1 s retries
    owner: EchoBackend

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # refused handshakes are the point of some tests: no tracebacks on stderr

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        # headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # the handshake waits for the connection's own thread (finish_request): done here, one
        # client that connects and stays silent would hold up every other one
        conn = self.owner.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        conn.settimeout(10)
        self.owner.track(conn)
        return conn, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return  # refused or abandoned: shutdown_request closes the socket
        self.owner.count_handshake()
        super().finish_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.owner.untrack(request)
        super().shutdown_request(request)


class EchoBackend:
    """An HTTP/1.1 keep-alive echo server over TLS. Test controls, as request headers:
    `X-Echo-Status: 418`, `X-Echo-Set-Header: Name: value | Name: value` (repeatable), and
    `X-Echo-Body-Bytes: N` (N bytes of `PATTERN` instead of the JSON echo)."""

    def __init__(self, server: Issued, client_ca_pems: list[bytes] | None, *, delay: float = 0) -> None:
        self.context = _server_context(server, client_ca_pems)
        self.server_names: list[str | None] = []  # the SNI of each handshake
        self.context.sni_callback = self._record_server_name
        self.delay = delay
        self.handshakes = 0  # completed handshakes; refused ones are not counted
        self.requests = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._server = _EchoServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = int(self._server.server_address[1])
        self.url = f"https://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _record_server_name(self, _sock: Any, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.server_names.append(name)

    def count_handshake(self) -> None:
        with self._lock:
            self.handshakes += 1

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def track(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.discard(conn)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        # handler threads are daemons serving keep-alive connections: without this a pooled
        # client would go on getting answers from a backend that is "gone"
        with self._lock:
            live, self._open = list(self._open), set()
        for conn in live:
            _abort(conn)  # each one's handler thread then closes it

    def __enter__(self) -> EchoBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released: another process could
    take it in between, which is unlikely enough for tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HangingBackend:
    """Accepts connections and never answers: the gateway's timeout must fire. Without `server`
    the TLS handshake itself stalls (the ClientHello gets no reply); with it the handshake
    completes and the request then goes unanswered."""

    def __init__(self, server: Issued | None = None) -> None:
        self._context = _server_context(server, None) if server is not None else None
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"https://localhost:{self.port}"
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._sock.settimeout(0.2)  # wake up to notice close()
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._context is not None:
                conn = self._context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
                # a thread per handshake: a silent client holds up no other
                threading.Thread(target=self._handshake, args=(conn,), daemon=True).start()
            with self._lock:
                self._held.append(conn)

    @staticmethod
    def _handshake(conn: ssl.SSLSocket) -> None:
        with contextlib.suppress(OSError):  # the client gave up, or close() came first
            conn.do_handshake()  # then nothing: the request is never read

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        with self._lock:
            held, self._held = self._held, []
        for conn in held:
            _abort(conn)
            conn.close()
        self._sock.close()

    def __enter__(self) -> HangingBackend:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
