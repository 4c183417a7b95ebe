"""Forwarding one gateway call: resolve, pick the pooled session, send, stream the answer.

Blocking (urllib3 under the session's mounted adapter), so it runs off the worker's event
loop. The call is bounded by a deadline (connect, then from the request sent to the last header
byte of the answer), and by an idle limit between two chunks of a body, the client's while it
is sent and the backend's while it streams back (shared/gateway/watchdog.py).
"""

from __future__ import annotations

import itertools
import logging
import re
import ssl
import time
from collections.abc import Iterable, Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

import requests
import urllib3
from opentelemetry.trace import Status, StatusCode
from urllib3.util import SKIP_HEADER, wait_for_read

from shared.errors import CertgateError, InvalidHeader, PayloadTooLarge
from shared.gateway.backend_errors import backend_errors, translate
from shared.gateway.connections import CURRENT_WATCH
from shared.gateway.credentials import credential_headers, credential_query
from shared.gateway.headers import Headers, request_headers, response_headers
from shared.gateway.resolver import Resolver, Route
from shared.gateway.routing import backend_url, parse_gateway_target
from shared.gateway.sessions import SessionPool
from shared.gateway.watchdog import Watch, Watchdog
from shared.storage.errors import EntityNotFound
from shared.telemetry import GATEWAY_DURATION, GATEWAY_ERRORS, GATEWAY_REQUESTS, TRACER

log = logging.getLogger(__name__)
CHUNK = 256 * 1024  # largest piece of a backend's body handed on at once
_ROTATION_RETRIES = 3  # rotations that may land between reading a route and opening its blob
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")  # RFC 9110 5.5, as latin-1 text


class GatewayRequest(NamedTuple):
    method: str
    path: str  # as the client sent it, percent-encoding intact
    query: str  # likewise, without the '?'
    scheme: str  # of the URL the app was called on
    host: str
    headers: Headers
    body: Iterable[bytes] | None  # None: no body
    length: int | None  # the declared Content-Length; None: chunked or no body


class GatewayResponse(NamedTuple):
    status: int
    headers: Headers
    body: Iterator[bytes]  # the body as it streams (close() a BackendBody not read to the end)
    complete: bytes | None  # the whole body, already read, when it was small or empty


