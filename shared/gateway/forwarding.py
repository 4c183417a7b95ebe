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
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3
from urllib3 import HTTPHeaderDict
from urllib3.util import SKIP_HEADER

from shared.errors import BackendTimeout, BackendTlsError, BackendUnreachable, CertgateError
from shared.gateway.headers import Headers, request_headers, response_headers
from shared.gateway.resolver import Resolver, Route
from shared.gateway.routing import backend_url, parse_gateway_url
from shared.gateway.sessions import SessionPool
from shared.storage.errors import EntityNotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    url: str  # as the client sent it, percent-encoding intact
    headers: Headers
    body: bytes


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: Headers
    body: bytes


class Forwarder:
    def __init__(self, resolver: Resolver, sessions: SessionPool, *, timeout: float) -> None:
        self._resolver = resolver
        self._sessions = sessions
        self._timeout = timeout

    def close(self) -> None:
        self._sessions.close()

    def forward(self, request: GatewayRequest) -> GatewayResponse:
        target = parse_gateway_url(request.url)
        route = self._resolver.resolve(target.segments)
        url = backend_url(route.api.spec.service_url, route.api.spec.path, target)
        headers = HTTPHeaderDict(request_headers(request.headers, proto=target.scheme, host=target.host))
        if "user-agent" not in headers:
            headers["User-Agent"] = SKIP_HEADER  # add none of our own: the client sent none
        started = time.perf_counter()
        thumb = route.certificate.info.thumbprint[-4:] if route.certificate else "none"
        try:
            session = self._session(route, target.segments)
            response = self._send(session, request.method, url, headers, request.body)
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
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        return response

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
        self, session: requests.Session, method: str, url: str, headers: HTTPHeaderDict, body: bytes
    ) -> GatewayResponse:
        """Through the urllib3 pool of the session's mounted adapter, picked by requests' own
        hook: the adapter's TLS identity and pooling, without requests' per-call work
        (environment merging, hooks, cookies, response wrapping) or its URL re-quoting."""
        adapter = session.get_adapter(url)
        with self._backend_errors():
            prepared = requests.PreparedRequest()
            prepared.url = url
            pool = adapter.get_connection_with_tls_context(prepared, verify=True)  # type: ignore[attr-defined]
            parts = urlsplit(url)
            response = pool.urlopen(
                method,
                f"{parts.path or '/'}{'?' + parts.query if parts.query else ''}",
                body=body or None,
                headers=headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                timeout=self._timeout,
            )
            try:
                payload = response.read(decode_content=False)
                answer = list(response.headers.items())
            finally:
                response.release_conn()
        return GatewayResponse(response.status, response_headers(answer), payload)

    @contextmanager
    def _backend_errors(self) -> Iterator[None]:
        """urllib3's exceptions (and socket errors) as certgate's, most specific first:
        NewConnectionError subclasses ConnectTimeoutError, so it comes before the timeouts."""
        try:
            yield
        except urllib3.exceptions.SSLError as exc:
            raise BackendTlsError(_tls_message(exc)) from exc
        except urllib3.exceptions.NewConnectionError as exc:
            raise BackendUnreachable(f"The backend cannot be reached: {_reason(exc)}.") from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise BackendTimeout(f"The backend did not answer within {self._timeout:g} s.") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if _find_ssl_error(exc) is not None:  # TLS 1.3: a refused certificate shows after the handshake
                raise BackendTlsError(_tls_message(exc)) from exc
            raise BackendUnreachable(f"The backend cannot be reached: {_reason(exc)}.") from exc


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
    return type(exc).__name__
