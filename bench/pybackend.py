"""`python -m bench.pybackend --port N --pki DIR`: the streaming benchmark's second mTLS backend
(stdlib http.server, one thread per connection), shared by certgate and the nginx anchor.

- POST/PUT /upload: reads the whole body (Content-Length) and answers its size and SHA-256, so a
  proxy that did not deliver every byte shows.
- GET /slow: a first piece, then a wait (?wait=seconds, default 1), then the rest (Content-Length
  framing: no chunk is written by hand).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIRST = b"first piece\n"
REST = b"and the rest, after the wait\n"
READ = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the proxies pool their connections

    server: Server

    def setup(self) -> None:
        # The TLS handshake here, on this connection's thread, not in the accept loop.
        self.request = self.server.context.wrap_socket(self.request, server_side=True)
        super().setup()
        # The head and the first piece are two writes: without this, Nagle holds the second
        # until the proxy ACKs the first (up to its 40 ms delayed ACK).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per call would cost more than the call

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/upload":
            self._answer(404, b"not found\n")
            return
        remaining = int(self.headers.get("Content-Length") or 0)
        digest = hashlib.sha256()
        size = 0
        while remaining:
            data = self.rfile.read(min(READ, remaining))
            if not data:
                break
            digest.update(data)
            size += len(data)
            remaining -= len(data)
        body = json.dumps({"bytes": size, "sha256": digest.hexdigest()}).encode()
        self._answer(200, body, "application/json")

    do_PUT = do_POST

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/slow":
            self._answer(200, b"ok")
            return
        wait = float(parse_qs(parts.query).get("wait", ["1"])[0])
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(FIRST) + len(REST)))
        self.end_headers()
        self.wfile.write(FIRST)
        self.wfile.flush()
        time.sleep(wait)
        self.wfile.write(REST)

    def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog (5 by default: SYNs dropped, 1 s retries)

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(address, Handler)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.pybackend")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pem", type=Path, required=True)
    parser.add_argument("--server-key", type=Path, required=True)
    parser.add_argument("--ca-pem", type=Path, required=True)
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.server_pem, args.server_key)
    context.load_verify_locations(args.ca_pem)
    context.verify_mode = ssl.CERT_REQUIRED  # as the nginx backend: no client certificate, no call
    Server(("127.0.0.1", args.port), context).serve_forever()


if __name__ == "__main__":
    main()
