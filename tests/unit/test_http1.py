"""HTTP/1.1 message syntax (shared/http1.py) and the local host's request framing and response
writing (devhost/http11.py): what is accepted, what is refused, and the socket reader over a real
socket pair."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from devhost.http11 import BadRequest, parse_request_head, render_response
from shared.http1 import (
    MAX_HEAD_BYTES,
    Fields,
    HeadTooLarge,
    MessageError,
    Reader,
    content_length,
    parse_head,
    render_fields,
)

IMF_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")


# parse_head


def test_parse_head_keeps_name_case_and_repeats_and_trims_values() -> None:
    start, fields = parse_head(
        b"GET /p HTTP/1.1\r\nHost: h\r\nX-Rep:  one \t\r\nx-rep:two\r\nEmpty:\r\nInner:\ta  b\t"
    )
    assert start == "GET /p HTTP/1.1"
    assert fields == [("Host", "h"), ("X-Rep", "one"), ("x-rep", "two"), ("Empty", ""), ("Inner", "a  b")]


def test_parse_head_without_fields() -> None:
    assert parse_head(b"GET / HTTP/1.1") == ("GET / HTTP/1.1", [])


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"GET / HTTP/1.1\r\nX-A: 1\r\n folded", id="obs-fold-space"),
        pytest.param(b"GET / HTTP/1.1\r\nX-A: 1\r\n\tfolded", id="obs-fold-tab"),
        pytest.param(b"GET / HTTP/1.1\r\nX-A : 1", id="space-before-colon"),
        pytest.param(b"GET / HTTP/1.1\r\nX-A\t: 1", id="tab-before-colon"),
        pytest.param(b"GET / HTTP/1.1\r\nno colon here", id="no-colon"),
        pytest.param(b"GET / HTTP/1.1\r\n: no name", id="empty-name"),
        pytest.param(b"GET / HTTP/1.1\r\nX-A: a\x01b", id="control-character"),
        pytest.param(b"GET / HTTP/1.1\r\nX-A: a\nInjected: 1", id="bare-lf"),
        pytest.param(b"GET / HTTP/1.1\r\nX-A: a\rb", id="bare-cr"),
        pytest.param(b"GET / HTTP/1.1\r\nX-A: a\x7fb", id="delete"),
        pytest.param(b"GET / HTTP/1.1\r\nX@A: 1", id="non-token-name"),
        pytest.param(b"GET /\x00 HTTP/1.1\r\nHost: h", id="control-in-start-line"),
    ],
)
def test_parse_head_refuses_malformed_fields(head: bytes) -> None:
    with pytest.raises(MessageError):
        parse_head(head)


# content_length


def test_content_length_absent_is_none() -> None:
    assert content_length([("Host", "h")]) is None


@pytest.mark.parametrize(
    "fields",
    [
        [("Content-Length", "5")],
        [("content-length", " 5 ")],
        [("Content-Length", "5, 5")],
        [("Content-Length", "5"), ("CONTENT-LENGTH", "5")],
        [("Content-Length", "05")],
    ],
)
def test_content_length_agreeing_values(fields: Fields) -> None:
    assert content_length(fields) == 5


@pytest.mark.parametrize(
    "fields",
    [
        [("Content-Length", "5, 6")],
        [("Content-Length", "5"), ("Content-Length", "6")],
        [("Content-Length", "-5")],
        [("Content-Length", "+5")],
        [("Content-Length", "five")],
        [("Content-Length", "5.0")],
        [("Content-Length", "0x5")],
        [("Content-Length", "")],
        [("Content-Length", "5,")],
    ],
)
def test_content_length_refusals(fields: Fields) -> None:
    with pytest.raises(MessageError):
        content_length(fields)


@pytest.mark.parametrize("value", ["\xb2", "1\xb9"])
def test_content_length_refuses_non_ascii_digits(value: str) -> None:
    with pytest.raises(MessageError):
        content_length([("Content-Length", value)])


# render_fields


def test_render_fields_writes_one_line_per_field() -> None:
    fields = [("X-A", "1"), ("x-a", "b c"), ("Tab", "a\tb"), ("Latin", "caf\xe9"), ("Empty", "")]
    assert render_fields(fields) == "X-A: 1\r\nx-a: b c\r\nTab: a\tb\r\nLatin: caf\xe9\r\nEmpty: \r\n"
    assert render_fields([]) == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-A", "a\r\nInjected: 1"),
        ("X-A", "a\nInjected: 1"),
        ("X-A", "a\rb"),
        ("X-A", "a\x00b"),
        ("X A", "1"),
        ("X:A", "1"),
        ("", "1"),
        ("X-A\r\nInjected", "1"),
    ],
)
def test_render_fields_refuses_what_breaks_framing(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        render_fields([("Ok", "1"), (name, value)])


# Reader over a real socket pair


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(writer, reader side); both time out so that no test can hang."""
    left, right = socket.socketpair()
    left.settimeout(5)
    right.settimeout(5)
    yield left, right
    left.close()
    right.close()


