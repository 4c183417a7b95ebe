"""Forwarding one gateway call: resolve, pick the pooled session, send, map failures.

The one place where backend exceptions (urllib3's, under the session's adapter) become
certgate's: TLS first, then refused connections, then timeouts, then the rest.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

import requests
import urllib3
from urllib3.connectionpool import HTTPConnectionPool

from shared.errors import BackendTimeout, BackendTlsError, BackendUnreachable, CertgateError, InvalidHeader
from shared.gateway.exchange import Answer, encode_request, exchange
from shared.gateway.headers import Headers, request_headers, response_headers
from shared.gateway.resolver import Resolver, Route
from shared.gateway.routing import backend_url, parse_gateway_url
from shared.gateway.sessions import SessionPool
from shared.http1 import MessageError
from shared.storage.errors import EntityNotFound

log = logging.getLogger(__name__)
_MAX_POOLS = 1024


class GatewayRequest(NamedTuple):
    method: str
    url: str  # as the client sent it, percent-encoding intact
    headers: Headers
    body: bytes


class GatewayResponse(NamedTuple):
    status: int
    headers: Headers
    body: bytes


class Forwarder:
    def __init__(self, resolver: Resolver, sessions: SessionPool, *, timeout: float) -> None:
        self._resolver = resolver
        self._sessions = sessions
        self._timeout = timeout
        self._pools: dict[tuple[int, str, str], HTTPConnectionPool] = {}

    def close(self) -> None:
        self._sessions.close()

    def forward(self, request: GatewayRequest) -> GatewayResponse:
        target = parse_gateway_url(request.url)
        route = self._resolver.resolve(target.segments)
        url = backend_url(route.api.spec.service_url, route.api.spec.path, target)
        headers = request_headers(request.headers, proto=target.scheme, host=target.host)
        started = time.perf_counter()
        thumb = route.certificate.info.thumbprint[-4:] if route.certificate else "none"
        try:
            session = self._session(route, target.segments)
            answer = self._send(session, request.method, url, headers, request.body)
        except CertgateError as exc:
            log.warning(
                "gateway api=%s cert=...%s error=%s latency_ms=%.1f",
                route.api.id,
                thumb,
                exc.code,
                (time.perf_counter() - started) * 1000,
            )
            raise
        log.info(
            "gateway api=%s cert=...%s status=%s latency_ms=%.1f",
            route.api.id,
            thumb,
            answer.status,
            (time.perf_counter() - started) * 1000,
        )
        return GatewayResponse(answer.status, response_headers(answer.headers), answer.body)

    def _session(self, route: Route, segments: tuple[str, ...]) -> requests.Session:
        try:
            return self._sessions.session_for(route.certificate, route.api.spec.tls)
        except EntityNotFound:
            # Another instance rotated the certificate and removed this version's blob:
            # read the route again rather than fail the call.
            self._resolver.invalidate()
            fresh = self._resolver.resolve(segments)
            return self._sessions.session_for(fresh.certificate, fresh.api.spec.tls)

    def _send(
        self, session: requests.Session, method: str, url: str, headers: Headers, body: bytes
    ) -> Answer:
        """Over a connection of the urllib3 pool of the session's mounted adapter, picked by
        requests' own hook: the adapter's TLS identity and pooling, without requests' per-call
        work (environment merging, hooks, cookies, response wrapping) or its URL re-quoting."""
        parts = urlsplit(url)
        try:
            request = encode_request(
                method,
                f"{parts.path or '/'}{'?' + parts.query if parts.query else ''}",
                _authority(parts),
                headers,
                body,
            )
        except (ValueError, UnicodeEncodeError) as exc:
            raise InvalidHeader(
                "A request header cannot be forwarded: its name or value is not valid HTTP."
            ) from exc
        with self._backend_errors():
            for _ in range(2):
                pool = self._pool(session, url, parts)
                try:
                    return exchange(pool, method, request, timeout=self._timeout)
                except urllib3.exceptions.ClosedPoolError:
                    self._pools.pop((id(session), parts.scheme, parts.netloc), None)  # closed under us
            raise BackendUnreachable("The backend's connection pool was closed twice in a row; try again.")

    def _pool(self, session: requests.Session, url: str, parts: SplitResult) -> HTTPConnectionPool:
        """The adapter's pool for this origin, remembered: looking it up through requests costs
        a URL parse, a proxy lookup and a pool-key normalisation per call."""
        key = (id(session), parts.scheme, parts.netloc)
        pool = self._pools.get(key)
        if pool is None or pool.pool is None:  # unknown, or closed (session superseded, pool evicted)
            prepared = requests.PreparedRequest()
            prepared.url = url
            adapter = session.get_adapter(url)
            pool = adapter.get_connection_with_tls_context(prepared, verify=True)  # type: ignore[attr-defined]
            if len(self._pools) >= _MAX_POOLS:
                self._pools.clear()
            self._pools[key] = pool
        return pool

    @contextmanager
    def _backend_errors(self) -> Iterator[None]:
        """Socket, TLS, urllib3 and framing errors as certgate's, most specific first: TLS
        anywhere in the chain, then refused connections (NewConnectionError subclasses
        ConnectTimeoutError), then timeouts, then the rest."""
        try:
            yield
        except CertgateError:
            raise
        except Exception as exc:
            if _find_ssl_error(exc) is not None or isinstance(exc, urllib3.exceptions.SSLError):
                raise BackendTlsError(_tls_message(exc)) from exc
            if isinstance(exc, urllib3.exceptions.NewConnectionError):
                raise BackendUnreachable(f"The backend cannot be reached: {_reason(exc)}.") from exc
            if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
                raise BackendTimeout(f"The backend did not answer within {self._timeout:g} s.") from exc
            if isinstance(exc, MessageError):
                raise BackendUnreachable(f"The backend's answer is not valid HTTP/1.1: {exc}.") from exc
            if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
                raise BackendUnreachable(f"The backend cannot be reached: {_reason(exc)}.") from exc
            raise


def _authority(parts: SplitResult) -> str:
    """The Host field for a backend URL, as http.client writes it: no default port, brackets
    around an IPv6 address, no user information."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = 443 if parts.scheme == "https" else 80
    return host if port in (None, default) else f"{host}:{port}"


def _find_ssl_error(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return None


def _tls_message(exc: BaseException) -> str:
    err = _find_ssl_error(exc)
    text = str(err or exc)
    if isinstance(err, ssl.SSLCertVerificationError):
        if "hostname" in text.lower() or "IP address mismatch" in text:
            return f"The backend's certificate does not match its host name ({err.verify_message})."
        return f"The backend's certificate is not trusted ({err.verify_message})."
    if isinstance(err, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        # The backend closed the connection inside the handshake instead of completing it: what
        # strict mTLS servers do when they refuse the client certificate (the alert that says
        # so is often lost to the reset).
        return (
            "The backend refused our client certificate: it closed the connection during the TLS handshake."
        )
    lowered = text.lower()
    if any(
        m in lowered
        for m in (
            "certificate required",
            "bad certificate",
            "unknown ca",
            "handshake failure",
            "certificate unknown",
            "access denied",
            "decrypt error",
            "unsupported certificate",
        )
    ):
        return f"The backend refused our client certificate ({_reason(exc)})."
    return f"The TLS handshake with the backend failed ({_reason(exc)})."


def _reason(exc: BaseException) -> str:
    err = _find_ssl_error(exc)
    if err is not None:
        return err.reason or type(err).__name__
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, ConnectionError) and text:
        return text
    return type(exc).__name__
