"""The backend connections under the `requests` adapters, made strict where http.client is
lenient (RFC 9112), and tied to the call's deadline. Subclasses of public classes only.

- Interim answers (102, 103) are skipped, at most 16 of them; an unasked-for 101 and a status
  outside 100..599 are refused.
- Framing that a proxy must not guess at is refused: a transfer coding other than chunked,
  Content-Length values that disagree or are not a number. An answer with both chunked and
  Content-Length is read as chunked, and its connection is not used again (RFC 9112 6.1).
- The socket of a connection is handed to the call's `Watch`, so its deadline can cut it; the
  deadline for the answer's head starts when the request has been sent.
- The backend's leaf passes our own checks (pin, name: shared/gateway/peer_checks.py) right
  after the handshake, before a request byte is sent; a connection that fails them is closed.
"""

from __future__ import annotations

import http.client
from contextvars import ContextVar
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from shared.gateway.peer_checks import PeerChecks, check_peer
from shared.gateway.watchdog import Watch
from shared.telemetry import BACKEND_HANDSHAKES

CURRENT_WATCH: ContextVar[Watch | None] = ContextVar("certgate_backend_watch", default=None)
_MAX_INTERIM = 16


class InvalidAnswer(http.client.HTTPException):
    """The backend's answer is not valid HTTP/1.1, or not one a proxy may pass on."""


class StrictResponse(http.client.HTTPResponse):
    def begin(self) -> None:
        for _ in range(_MAX_INTERIM + 1):
            super().begin()
            if not 100 <= self.status < 200:
                break
            if self.status == 101:
                raise InvalidAnswer("it switched protocols (101) without being asked to")
            # http.client skips only 100 and takes any other 1xx as the final answer, leaving
            # the real one on the socket for the next caller. An interim answer has no body
            # (RFC 9110 15.2): read the next status line.
            self.headers = self.msg = None  # type: ignore[assignment]
        else:
            raise InvalidAnswer(f"more than {_MAX_INTERIM} interim (1xx) answers")
        if self.status > 599:
            raise InvalidAnswer(f"status {self.status} is not an HTTP status code (100-599)")
        self._check_framing()

    def _check_framing(self) -> None:
        codings = [
            c.strip().lower() for v in self.msg.get_all("transfer-encoding") or () for c in v.split(",")
        ]
        lengths = {v.strip() for v in self.msg.get_all("content-length") or () for v in v.split(",")}
        if codings and codings != ["chunked"]:
            raise InvalidAnswer(f"transfer coding {', '.join(codings)!r} is not chunked")
        if codings and lengths:
            self.will_close = True  # read as chunked, then never reuse the connection
        elif len(lengths) > 1 or any(not (v.isascii() and v.isdigit()) for v in lengths):
            raise InvalidAnswer("its Content-Length values disagree or are not a number")


class _Watched:
    """Mixed into urllib3's connections: hands the socket to the call's watch."""

    sock: Any
    response_class: type[http.client.HTTPResponse] = StrictResponse

    def connect(self) -> None:
        watch = self._bind()
        if watch is not None:
            watch.fresh = True
        super().connect()  # type: ignore[misc]

    def putrequest(
        self, method: str, url: str, skip_host: bool = False, skip_accept_encoding: bool = False
    ) -> None:
        # http.client would add `Accept-Encoding: identity`: the gateway adds no header of its own.
        super().putrequest(method, url, skip_host=skip_host, skip_accept_encoding=True)  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = self._bind()
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
        finally:
            if watch is not None:  # sent (or the backend stopped reading): now the head's deadline
                watch.extend(watch.head_seconds)

    def _bind(self) -> Watch | None:
        watch = CURRENT_WATCH.get()
        if watch is not None:
            watch.target = self
        return watch


class WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    peer_checks = PeerChecks()

    def connect(self) -> None:
        watch = CURRENT_WATCH.get()
        BACKEND_HANDSHAKES.add(1, {"api": watch.api} if watch is not None and watch.api else None)
        super().connect()
        if self.peer_checks:
            try:
                check_peer(self.sock.getpeercert(binary_form=True), self._checked_name(), self.peer_checks)
            except BaseException:
                self.close()  # never pooled, never reused
                raise

    def _checked_name(self) -> str:
        return self.server_hostname or self.host


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {
    "http": WatchedHTTPConnectionPool,
    "https": WatchedHTTPSConnectionPool,
}


def pool_classes(checks: PeerChecks) -> dict[str, type[HTTPConnectionPool]]:
    """POOL_CLASSES whose https connections make `checks` (one pair of classes per session)."""
    if not checks:
        return POOL_CLASSES
    connection = type("CheckedHTTPSConnection", (WatchedHTTPSConnection,), {"peer_checks": checks})
    pool = type("CheckedHTTPSConnectionPool", (WatchedHTTPSConnectionPool,), {"ConnectionCls": connection})
    return {"http": WatchedHTTPConnectionPool, "https": pool}
