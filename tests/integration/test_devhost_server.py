"""devhost.server.HttpServer over real sockets on 127.0.0.1, driven with raw bytes: keep-alive,
pipelining, chunked bodies, 100-continue, HEAD, HTTP/1.0, handler failures, and every framing it
refuses (answered in the contract's error shape, then the connection closed)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from devhost.server import HttpServer, Request, Response
from shared.http1 import MAX_HEAD_BYTES

MAX_BODY = 1000
TIMEOUT = 5.0


def echo(request: Request) -> Response:
    """What the server handed over, as JSON; `/raise` raises, `/bad-header` answers a header
    that would split the response."""
    if request.target.startswith("/raise"):
        raise RuntimeError("the handler failed")
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


def start(sock: socket.socket) -> tuple[HttpServer, threading.Thread]:
    server = HttpServer(sock, echo, max_body_bytes=MAX_BODY, idle_timeout=10)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def port() -> Iterator[int]:
    sock = socket.create_server(("127.0.0.1", 0))
    server, thread = start(sock)
    yield int(sock.getsockname()[1])
    server.close()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "serve_forever did not return once its socket was closed"


class Reply(NamedTuple):
    status: int
    head: bytes  # as received, without the blank line
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name), None)

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One raw connection: exact bytes out, one response at a time back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, f"the connection closed before a whole response: {self.buffer!r}"
        self.buffer += chunk

    def response(self, *, head_only: bool = False) -> Reply:
        """One response: its head, then Content-Length bytes of body (none for HEAD)."""
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        start, *lines = head.decode("latin-1").split("\r\n")
        version, status, _ = start.split(" ", 2)
        assert version == "HTTP/1.1", start
        headers = [(n, v.strip()) for n, _, v in (line.partition(":") for line in lines)]
        length = 0 if head_only else int(dict((n.lower(), v) for n, v in headers).get("content-length", "0"))
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Reply(int(status), head, headers, body)

    def closed(self) -> bool:
        """True when the server closed the connection with nothing more to read."""
        return self.buffer == b"" and self.sock.recv(65536) == b""

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def client(port: int) -> Iterator[Client]:
    conn = Client(port)
    yield conn
    conn.close()


def get(target: str, *extra: str, version: str = "HTTP/1.1") -> bytes:
    return "".join([f"GET {target} {version}\r\nHost: h\r\n", *(f"{e}\r\n" for e in extra), "\r\n"]).encode(
        "latin-1"
    )


# keep-alive and pipelining


def test_pipelined_requests_are_answered_in_order_on_one_connection(client: Client) -> None:
    client.send(get("/one") + get("/two") + get("/three"))
    for target in ("/one", "/two", "/three"):
        reply = client.response()
        assert reply.status == 200
        assert reply.json()["target"] == target
        assert reply.header("connection") is None
    assert client.buffer == b""


def test_a_connection_is_reused_until_the_client_says_close(client: Client) -> None:
    for n in range(3):
        client.send(get(f"/{n}"))
        reply = client.response()
        assert (reply.status, reply.json()["target"]) == (200, f"/{n}")
        assert reply.header("connection") is None
    client.send(get("/last", "Connection: close"))
    reply = client.response()
    assert (reply.status, reply.header("connection")) == (200, "close")
    assert client.closed()


# bodies


def test_content_length_body_reaches_the_handler(client: Client) -> None:
    client.send(b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + get("/after"))
    reply = client.response()
    assert (reply.json()["method"], reply.json()["body"]) == ("POST", "hello")
    assert client.response().json()["target"] == "/after"


def test_chunked_body_reaches_the_handler_whole(client: Client) -> None:
    client.send(
        b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;name=value\r\nWiki\r\n"
        b"5\r\npedia\r\n"
        b"E\r\n in\r\n\r\nchunks.\r\n"
        b"0\r\nX-Trailer: t\r\n\r\n" + get("/after")
    )
    reply = client.response()
    assert reply.status == 200
    assert reply.json()["body"] == "Wikipedia in\r\n\r\nchunks."
    assert ["Host", "h"] in reply.json()["headers"]
    assert "X-Trailer" not in json.dumps(reply.json()["headers"])
    assert client.response().json()["target"] == "/after"  # the trailer section was consumed exactly


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + b"x" * MAX_BODY,
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"1F4\r\n" + b"x" * 500 + b"\r\n") * 2
        + b"0\r\n\r\n",
    ],
    ids=["content-length", "chunked"],
)
def test_a_body_of_exactly_max_body_bytes_is_served(client: Client, request_bytes: bytes) -> None:
    client.send(request_bytes)
    reply = client.response()
    assert reply.status == 200
    assert reply.json()["body"] == "x" * MAX_BODY


# 100-continue


def test_expect_100_continue_is_answered_before_the_body_is_sent(client: Client) -> None:
    client.send(b"PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    interim = client.response()
    assert interim.head == b"HTTP/1.1 100 Continue"
    assert client.buffer == b""
    client.send(b"hello")
    reply = client.response()
    assert (reply.status, reply.json()["body"]) == (200, "hello")


def test_no_100_continue_without_expect_or_without_a_body(client: Client) -> None:
    client.send(b"PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
    assert client.response().status == 200
    client.send(b"PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n")
    reply = client.response()
    assert (reply.status, reply.json()["body"]) == (200, "")
    assert client.buffer == b""


def test_expect_100_continue_with_a_body_over_the_limit_gets_413_instead(client: Client) -> None:
    client.send(b"PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\nExpect: 100-continue\r\n\r\n")
    reply = client.response()
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "PayloadTooLarge"
    assert client.closed()


# refusals


OVERSIZED_HEAD = b"GET / HTTP/1.1\r\nX-Big: "
OVERSIZED_HEAD += b"a" * (MAX_HEAD_BYTES + 1 - len(OVERSIZED_HEAD))  # no blank line: the server reads it all


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
            400,
            "BadRequest",
            id="content-length-and-transfer-encoding",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", 400, "BadRequest", id="bad-length"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            400,
            "BadRequest",
            id="disagreeing-lengths",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
            "NotImplemented",
            id="gzip",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            501,
            "NotImplemented",
            id="gzip-chunked",
        ),
        pytest.param(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "HttpVersionNotSupported", id="http2"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n", 400, "BadRequest", id="obs-fold"
        ),
        pytest.param(b"GET /x\r\nHost: h\r\n\r\n", 400, "BadRequest", id="bad-request-line"),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            400,
            "BadRequest",
            id="bad-chunk-size",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
            400,
            "BadRequest",
            id="chunk-without-crlf",
        ),
        pytest.param(OVERSIZED_HEAD, 431, "RequestHeaderFieldsTooLarge", id="head-over-64k"),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n",
            413,
            "PayloadTooLarge",
            id="content-length-over-max-body",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + (b"1F4\r\n" + b"x" * 500 + b"\r\n") * 2
            + b"1\r\nx\r\n0\r\n\r\n",
            413,
            "PayloadTooLarge",
            id="chunked-over-max-body",
        ),
    ],
)
def test_refusals_answer_the_error_shape_and_close(
    client: Client, request_bytes: bytes, status: int, code: str
) -> None:
    # a request after the refused one is never served; none after the oversized head, which the
    # server reads to its last byte before refusing, so that nothing is left unread at the close
    client.send(request_bytes if request_bytes is OVERSIZED_HEAD else request_bytes + get("/never-served"))
    reply = client.response()
    assert reply.status == status
    assert reply.header("connection") == "close"
    assert reply.header("content-type") == "application/json; charset=utf-8"
    error = reply.json()
    assert list(error) == ["error"]
    assert error["error"]["code"] == code
    assert isinstance(error["error"]["message"], str)
    assert error["error"]["message"]
    assert client.closed()


def test_a_head_of_exactly_64k_is_served(client: Client) -> None:
    head = b"GET /big HTTP/1.1\r\nX-Big: "
    head += b"a" * (MAX_HEAD_BYTES - len(head))
    client.send(head + b"\r\n\r\n")
    reply = client.response()
    assert (reply.status, reply.json()["target"]) == (200, "/big")


def test_a_non_ascii_digit_length_is_answered_400(client: Client) -> None:
    client.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \xb2\r\n\r\nab")
    try:
        reply = client.response()
    finally:  # so that a connection thread's death is reported within this test
        client.close()
        deadline = time.monotonic() + TIMEOUT
        while any(t.name.endswith("(_serve)") for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert (reply.status, reply.json()["error"]["code"]) == (400, "BadRequest")


# HEAD and HTTP/1.0


def test_head_gets_no_body_bytes(client: Client) -> None:
    client.send(b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n" + get("/g"))
    head = client.response(head_only=True)
    assert head.status == 200
    assert int(head.header("content-length") or "0") > 0  # the length the body would have had
    assert client.buffer == b"" or client.buffer.startswith(b"HTTP/1.1 200 OK\r\n")
    after = client.response()
    assert (after.status, after.json()["target"]) == (200, "/g")
    assert client.buffer == b""


def test_http10_without_keep_alive_is_closed_after_the_response(client: Client) -> None:
    client.send(get("/old", version="HTTP/1.0"))
    reply = client.response()
    assert (reply.status, reply.header("connection")) == (200, "close")
    assert client.closed()


def test_http10_with_keep_alive_stays_open(client: Client) -> None:
    client.send(get("/old", "Connection: keep-alive", version="HTTP/1.0"))
    reply = client.response()
    assert (reply.status, reply.header("connection")) == (200, None)
    client.send(get("/again", "Connection: keep-alive", version="HTTP/1.0"))
    assert client.response().json()["target"] == "/again"


# handler failures


def test_a_handler_that_raises_gets_500_and_the_connection_stays_usable(client: Client) -> None:
    client.send(get("/raise") + get("/fine"))
    reply = client.response()
    assert reply.status == 500
    assert reply.json()["error"]["code"] == "InternalError"
    assert reply.header("connection") is None
    after = client.response()
    assert (after.status, after.json()["target"]) == (200, "/fine")


def test_a_header_that_would_split_the_response_gets_500(client: Client) -> None:
    client.send(get("/bad-header") + get("/fine"))
    reply = client.response()
    assert reply.status == 500
    assert reply.json()["error"]["code"] == "InternalError"
    assert b"Injected" not in reply.head
    assert b"X-Bad" not in reply.head
    after = client.response()
    assert (after.status, after.json()["target"]) == (200, "/fine")
    assert b"Injected" not in after.head + client.buffer


# what the handler is given


def test_the_target_is_passed_byte_for_byte(client: Client) -> None:
    target = "/a%2Fb/../c?x=%20&x=2&y=%2e%2E"
    client.send(get(target))
    assert client.response().json()["target"] == target


def test_headers_are_passed_in_order_with_case_and_repeats(client: Client) -> None:
    client.send(get("/h", "X-Rep: 1", "x-rep:  2 ", "Empty:"))
    assert client.response().json()["headers"] == [
        ["Host", "h"],
        ["X-Rep", "1"],
        ["x-rep", "2"],
        ["Empty", ""],
    ]


def test_the_client_address_is_passed(client: Client) -> None:
    client.send(get("/who"))
    reply = client.response()
    assert (reply.json()["method"], reply.json()["client"]) == ("GET", "127.0.0.1")


# shutting down


def blocked_in_accept(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or 0)
    return frame is not None and frame.f_code.co_name == "accept"


def test_close_stops_serve_forever_blocked_in_accept() -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server, thread = start(sock)
    deadline = time.monotonic() + TIMEOUT
    while not blocked_in_accept(thread):
        assert time.monotonic() < deadline, "serve_forever never reached accept()"
        time.sleep(0.01)
    server.close()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the port is no longer served
