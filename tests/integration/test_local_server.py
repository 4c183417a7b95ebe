"""The local host's HTTP/1.1 server over real sockets: keep-alive and pipelining, chunked bodies,
100-continue, HEAD, HTTP/1.0, and the framings it refuses (each answered in the contract's
error shape, then the connection closed)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from devhost.server import HttpServer, Request, Response

MAX_BODY = 1000
CHUNKED = b"Transfer-Encoding: chunked\r\n\r\n"


def echo(request: Request) -> Response:
    if request.target.startswith("/raise"):
        raise RuntimeError("handler failed")
    if request.target.startswith("/bad-header"):
        return Response(200, [("X-Bad", "a\r\nInjected: 1")], b"")
    seen = {
        "method": request.method,
        "target": request.target,
        "headers": request.headers,
        "body": request.body.decode("latin-1"),
        "client": request.client,
    }
    return Response(200, [("Content-Type", "application/json")], json.dumps(seen).encode())


@pytest.fixture
def server() -> Iterator[int]:
    sock = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(
        target=HttpServer(sock, echo, max_body_bytes=MAX_BODY, idle_timeout=10).serve_forever, daemon=True
    )
    thread.start()
    yield int(sock.getsockname()[1])
    sock.close()


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, *, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, f"closed before a response: {self.buffer!r}"
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {n.lower(): v.strip() for n, _, v in (line.partition(":") for line in lines[1:])}
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self.buffer += self.sock.recv(65536)
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split(" ")[1]), headers, body

    def closed(self) -> bool:
        return self.buffer == b"" and self.sock.recv(1) == b""


def seen(body: bytes) -> dict[str, object]:
    return dict(json.loads(body))


def test_pipelined_requests_are_answered_in_order_on_one_connection(server: int) -> None:
    client = Client(server)
    client.send(b"GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two?x=%20&x=2 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert seen(client.response()[2])["target"] == "/one"
    assert seen(client.response()[2])["target"] == "/two?x=%20&x=2"
    client.send(b"POST /a%2Fb/../c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")
    status, headers, body = client.response()
    assert (status, seen(body)["target"], seen(body)["body"]) == (200, "/a%2Fb/../c", "abc")
    assert seen(body)["client"] == "127.0.0.1" and "date" in headers and "connection" not in headers


def test_repeated_headers_reach_the_handler_as_sent(server: int) -> None:
    client = Client(server)
    client.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a:  2 \r\n\r\n")
    assert seen(client.response()[2])["headers"] == [["Host", "h"], ["X-A", "1"], ["x-a", "2"]]


def test_chunked_body_arrives_whole(server: int) -> None:
    client = Client(server)
    client.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n")
    client.send(b"2\r\nde\r\n0\r\nTrailer: x\r\n\r\n")
    assert seen(client.response()[2])["body"] == "abcde"
    client.send(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")  # the trailer was consumed, nothing more
    assert seen(client.response()[2])["target"] == "/next"


def test_expect_continue_is_answered_before_the_body_is_sent(server: int) -> None:
    client = Client(server)
    client.send(b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
    status, _, _ = client.response(head_only=True)
    assert status == 100
    client.send(b"ok")
    assert seen(client.response()[2])["body"] == "ok"


def test_head_has_no_body_and_the_next_answer_follows(server: int) -> None:
    client = Client(server)
    client.send(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n")
    status, headers, _ = client.response(head_only=True)
    assert status == 200 and int(headers["content-length"]) > 0  # the length GET would have
    assert seen(client.response()[2])["target"] == "/after"


def test_http10_closes_unless_asked_to_keep_alive(server: int) -> None:
    client = Client(server)
    client.send(b"GET / HTTP/1.0\r\n\r\n")
    assert client.response()[1]["connection"] == "close"
    assert client.closed()
    kept = Client(server)
    kept.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\nConnection: close\r\n\r\n")
    assert kept.response()[0] == 200 and seen(kept.response()[2])["target"] == "/2"
    assert kept.closed()


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\n" + CHUNKED + b"0\r\n\r\n", 400, "BadRequest"),
        (b"POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd", 400, "BadRequest"),
        (b"POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400, "BadRequest"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "NotImplemented"),
        (b"GET / HTTP/2.0\r\n\r\n", 505, "HttpVersionNotSupported"),
        (b"GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", 400, "BadRequest"),
        (b"GET / HTTP/1.1\r\nX-A : 1\r\n\r\n", 400, "BadRequest"),
        (b"GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n", 400, "BadRequest"),
        (b"GET /\r\n\r\n", 400, "BadRequest"),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "RequestHeaderFieldsTooLarge"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", 413, "PayloadTooLarge"),
        (b"POST / HTTP/1.1\r\n" + CHUNKED + b"3e9\r\n" + b"a" * 1001, 413, "PayloadTooLarge"),
    ],
    ids=[
        "length-and-chunked", "lengths-differ", "negative-length", "gzip", "http2", "obs-fold",
        "space-before-colon", "control-character", "no-version", "head-too-large", "body-too-large",
        "chunked-too-large",
    ],
)  # fmt: skip
def test_unframeable_requests_are_refused_and_the_connection_closed(
    server: int, request_bytes: bytes, status: int, code: str
) -> None:
    client = Client(server)
    client.send(request_bytes)
    answer, headers, body = client.response()
    assert (answer, json.loads(body)["error"]["code"]) == (status, code)
    assert headers["connection"] == "close" and headers["content-type"].startswith("application/json")


def test_a_failing_handler_answers_500_and_the_connection_goes_on(server: int) -> None:
    client = Client(server)
    client.send(b"GET /raise HTTP/1.1\r\nHost: h\r\n\r\n")
    status, _, body = client.response()
    assert (status, json.loads(body)["error"]["code"]) == (500, "InternalError")
    client.send(b"GET /bad-header HTTP/1.1\r\nHost: h\r\n\r\n")
    status, headers, _ = client.response()
    assert status == 500 and "injected" not in headers  # no header injection reaches the wire
    client.send(b"GET /fine HTTP/1.1\r\nHost: h\r\n\r\n")
    assert client.response()[0] == 200
