"""HTTP/1.1 message syntax shared by the local host and the gateway (shared/http1.py): what is
parsed, what is refused, and the socket reader's framing, over a real socket pair."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from shared.http1 import (
    HeadTooLarge,
    MessageError,
    Reader,
    content_length,
    field_values,
    parse_head,
    render_fields,
)


def test_head_keeps_names_order_and_repeats_and_trims_values() -> None:
    start, fields = parse_head(b"HTTP/1.1 200 OK\r\nX-A:  1 \r\nx-a:2\r\nEmpty:\r\nTab:\ta\tb\t")
    assert start == "HTTP/1.1 200 OK"
    assert fields == [("X-A", "1"), ("x-a", "2"), ("Empty", ""), ("Tab", "a\tb")]
    assert parse_head(b"GET / HTTP/1.1") == ("GET / HTTP/1.1", [])
    assert parse_head(b"HTTP/1.1 200 OK\r\nX-Latin: caf\xe9")[1] == [("X-Latin", "caf\u00e9")]


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1\r\nX-A: 1\r\n folded",  # obsolete line folding
        b"GET / HTTP/1.1\r\nX-A : 1",  # space before the colon
        b"GET / HTTP/1.1\r\nno colon",
        b"GET / HTTP/1.1\r\nX-A: a\x01b",
        b"GET / HTTP/1.1\r\nX-A: a\nInjected: 1",  # a bare LF inside a field
        b"GET / HTTP/1.1\r\nX-A: a\rb",
        b"GET / HTTP/1.1\r\n: no name",
        b"GET /\x00 HTTP/1.1",
    ],
)
def test_malformed_heads_are_refused(head: bytes) -> None:
    with pytest.raises(MessageError):
        parse_head(head)


def test_content_length() -> None:
    assert content_length([]) is None
    assert content_length([("Content-Length", "5")]) == 5
    assert content_length([("content-length", "5, 5"), ("Content-Length", "5")]) == 5
    for bad in (["2", "3"], ["-1"], ["x"], ["1.0"], [""]):
        with pytest.raises(MessageError):
            content_length([("Content-Length", value) for value in bad])


def test_field_values_split_members_and_lower_them() -> None:
    fields = [("Connection", "Keep-Alive, X-Hop"), ("connection", " close "), ("Other", "close")]
    assert field_values(fields, "connection") == ["keep-alive", "x-hop", "close"]


def test_fields_that_would_break_the_framing_are_not_rendered() -> None:
    assert render_fields([("X-A", "1"), ("X-B", "")]) == "X-A: 1\r\nX-B: \r\n"
    for name, value in (("X-A", "a\r\nInjected: 1"), ("X-A", "a\nb"), ("Bad Name", "1"), ("", "1")):
        with pytest.raises(ValueError, match="cannot be sent"):
            render_fields([(name, value)])


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, Reader]]:
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    yield theirs, Reader(ours)
    ours.close()
    theirs.close()


def test_reader_frames_heads_bodies_and_chunks(pair: tuple[socket.socket, Reader]) -> None:
    peer, reader = pair
    sent = b"\r\nA\r\nB: 1\r\n\r\nbody5" + b"3;ext=x\r\nabc\r\n1\r\nd\r\n0\r\nTrailer: t\r\n\r\nrest"
    peer.sendall(sent)
    assert reader.head() == b"A\r\nB: 1"  # a leading empty line is skipped (RFC 9112 2.2)
    assert reader.exact(5) == b"body5"
    assert reader.chunked(limit=100) == b"abcd"
    peer.shutdown(socket.SHUT_WR)
    assert reader.rest(limit=100) == b"rest"
    assert reader.received == len(sent)


def test_reader_head_none_only_on_a_clean_close(pair: tuple[socket.socket, Reader]) -> None:
    peer, reader = pair
    peer.shutdown(socket.SHUT_WR)
    assert reader.head() is None


def test_reader_refuses_a_cut_head_a_large_head_and_bad_chunks() -> None:
    def reader_of(data: bytes) -> Reader:
        ours, theirs = socket.socketpair()
        theirs.sendall(data)
        theirs.close()
        return Reader(ours)

    with pytest.raises(ConnectionError):
        reader_of(b"GET / HTTP/1.1\r\nX-A").head()
    with pytest.raises(HeadTooLarge):
        reader_of(b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000).head()
    with pytest.raises(ConnectionError):
        reader_of(b"abc").exact(5)
    for chunks in (b"zz\r\nab\r\n0\r\n\r\n", b"2\r\nabX\r\n0\r\n\r\n", b"-1\r\n", b"\r\n"):
        with pytest.raises(MessageError):
            reader_of(chunks).chunked(limit=100)
    with pytest.raises(MessageError, match="over the limit"):
        reader_of(b"5\r\nabcde\r\n0\r\n\r\n").chunked(limit=4)
    with pytest.raises(MessageError, match="over the limit"):
        reader_of(b"x" * 200).rest(limit=100)
