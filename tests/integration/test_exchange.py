"""The gateway's HTTP/1.1 client against scripted mTLS backends: the request it writes, the
response framings of RFC 9112 6.3, interim answers, what it refuses, which connections it
keeps, and the one retry of an idempotent request on a kept-alive connection found closed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from urllib3.connectionpool import HTTPConnectionPool

from shared.errors import InvalidHeader
from shared.gateway.exchange import Answer as Received
from shared.gateway.exchange import encode_request, exchange
from shared.gateway.forwarding import GatewayRequest
from shared.gateway.sessions import ContextAdapter
from shared.gateway.tls import client_context
from shared.http1 import MessageError
from shared.models import ApiSpec, TlsSettings
from shared.services import Services
from tests.support.pki import CA
from tests.support.scripted_backend import Answer, ScriptedBackend
from tests.support.tls_backends import closed_port

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture(scope="module")
def root() -> CA:
    return CA.new("exchange root", "ec")


@pytest.fixture(scope="module")
def session(root: CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[requests.Session]:
    trust = tmp_path_factory.mktemp("trust") / "root.pem"
    root.write_pem(trust)
    client = root.issue_client("exchange client")
    ctx = client_context(client.key_pem + client.chain_pem, TlsSettings(), ca_file=str(trust))
    with requests.Session() as built:
        built.mount("https://", ContextAdapter(ctx, pool_maxsize=4))
        yield built


def backend(root: CA, *answers: Answer) -> ScriptedBackend:
    return ScriptedBackend(root.issue_server(), root.cert_pem, list(answers))


def pool_for(session: requests.Session, url: str) -> HTTPConnectionPool:
    prepared = requests.PreparedRequest()
    prepared.url = url
    pool: Any = session.get_adapter(url).get_connection_with_tls_context(prepared, verify=True)  # type: ignore[attr-defined]
    return pool  # type: ignore[no-any-return]


def call(
    session: requests.Session, server: ScriptedBackend, method: str = "GET", body: bytes = b""
) -> Received:
    request = encode_request(method, "/p?q=1", f"localhost:{server.port}", [("X-A", "1")], body)
    return exchange(pool_for(session, server.url), method, request, timeout=5)


def test_the_request_is_written_as_given_and_nothing_added(root: CA, session: requests.Session) -> None:
    with backend(root, Answer(OK), Answer(OK)) as server:
        call(session, server)
        call(session, server, "POST")
        fields = f"Host: localhost:{server.port}\r\nX-A: 1\r\n"
        assert server.requests == [
            f"GET /p?q=1 HTTP/1.1\r\n{fields}\r\n".encode(),
            f"POST /p?q=1 HTTP/1.1\r\n{fields}Content-Length: 0\r\n\r\n".encode(),
        ]
        assert server.connections == 1  # kept alive


def test_unsendable_headers_are_refused_before_anything_is_sent() -> None:
    for fields in ([("X-A", "a\r\nInjected: 1")], [("X-A", "a\x01")], [("Bad Name", "1")]):
        with pytest.raises(ValueError, match="cannot be sent"):
            encode_request("GET", "/", "h", fields, b"")
    with pytest.raises(UnicodeEncodeError):
        encode_request("GET", "/", "h", [("X-A", "\u2603")], b"")


def test_forwarder_answers_invalid_header(services: Services) -> None:
    services.apis.put("bad", ApiSpec("", "bad", f"http://127.0.0.1:{closed_port()}", None))
    request = GatewayRequest("GET", "https://h/gateway/bad", [("X-A", "a\x01")], b"")
    with pytest.raises(InvalidHeader):
        services.forwarder.forward(request)  # refused before connecting: the port is closed


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\nab\r\n3\r\ncde\r\n0\r\nT: x\r\n\r\n"
)


@pytest.mark.parametrize(
    ("raw", "status", "body"),
    [
        (CHUNKED, 200, b"abcde"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz", 200, b"xyz"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 304, b""),
        (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n" + OK, 200, b"ok"),
    ],
    ids=["chunked", "length", "204", "304", "interim"],
)
def test_framings_that_keep_the_connection(
    root: CA, session: requests.Session, raw: bytes, status: int, body: bytes
) -> None:
    with backend(root, Answer(raw), Answer(OK)) as server:
        answer = call(session, server)
        assert (answer.status, answer.body) == (status, body)
        assert call(session, server).body == b"ok"  # the next answer starts where this one ended
        assert server.connections == 1


def test_head_reads_no_body(root: CA, session: requests.Session) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    with backend(root, Answer(head), Answer(OK)) as server:
        answer = call(session, server, "HEAD")
        assert (answer.status, answer.body, ("Content-Length", "5") in answer.headers) == (200, b"", True)
        assert call(session, server).body == b"ok" and server.connections == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\n\r\nuntil close",  # delimited by the end of the connection
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ],
    ids=["close-delimited", "connection-close", "http1.0", "length-and-chunked"],
)
def test_framings_that_end_the_connection(root: CA, session: requests.Session, raw: bytes) -> None:
    with backend(root, Answer(raw, close=raw.endswith(b"close")), Answer(OK)) as server:
        assert call(session, server).body in (b"ok", b"until close")
        assert call(session, server).body == b"ok"
        assert server.connections == 2  # not reused: a new connection for the second call


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=[
        "obs-fold",
        "lengths-differ",
        "negative-length",
        "gzip-coding",
        "101",
        "status",
        "version",
        "control",
        "chunk",
    ],
)
def test_answers_that_cannot_be_framed_are_refused(root: CA, session: requests.Session, raw: bytes) -> None:
    with backend(root, Answer(raw), Answer(OK)) as server:
        with pytest.raises(MessageError):
            call(session, server)
        assert call(session, server).body == b"ok"
        assert server.connections == 2  # the broken connection was not put back for reuse


def test_short_body_is_an_error_not_a_short_answer(root: CA, session: requests.Session) -> None:
    short = Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", close=True)
    with backend(root, short) as server, pytest.raises(ConnectionError):
        call(session, server)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_idempotent_request_is_sent_again_when_a_kept_alive_connection_dies(
    root: CA, session: requests.Session, method: str
) -> None:
    with backend(root, Answer(OK), Answer(b"", close=True), Answer(OK)) as server:
        assert call(session, server).body == b"ok"
        assert call(session, server, method).body == b"ok"  # closed unanswered, then sent again
        assert server.connections == 2 and len(server.requests) == 3


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_other_requests_are_not_sent_twice(root: CA, session: requests.Session, method: str) -> None:
    with backend(root, Answer(OK), Answer(b"", close=True), Answer(OK)) as server:
        assert call(session, server).body == b"ok"
        with pytest.raises(ConnectionError):
            call(session, server, method, b"{}")
        assert len(server.requests) == 2  # the backend saw it once


def test_a_new_connection_that_dies_is_not_retried(root: CA, session: requests.Session) -> None:
    with backend(root, Answer(b"", close=True), Answer(OK)) as server:
        with pytest.raises(ConnectionError):
            call(session, server)
        assert len(server.requests) == 1


def test_a_connection_that_dies_mid_answer_is_not_retried(root: CA, session: requests.Session) -> None:
    with backend(
        root, Answer(OK), Answer(b"HTTP/1.1 200 OK\r\nContent-Le", close=True), Answer(OK)
    ) as server:
        call(session, server)
        with pytest.raises(ConnectionError):
            call(session, server)
        assert len(server.requests) == 2