def test_head_is_none_on_a_clean_close_before_any_byte(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.shutdown(socket.SHUT_WR)
    reader = Reader(side)
    assert reader.head() is None
    assert reader.received == 0


def test_head_refuses_a_close_inside_a_head(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n")
    writer.shutdown(socket.SHUT_WR)
    with pytest.raises(ConnectionError):
        Reader(side).head()


def test_head_skips_leading_empty_lines(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.sendall(b"\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
    reader = Reader(side)
    assert reader.head() == b"GET / HTTP/1.1\r\nHost: h"
    assert reader.head() == b"GET /2 HTTP/1.1"


def test_head_of_exactly_the_limit_is_read(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    start = b"GET / HTTP/1.1\r\nX-Big: "
    head = start + b"a" * (MAX_HEAD_BYTES - len(start))
    assert len(head) == MAX_HEAD_BYTES
    writer.sendall(head + b"\r\n\r\n")
    assert Reader(side).head() == head


def test_head_over_the_limit_with_its_end_is_refused(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    start = b"GET / HTTP/1.1\r\nX-Big: "
    writer.sendall(start + b"a" * (MAX_HEAD_BYTES + 1 - len(start)) + b"\r\n\r\n")
    with pytest.raises(HeadTooLarge):
        Reader(side).head()


def test_head_over_the_limit_without_its_end_is_refused(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * MAX_HEAD_BYTES)  # no blank line ever
    with pytest.raises(HeadTooLarge):
        Reader(side).head()


def test_exact_reads_across_sends(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    reader = Reader(side)
    writer.sendall(b"abc")
    assert reader.exact(2) == b"ab"
    writer.sendall(b"defg")
    assert reader.exact(4) == b"cdef"
    assert reader.exact(0) == b""
    assert reader.exact(1) == b"g"


def test_exact_refuses_a_close_before_the_size(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.sendall(b"abc")
    writer.shutdown(socket.SHUT_WR)
    with pytest.raises(ConnectionError):
        Reader(side).exact(4)


def test_chunked_decodes_and_drops_extensions_and_trailers(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.sendall(
        b"3;name=value\r\nabc\r\n"
        b'A ; quoted="a;b"\r\n0123456789\r\n'
        b"1\r\n\r\r\n"
        b"0;last\r\nTrailer-One: 1\r\nTrailer-Two: 2\r\n\r\n"
        b"NEXT"
    )
    reader = Reader(side)
    assert reader.chunked(100) == b"abc0123456789\r"
    assert reader.exact(4) == b"NEXT"  # the trailer section was consumed, and nothing more


def test_chunked_without_trailers(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.sendall(b"0\r\n\r\nX")
    reader = Reader(side)
    assert reader.chunked(0) == b""
    assert reader.exact(1) == b"X"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"g\r\nabc\r\n0\r\n\r\n", id="not-hex"),
        pytest.param(b"\r\nabc\r\n0\r\n\r\n", id="empty-size"),
        pytest.param(b"0x3\r\nabc\r\n0\r\n\r\n", id="0x-prefix"),
        pytest.param(b"-3\r\nabc\r\n0\r\n\r\n", id="negative"),
        pytest.param(b"+3\r\nabc\r\n0\r\n\r\n", id="plus"),
        pytest.param(b"1" * 17 + b"\r\n", id="seventeen-digits"),
        pytest.param(b"3\r\nabcX\r\n0\r\n\r\n", id="chunk-not-followed-by-crlf"),
        pytest.param(b"3\r\nabc\n0\r\n\r\n", id="chunk-followed-by-bare-lf"),
        pytest.param(b"3\r\nab\r\n\r\n0\r\n\r\n", id="chunk-shorter-than-its-size"),
    ],
)
def test_chunked_refuses_malformed_bodies(pair: tuple[socket.socket, socket.socket], body: bytes) -> None:
    writer, side = pair
    writer.sendall(body)
    with pytest.raises(MessageError):
        Reader(side).chunked(100)


def test_chunked_body_of_exactly_the_limit_is_read(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.sendall(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert Reader(side).chunked(5) == b"abcde"


@pytest.mark.parametrize(
    "body",
    [b"6\r\nabcdef\r\n0\r\n\r\n", b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"],
    ids=["one-chunk", "across-chunks"],
)
def test_chunked_body_over_the_limit_is_refused(
    pair: tuple[socket.socket, socket.socket], body: bytes
) -> None:
    writer, side = pair
    writer.sendall(body)
    with pytest.raises(MessageError, match="over the limit of 5 bytes"):
        Reader(side).chunked(5)


def test_rest_reads_up_to_the_close(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.sendall(b"abc")
    writer.sendall(b"de")
    writer.shutdown(socket.SHUT_WR)
    assert Reader(side).rest(5) == b"abcde"


def test_rest_refuses_more_than_the_limit(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    writer.sendall(b"abcdef")
    writer.shutdown(socket.SHUT_WR)
    with pytest.raises(MessageError, match="over the limit of 5 bytes"):
        Reader(side).rest(5)


def test_received_counts_the_bytes_taken_from_the_socket(pair: tuple[socket.socket, socket.socket]) -> None:
    writer, side = pair
    reader = Reader(side)
    assert reader.received == 0
    first = b"\r\nPOST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n"
    writer.sendall(first)
    assert reader.head() == b"POST / HTTP/1.1\r\nContent-Length: 4"
    assert reader.received == len(first)
    writer.sendall(b"body")
    assert reader.exact(4) == b"body"
    assert reader.received == len(first) + 4


# parse_request_head


def test_request_head_of_a_plain_http11_request() -> None:
    head = parse_request_head(b"GET /a%2Fb?x=%20 HTTP/1.1\r\nHost: h\r\nX-A: 1")
    assert head.method == "GET"
    assert head.target == "/a%2Fb?x=%20"
    assert head.headers == [("Host", "h"), ("X-A", "1")]
    assert head.content_length == 0
    assert head.keep_alive is True
    assert head.expects_continue is False


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"GET / HTTP/1.1\r\nHost: h", True),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close", False),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close", False),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: x-hop\r\nconnection: CLOSE", False),
        (b"GET / HTTP/1.0", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive", True),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive", True),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive, close", False),
    ],
)
def test_keep_alive(head: bytes, keep_alive: bool) -> None:
    assert parse_request_head(head).keep_alive is keep_alive


@pytest.mark.parametrize(
    ("head", "expects"),
    [
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-Continue", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 3", False),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: something-else", False),
        (b"POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue", False),
    ],
)
def test_expects_continue(head: bytes, expects: bool) -> None:
    assert parse_request_head(head).expects_continue is expects


def test_lengths() -> None:
    assert parse_request_head(b"POST / HTTP/1.1\r\nContent-Length: 12").content_length == 12
    assert parse_request_head(b"POST / HTTP/1.1\r\nContent-Length: 7, 7").content_length == 7
    assert parse_request_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked").content_length is None
    assert parse_request_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked").content_length is None


@pytest.mark.parametrize(
    ("head", "status", "code"),
    [
        pytest.param(
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked",
            400,
            "BadRequest",
            id="content-length-and-transfer-encoding",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3",
            400,
            "BadRequest",
            id="transfer-encoding-and-content-length",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked",
            501,
            "NotImplemented",
            id="gzip-chunked",
        ),
        pytest.param(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip", 501, "NotImplemented", id="gzip"),
        pytest.param(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
            501,
            "NotImplemented",
            id="chunked-twice",
        ),
        pytest.param(b"GET / HTTP/2.0", 505, "HttpVersionNotSupported", id="http2"),
        pytest.param(b"GET / HTTP/1.2", 505, "HttpVersionNotSupported", id="http12"),
        pytest.param(b"GET / http/1.1", 505, "HttpVersionNotSupported", id="lower-case-version"),
        pytest.param(b"GET /", 400, "BadRequest", id="no-version"),
        pytest.param(b"GET  / HTTP/1.1", 400, "BadRequest", id="double-space"),
        pytest.param(b"GET / HTTP/1.1 extra", 400, "BadRequest", id="four-parts"),
        pytest.param(b"G(T / HTTP/1.1", 400, "BadRequest", id="non-token-method"),
        pytest.param(b"GET\t/ HTTP/1.1", 400, "BadRequest", id="tab-separator"),
        pytest.param(b"", 400, "BadRequest", id="empty"),
        pytest.param(
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4",
            400,
            "BadRequest",
            id="disagreeing-lengths",
        ),
        pytest.param(b"POST / HTTP/1.1\r\nContent-Length: 3, 4", 400, "BadRequest", id="disagreeing-list"),
        pytest.param(b"POST / HTTP/1.1\r\nContent-Length: -1", 400, "BadRequest", id="negative-length"),
        pytest.param(b"GET / HTTP/1.1\r\nX-A: 1\r\n folded", 400, "BadRequest", id="obs-fold"),
    ],
)
def test_request_head_refusals(head: bytes, status: int, code: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_request_head(head)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert refused.value.message


def test_http10_with_transfer_encoding_does_not_keep_alive() -> None:
    head = parse_request_head(b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked")
    assert head.keep_alive is False


# render_response


def split_response(data: bytes) -> tuple[str, Fields, bytes]:
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, data
    start, fields = parse_head(head)
    return start, fields, body


def test_render_response_writes_status_headers_and_body() -> None:
    data = render_response(201, [("X-A", "1"), ("x-a", "2")], b"hello", head_only=False, keep_alive=True)
    start, fields, body = split_response(data)
    assert start == "HTTP/1.1 201 Created"
    assert [n for n, _ in fields] == ["X-A", "x-a", "Date", "Content-Length"]
    assert fields[:2] == [("X-A", "1"), ("x-a", "2")]
    assert IMF_FIXDATE.fullmatch(fields[2][1]), fields[2][1]
    assert fields[3] == ("Content-Length", "5")
    assert body == b"hello"


def test_render_response_unknown_status_has_a_reason() -> None:
    data = render_response(599, [], b"", head_only=False, keep_alive=True)
    assert data.startswith(b"HTTP/1.1 599 Unknown\r\n")


def test_render_response_for_head_leaves_the_body_out_but_keeps_its_length() -> None:
    data = render_response(200, [], b"hello", head_only=True, keep_alive=True)
    assert data.endswith(b"\r\nContent-Length: 5\r\n\r\n")
    start, fields, body = split_response(data)
    assert start == "HTTP/1.1 200 OK"
    assert fields[-1] == ("Content-Length", "5")
    assert body == b""


def test_render_response_replaces_the_handlers_framing_headers() -> None:
    own = [
        ("Content-Length", "99"),
        ("transfer-encoding", "chunked"),
        ("CONNECTION", "keep-alive"),
        ("date", "yesterday"),
        ("X-Kept", "1"),
    ]
    _, fields, body = split_response(render_response(200, own, b"abc", head_only=False, keep_alive=True))
    assert [n for n, _ in fields] == ["X-Kept", "Date", "Content-Length"]
    assert dict(fields)["Content-Length"] == "3"
    assert dict(fields)["Date"] != "yesterday"
    assert body == b"abc"


def test_render_response_says_close_when_not_keeping_alive() -> None:
    _, fields, _ = split_response(render_response(200, [], b"", head_only=False, keep_alive=False))
    assert fields[-1] == ("Connection", "close")
    _, fields, _ = split_response(render_response(200, [], b"", head_only=False, keep_alive=True))
    assert "connection" not in [n.lower() for n, _ in fields]


@pytest.mark.parametrize("value", ["a\r\nInjected: 1", "a\nInjected: 1", "a\rb"])
def test_render_response_refuses_a_header_that_breaks_framing(value: str) -> None:
    with pytest.raises(ValueError):
        render_response(200, [("X-A", value)], b"", head_only=False, keep_alive=True)


def test_render_response_204_has_no_content_length() -> None:
    _, fields, body = split_response(render_response(204, [], b"", head_only=False, keep_alive=True))
    assert "content-length" not in [n.lower() for n, _ in fields]
    assert body == b""