class Forwarder:
    def __init__(
        self,
        resolver: Resolver,
        sessions: SessionPool,
        *,
        timeout: float,
        idle_timeout: float,
        max_body_bytes: int,
    ) -> None:
        self._resolver = resolver
        self._sessions = sessions
        self._timeout = timeout
        self._idle = idle_timeout
        self._max_body = max_body_bytes
        self._urllib3_timeout = urllib3.Timeout(connect=timeout, read=idle_timeout)
        self._watchdog = Watchdog()

    def close(self) -> None:
        self._sessions.close()

    def check_length(self, length: int | None) -> None:
        if length is not None and length > self._max_body:
            raise PayloadTooLarge(f"The request body is over the limit of {self._max_body} bytes.")

    @property
    def sessions(self) -> SessionPool:
        return self._sessions

    def forward(self, request: GatewayRequest) -> GatewayResponse:
        """Send the call and return once the answer's head is in; its body streams after."""
        started = time.perf_counter()
        try:
            target = parse_gateway_target(
                request.path, request.query, scheme=request.scheme, host=request.host
            )
            self.check_length(request.length)
            route = self._resolver.resolve(target.segments)
        except CertgateError as exc:  # no API yet: counted under "unknown", no span
            _count_error("unknown", exc, started)
            raise
        api_id = route.api.id
        thumb = route.certificate.info.thumbprint[-4:] if route.certificate else "none"
        span = TRACER.start_span(
            f"gateway {api_id}",
            attributes={"certgate.api": api_id, "certgate.certificate.thumbprint_last4": thumb},
        )
        watch = self._watchdog.watch(self._timeout)
        watch.api = api_id
        try:
            credentials = route.api.spec.backend_credentials
            query = credential_query(target.raw_query, credentials, route.named_values)
            url = backend_url(
                route.api.spec.service_url, route.api.spec.path, target._replace(raw_query=query)
            )
            forwarded = request_headers(request.headers, proto=target.scheme, host=target.host)
            headers = _outgoing(credential_headers(forwarded, credentials, route.named_values), request)
            session = self._session(route, target.segments)
            answer = self._send(session, request, url, headers, watch)
        except Exception as exc:
            watch.cancel()
            error = exc if isinstance(exc, CertgateError) else CertgateError("unexpected")
            _count_error(api_id, error, started)
            span.set_attribute("http.response.status_code", error.status)
            span.set_status(Status(StatusCode.ERROR, error.code))  # the contract code only
            span.end()
            log.warning(
                "gateway api=%s cert=...%s error=%s latency_ms=%.1f",
                api_id,
                thumb,
                error.code,
                (time.perf_counter() - started) * 1000,
            )
            raise
        elapsed_ms = (time.perf_counter() - started) * 1000
        GATEWAY_REQUESTS.add(1, {"api": api_id, "status": answer.status})
        GATEWAY_DURATION.record(elapsed_ms, {"api": api_id})
        span.set_attribute("http.response.status_code", answer.status)
        span.end()
        log.info(
            "gateway api=%s cert=...%s status=%s latency_ms=%.1f", api_id, thumb, answer.status, elapsed_ms
        )
        by_length = "transfer-encoding" not in answer.headers and "content-length" in answer.headers
        body = BackendBody(answer, watch, self._idle, route.api.id)
        remaining = answer.length_remaining
        small = by_length and remaining is not None and remaining <= CHUNK
        returned = response_headers(list(answer.headers.iteritems()), keep_length=by_length)
        if small or request.method == "HEAD" or answer.status in (204, 304):
            # What has arrived is read here, on this thread: when that is the whole body (the
            # common small answer) it goes back with no streaming hand-off at all. A backend
            # that pauses mid-body is not waited for: the rest streams.
            first = next(body, b"")
            if answer.length_remaining == 0:
                body.close()  # read to its end: the connection goes back to the pool
                return GatewayResponse(answer.status, returned, iter((first,)), first)
            return GatewayResponse(answer.status, returned, itertools.chain((first,), body), None)
        return GatewayResponse(answer.status, returned, body, None)

    def _session(self, route: Route, segments: tuple[str, ...]) -> requests.Session:
        for _ in range(_ROTATION_RETRIES):
            try:
                return self._sessions.session_for(
                    route.certificate, route.api.spec.tls, route.trust, api=route.api.id
                )
            except EntityNotFound:
                # The certificate was rotated (here or by another instance) and this version's
                # blob removed since the route was read: read the route again, not fail the call.
                self._resolver.invalidate()
                route = self._resolver.resolve(segments)
        return self._sessions.session_for(
            route.certificate, route.api.spec.tls, route.trust, api=route.api.id
        )

    def _send(
        self,
        session: requests.Session,
        request: GatewayRequest,
        url: str,
        headers: urllib3.HTTPHeaderDict,
        watch: Watch,
    ) -> urllib3.HTTPResponse:
        """Through the urllib3 pool of the session's mounted adapter, picked by requests' own
        public hook: the adapter's TLS identity and pooling, without requests' per-call work
        (environment merging, hooks, cookies) or its URL re-quoting."""
        prepared = requests.PreparedRequest()
        prepared.url = url
        adapter = session.get_adapter(url)
        pool = adapter.get_connection_with_tls_context(prepared, verify=True)  # type: ignore[attr-defined]
        body = None if request.body is None else self._body(request.body, watch)
        token = CURRENT_WATCH.set(watch)
        try:
            with backend_errors(watch, self._timeout):
                answer = pool.urlopen(
                    request.method,
                    _origin_form(url),
                    body=body,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=self._urllib3_timeout,
                    preload_content=False,
                    decode_content=False,
                    release_conn=False,  # with preload_content=False: ours to release (BackendBody.close)
                )
        finally:
            CURRENT_WATCH.reset(token)
        watch.answered = True
        watch.extend(self._idle)
        assert isinstance(answer, urllib3.HTTPResponse)
        return answer

    def _body(self, body: Iterable[bytes], watch: Watch) -> Iterator[bytes]:
        """The request body as it arrives, each wait for the client bounded by the idle limit,
        cut off with 413 when a chunked one grows over the limit (the backend call is aborted:
        urllib3 closes a connection whose request did not complete)."""
        size = 0
        for chunk in body:
            size += len(chunk)
            if size > self._max_body:
                raise PayloadTooLarge(f"The request body is over the limit of {self._max_body} bytes.")
            watch.extend(self._idle)
            yield chunk


