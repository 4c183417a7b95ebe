"""HTTP/1.1 message syntax (RFC 9112) shared by both ends: header sections, chunked bodies and a
buffered reader over a socket. Strict where lenience lets two parsers disagree on where a
message ends (request smuggling, response splitting): such a message is refused, never guessed at.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable

MAX_HEAD_BYTES = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")  # no control characters but HTAB
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII only: str.isdigit() also takes "²", which int() refuses
# name ":" OWS value OWS, the value without control characters but HTAB (RFC 9110 5.5)
_FIELD_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*")
# header lines as written: name ": " value CRLF, and nothing else
_FIELD_BLOCK = re.compile(r"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [^\x00-\x08\x0a-\x1f\x7f]*\r\n)*")

Fields = list[tuple[str, str]]


class MessageError(Exception):
    """A message that cannot be framed; the connection it came on cannot be used again."""


class HeadTooLarge(MessageError):
    """A head over MAX_HEAD_BYTES."""


def is_token(text: str) -> bool:
    return _TOKEN.fullmatch(text) is not None


def is_field_value(text: str) -> bool:
    return _FIELD_VALUE.fullmatch(text) is not None


def parse_head(head: bytes) -> tuple[str, Fields]:
    """The start line and the header fields of a head (without its blank line). Names keep
    their case, repeats stay; no obsolete line folding, no space before a colon (RFC 9112 5)."""
    text = head.decode("latin-1")
    start, _, rest = text.partition("\r\n")
    fields: Fields = []
    for line in rest.split("\r\n") if rest else ():
        match = _FIELD_LINE.fullmatch(line)
        if match is None:
            raise MessageError(f"malformed header field {line.partition(':')[0][:40]!r}")
        fields.append((match.group(1), match.group(2)))
    if not is_field_value(start):
        raise MessageError("malformed start line")
    return start, fields


def field_values(fields: Fields, name: str) -> list[str]:
    """The comma-separated members of every field called `name`, trimmed and lower-cased."""
    return [
        member.strip().lower()
        for field, value in fields
        if field.lower() == name
        for member in value.split(",")
        if member.strip()
    ]


def content_length(fields: Fields) -> int | None:
    """None when absent. Repeats must agree (RFC 9112 6.3, item 5)."""
    values = {v.strip() for f, value in fields if f.lower() == "content-length" for v in value.split(",")}
    if not values:
        return None
    if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
        raise MessageError("invalid Content-Length")
    return int(next(iter(values)))


def render_fields(fields: Iterable[tuple[str, str]]) -> str:
    """Header lines, each ending in CRLF; a field that would break the framing raises ValueError.
    Checked once over the whole block: every line must be a field line, and only the lines'
    own CRLFs may appear."""
    pairs = list(fields)
    text = "".join(f"{name}: {value}\r\n" for name, value in pairs)
    if text.count("\n") != len(pairs) or _FIELD_BLOCK.fullmatch(text) is None:
        bad = next((n for n, v in pairs if not is_token(n) or not is_field_value(v)), "?")
        raise ValueError(f"header {bad[:40]!r} cannot be sent")
    return text


class Reader:
    """Buffered reads from a blocking socket. `received` counts the bytes taken from the
    socket, so a caller can tell a connection that died before answering from one that died
    half-way."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self.received = 0

    def _fill(self, what: str) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"the connection closed {what}")
        self.received += len(chunk)
        self._buffer += chunk

    def head(self) -> bytes | None:
        """Bytes up to the blank line ending a head, without it; None when the connection
        closes cleanly before a message starts. Empty lines before a message are skipped
        (RFC 9112 2.2)."""
        while True:
            while self._buffer.startswith(b"\r\n"):
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                if end > MAX_HEAD_BYTES:
                    raise HeadTooLarge("the head is too large")
                head = bytes(self._buffer[:end])
                del self._buffer[: end + 4]
                return head
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise HeadTooLarge("the head is too large")
            if not self._buffer:
                chunk = self._sock.recv(65536)
                if not chunk:
                    return None
                self.received += len(chunk)
                self._buffer += chunk
            else:
                self._fill("inside a head")

    def exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill("inside a body")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise MessageError("a chunk line is too long")
            self._fill("inside a chunked body")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def rest(self, limit: int) -> bytes:
        """Everything up to the peer's close (a body delimited by the end of the connection)."""
        while len(self._buffer) <= limit:
            chunk = self._sock.recv(65536)
            if not chunk:
                data = bytes(self._buffer)
                self._buffer.clear()
                return data
            self.received += len(chunk)
            self._buffer += chunk
        raise MessageError(f"the body is over the limit of {limit} bytes")

    def chunked(self, limit: int) -> bytes:
        """A chunked body (RFC 9112 7.1), decoded; extensions and trailer fields are dropped."""
        body = bytearray()
        while True:
            size_field = self.line().split(b";", 1)[0].strip(b" \t")
            if not _CHUNK_SIZE.fullmatch(size_field):
                raise MessageError("malformed chunk size")
            size = int(size_field, 16)
            if size == 0:
                while self.line():  # the trailer section, up to its blank line
                    pass
                return bytes(body)
            if len(body) + size > limit:
                raise MessageError(f"the body is over the limit of {limit} bytes")
            body += self.exact(size)
            if self.exact(2) != b"\r\n":
                raise MessageError("malformed chunk")
