"""The server side of HTTP/1.1 for the local host: how a request is framed (RFC 9112 6) and how
a response is written. Message syntax itself is shared.http1's."""

from __future__ import annotations

import re
from email.utils import formatdate
from http import HTTPStatus
from time import time
from typing import NamedTuple

from shared.http1 import (
    Fields,
    MessageError,
    content_length,
    field_values,
    is_token,
    parse_head,
    render_fields,
)

_VERSION = re.compile(r"HTTP/1\.[01]")


class BadRequest(Exception):
    """Answer `status` with the contract's error shape, then close the connection."""

    def __init__(self, status: int, message: str, code: str = "BadRequest") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class RequestHead(NamedTuple):
    method: str
    target: str  # the request-target as sent: percent-encoding intact
    headers: Fields  # in order, names as sent, repeats kept
    content_length: int | None  # None: chunked
    keep_alive: bool
    expects_continue: bool


def parse_request_head(head: bytes) -> RequestHead:
    """Refuses what a lenient parser would guess at (RFC 9112 6.1, 6.3): a request with both
    Content-Length and Transfer-Encoding, a coding other than chunked, disagreeing lengths."""
    try:
        start, headers = parse_head(head)
        length = content_length(headers)
    except MessageError as exc:
        raise BadRequest(400, f"Malformed request: {exc}.") from exc
    parts = start.split(" ")
    if len(parts) != 3 or not is_token(parts[0]) or not parts[1]:
        raise BadRequest(400, "Malformed request line.")
    method, target, version = parts
    if not _VERSION.fullmatch(version):
        raise BadRequest(505, "Only HTTP/1.0 and HTTP/1.1 are served.", "HttpVersionNotSupported")
    codings = field_values(headers, "transfer-encoding")
    if codings and length is not None:
        raise BadRequest(400, "Content-Length and Transfer-Encoding together are refused.")
    if codings and codings != ["chunked"]:
        raise BadRequest(501, "Only the chunked transfer coding is understood.", "NotImplemented")
    connection = field_values(headers, "connection")
    keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    if codings and version == "HTTP/1.0":
        keep_alive = False  # RFC 9112 6.1: faulty framing, read it and close
    expects_continue = version == "HTTP/1.1" and field_values(headers, "expect") == ["100-continue"]
    return RequestHead(
        method, target, headers, None if codings else (length or 0), keep_alive, expects_continue
    )


def render_response(status: int, headers: Fields, body: bytes, *, head_only: bool, keep_alive: bool) -> bytes:
    """Status line, the handler's headers (less any framing of their own), Date, Content-Length
    and Connection, then the body unless the request was HEAD."""
    kept = [
        (n, v)
        for n, v in headers
        if n.lower() not in ("content-length", "transfer-encoding", "connection", "date")
    ]
    kept.append(("Date", _http_date()))
    if status == 204 or status < 200:
        body = b""  # RFC 9110 8.6, 15.3.5: no Content-Length and no content
    else:
        kept.append(("Content-Length", str(len(body))))
    if not keep_alive:
        kept.append(("Connection", "close"))
    head = f"HTTP/1.1 {status} {reason(status)}\r\n{render_fields(kept)}\r\n".encode("latin-1")
    return head if head_only else head + body


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """IMF-fixdate, made once a second (RFC 9110 6.6.1: an origin server with a clock sends Date)."""
    global _date_cache
    now = int(time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]
