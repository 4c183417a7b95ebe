"""One HTTP/1.1 exchange with a backend, on a connection of the session's urllib3 pool.

The pool (and the adapter mounted on the requests session) owns the connections: their TLS
context, handshake, host-name check and keep-alive. What goes over an open connection is
written and framed here (RFC 9112): the request in one send, the response read with one
buffer. http.client's writer and e-mail header parser, with urllib3's response wrapper, cost
about 390 us of CPU per call on the benchmark machine; this costs about 90 us (bench/).

Raises OSError (ssl.SSLError, TimeoutError, ConnectionError) and MessageError, unmapped:
shared.gateway.forwarding turns them into certgate's errors.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from urllib3.connectionpool import HTTPConnectionPool

from shared.http1 import Fields, MessageError, Reader, content_length, field_values, parse_head, render_fields

log = logging.getLogger(__name__)

# RFC 9110 9.2.2: requests a client may send again when the connection fails before any answer.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
MAX_RESPONSE_BYTES = 1 << 30


class Answer(NamedTuple):
    status: int
    headers: Fields
    body: bytes


def encode_request(method: str, target: str, authority: str, headers: Fields, body: bytes) -> bytes:
    """Request line, Host, the given fields and the body's length. Nothing else is added: no
    User-Agent, Accept-Encoding or Connection of our own. ValueError: a field cannot be sent."""
    fields = [("Host", authority), *headers]
    if body or method in ("POST", "PUT", "PATCH"):
        fields.append(("Content-Length", str(len(body))))
    return f"{method} {target} HTTP/1.1\r\n{render_fields(fields)}\r\n".encode("latin-1") + body


def read_response(reader: Reader, method: str) -> tuple[Answer, bool]:
    """The final response (interim 1xx ones are read and dropped) and whether the connection
    can carry another request. Framing per RFC 9112 6.3."""
    while True:
        head = reader.head()
        if head is None:
            raise ConnectionError("the backend closed the connection without answering")
        start, fields = parse_head(head)
        version, status = _status_line(start)
        if status == 101:
            raise MessageError("the backend switched protocols, which was not asked for")
        if status >= 200:
            break
    connection = field_values(fields, "connection")
    reusable = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    codings = field_values(fields, "transfer-encoding")
    if method == "HEAD" or status in (204, 304):
        return Answer(status, fields, b""), reusable
    if codings:
        if codings != ["chunked"]:
            raise MessageError(f"unsupported transfer coding {', '.join(codings)!r}")
        if content_length(fields) is not None:
            reusable = False  # both framings: a smuggling attempt or a broken backend (6.3, item 3)
        return Answer(status, fields, reader.chunked(MAX_RESPONSE_BYTES)), reusable
    length = content_length(fields)
    if length is None:
        return Answer(status, fields, reader.rest(MAX_RESPONSE_BYTES)), False
    if length > MAX_RESPONSE_BYTES:
        raise MessageError(f"the body is over the limit of {MAX_RESPONSE_BYTES} bytes")
    return Answer(status, fields, reader.exact(length)), reusable


def _status_line(start: str) -> tuple[str, int]:
    version, _, rest = start.partition(" ")
    code = rest[:3]
    if (
        version not in ("HTTP/1.1", "HTTP/1.0")
        or len(code) != 3
        or not code.isdigit()
        or rest[3:4] not in ("", " ")
    ):
        raise MessageError(f"malformed status line {start[:60]!r}")
    return version, int(code)


def exchange(pool: HTTPConnectionPool, method: str, request: bytes, *, timeout: float) -> Answer:
    """Send `request` on a pooled connection (a new one when none is idle) and read the answer.

    A kept-alive connection can be closed by the backend just as it is reused; when that
    happens before any byte of an answer, an idempotent request is sent once more on a new
    connection, as RFC 9110 9.2.2 allows. Anything else is raised. `_get_conn`, `_new_conn` and
    `_put_conn` are urllib3's pool internals (urllib3 is pinned in requirements.txt)."""
    for attempt in (1, 2):
        conn = pool._get_conn() if attempt == 1 else pool._new_conn()
        reused = conn.sock is not None  # type: ignore[attr-defined]
        reader: Reader | None = None
        keep = False
        try:
            if not reused:
                conn.timeout = timeout
                conn.connect()
            sock = conn.sock  # type: ignore[attr-defined]
            sock.settimeout(timeout)
            sock.sendall(request)
            reader = Reader(sock)
            answer, keep = read_response(reader, method)
            return answer
        except ConnectionError:
            if not reused or (reader is not None and reader.received) or method not in IDEMPOTENT:
                raise
            log.info(
                "a kept-alive connection to %s:%s was closed by the backend; sending again",
                pool.host,
                pool.port,
            )
        finally:
            if not keep:
                conn.close()
            pool._put_conn(conn)
    raise AssertionError("unreachable")  # pragma: no cover