class BackendBody(Iterator[bytes]):
    """The backend's body as it arrives (read1: whatever is there, up to CHUNK), each wait
    bounded by the idle limit. A failure midway raises: the answer must end as cut short,
    never as complete."""

    def __init__(self, answer: urllib3.HTTPResponse, watch: Watch, idle: float, api_id: str) -> None:
        self._answer = answer
        self._watch = watch
        self._idle = idle
        self._api_id = api_id

    def __next__(self) -> bytes:
        try:
            data = self._answer.read1(CHUNK)
            if data:
                data = self._join_what_is_here(data)
        except Exception as exc:
            error = translate(exc, self._watch, self._idle)
            log.warning("gateway api=%s body cut short: %s", self._api_id, error.message)
            self.close()
            raise error from exc
        if not data:
            self.close()
            raise StopIteration
        self._watch.extend(self._idle)
        return data

    def _join_what_is_here(self, data: bytes) -> bytes:
        """Add what has already arrived, up to CHUNK, without waiting: one piece per TLS record
        (16 KiB) would cost a thread hand-off each; a piece that waited for more would hold back
        the first bytes of a stream."""
        connection = self._answer.connection
        sock = connection.sock if connection is not None else None
        if sock is None:
            return data
        pieces, size = [data], len(data)
        while size < CHUNK and (
            (isinstance(sock, ssl.SSLSocket) and sock.pending()) or wait_for_read(sock, 0)
        ):
            more = self._answer.read1(CHUNK - size)
            if not more:
                break
            pieces.append(more)
            size += len(more)
        return b"".join(pieces)

    def close(self) -> None:
        """Give the connection back when the body was read to its end; else close it, so no
        byte of this answer is ever read as the next caller's."""
        self._watch.cancel()
        if not self._answer.isclosed():
            self._answer.close()
        self._answer.release_conn()


def _count_error(api_id: str, exc: CertgateError, started: float) -> None:
    GATEWAY_REQUESTS.add(1, {"api": api_id, "status": exc.status})
    GATEWAY_ERRORS.add(1, {"api": api_id, "code": exc.code})
    GATEWAY_DURATION.record((time.perf_counter() - started) * 1000, {"api": api_id})


def _outgoing(headers: Headers, request: GatewayRequest) -> urllib3.HTTPHeaderDict:
    """Repeated fields stay repeated. urllib3 would add User-Agent and http.client
    Accept-Encoding: the gateway adds no header of its own."""
    out = urllib3.HTTPHeaderDict()
    for name, value in headers:
        if not _FIELD_VALUE.fullmatch(value):
            raise InvalidHeader("A request header cannot be forwarded: its value is not valid HTTP.")
        out.add(name, value)
    if request.length is not None:
        out["Content-Length"] = str(request.length)
    if "user-agent" not in out:
        out["User-Agent"] = SKIP_HEADER
    return out


def _origin_form(url: str) -> str:
    """The request-target for the backend: path and query exactly as built."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
