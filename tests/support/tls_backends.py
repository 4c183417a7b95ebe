"""Real HTTPS backends on 127.0.0.1 for the gateway tests, served from threads.

`EchoBackend` answers every method with what it saw (path, query, headers, body digest and the
client certificate); with `client_ca_pems` it demands a client certificate from those CAs and
aborts the handshake otherwise, as a strict mTLS backend does.
"""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.pki import Issued

PATTERN = bytes(range(256))


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _EchoServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self) -> None:
        body = self._body()
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
                    "body_sha256": hashlib.sha256(body).hexdigest(),
                    "body_len": len(body),
                    "client_cert": self._client_cert(),
                }
            ).encode()
            content_type = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra:
            self.send_header(name.strip(), value.strip())
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _client_cert(self) -> dict[str, Any] | None:
        der = self.connection.getpeercert(binary_form=True)  # type: ignore[attr-defined]
        if not der:
            return None
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        return {
            "subject": cert.subject.rfc4514_string(),
            "thumbprint": hashlib.sha1(der).hexdigest().upper(),
            "chain_len": None,
        }  # Python 3.11's ssl cannot show the peer's chain

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
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
        conn = self.owner.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        conn.settimeout(10)
        try:
            conn.do_handshake()
        except (ssl.SSLError, OSError):
            conn.close()
            raise
        self.owner.count_handshake()
        return conn, addr


class EchoBackend:
    def __init__(self, server: Issued, client_ca_pems: list[bytes] | None, *, delay: float = 0) -> None:
        self.context = _server_context(server, client_ca_pems)
        self.delay = delay
        self.handshakes = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._server = _EchoServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = int(self._server.server_address[1])
        self.url = f"https://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def count_handshake(self) -> None:
        with self._lock:
            self.handshakes += 1

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> EchoBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HangingBackend:
    """Accepts TCP connections and never answers: the gateway's timeout must fire."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"https://localhost:{self.port}"
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
                self._held.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._held:
            conn.close()
        self._sock.close()

    def __enter__(self) -> HangingBackend:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
