"""The dry run of an API (POST /management/apis/{apiId}/test): connect to its backend exactly as
the gateway would and report each step: name resolution, TCP, TLS, HTTP. The pieces are the
gateway's own: the route from the resolver, the SSLContext of the session pool, the peer checks,
the error words of backend_errors, and the real forwarder for the HTTP request. Each step is
bounded by the backend timeout; the first failure ends the report."""

from __future__ import annotations

import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from shared.errors import (
    BackendTimeout,
    BackendTlsError,
    BackendUnreachable,
    CertgateError,
    InvalidRequestBody,
)
from shared.gateway.backend_errors import translate
from shared.gateway.forwarding import GatewayRequest
from shared.gateway.peer_checks import CertificateRefused, PeerChecks, check_peer, matches_host
from shared.gateway.resolver import Route
from shared.gateway.routing import PREFIX, parse_gateway_target
from shared.gateway.sessions import peer_checks
from shared.gateway.tls import unverified_context
from shared.gateway.watchdog import Watch
from shared.services import Services

# Under TLS 1.3 a server refuses the client certificate after the client's Finished: this long
# a wait for its alert, right after the handshake.
SETTLE_SECONDS = 0.5
_DRAIN_LIMIT = 1024 * 1024
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_REQUIRED_HOW = (
    "a handshake without a client certificate was aborted by the backend"
    " (Python's ssl does not expose the CertificateRequest itself)"
)
_NOT_REQUIRED_HOW = (
    "a handshake without a client certificate completed and the backend did not refuse it within"
    f" {SETTLE_SECONDS:g} s; whether it asks for one optionally is not visible through Python's ssl"
)


class _Failed(Exception):
    def __init__(self, step: dict[str, Any]) -> None:
        super().__init__("step failed")
        self.step = step


def dry_run(services: Services, api_id: str, method: str, path: str, *, host: str) -> dict[str, Any]:
    """The report `{"ok", "steps"}`; raises only for an unknown API (404) or a `path` that leads
    to another API (400)."""
    api = services.apis.get(api_id)
    gateway_path = f"{PREFIX}/{api.spec.path}{path}"
    raw_path, _, query = gateway_path.partition("?")
    target = parse_gateway_target(raw_path, query, scheme="https", host=host)
    route = services.resolver.resolve(target.segments)
    if route.api.id != api.id:
        services.resolver.invalidate()  # a snapshot older than this API's last write
        route = services.resolver.resolve(target.segments)
    if route.api.id != api.id:
        raise InvalidRequestBody(f"'path' leads to the API {route.api.id!r}, not to this one.", target="path")
    timeout = services.settings.backend_timeout_seconds
    steps: list[dict[str, Any]] = []
    try:
        url = urlsplit(route.api.spec.service_url)
        https = url.scheme == "https"
        hostname = url.hostname or ""
        port = url.port or (443 if https else 80)
        addresses = _step(steps, "dns", timeout, lambda: _dns(hostname, port, route, timeout))
        sock = _step(steps, "tcp", timeout, lambda: _tcp(addresses, port, timeout))
        address = sock.getpeername()[0]
        try:
            if https:
                _step(steps, "tls", timeout, lambda: _tls(services, route, sock, address, port, timeout))
        finally:
            sock.close()
        _step(steps, "http", timeout, lambda: _http(services, method, raw_path, query, host))
    except _Failed as failed:
        steps.append(failed.step)
        return {"ok": False, "steps": steps}
    return {"ok": True, "steps": steps}


def _step(steps: list[dict[str, Any]], name: str, timeout: float, work: Any) -> Any:
    """Run `work` (returns (value, report) or raises); the step is recorded either way."""
    started = time.perf_counter()
    try:
        value, report = work()
    except _Failed as failed:
        failed.step = {"name": name, "ok": False, **failed.step, "ms": _ms(started)}
        raise
    except Exception as exc:
        error = exc if isinstance(exc, CertgateError) else translate(exc, _fresh_watch(timeout), timeout)
        raise _Failed({"name": name, "ok": False, "ms": _ms(started), "error": _error(error)}) from exc
    steps.append({"name": name, "ok": True, **report, "ms": _ms(started)})
    return value


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _fresh_watch(timeout: float) -> Watch:
    watch = Watch(time.monotonic() + timeout, timeout)
    watch.fresh = True  # our own new connection: a TLS failure is the handshake's
    return watch


def _error(error: CertgateError) -> dict[str, str]:
    """The error in certgate's words, and the side at fault: the backend (unreachable, slow, its
    certificate refused), or certgate (its client certificate refused, its own failure)."""
    backend = isinstance(error, (BackendTlsError, BackendUnreachable, BackendTimeout))
    ours = not backend or "refused our client certificate" in error.message
    return {"code": error.code, "message": error.message, "side": "certgate" if ours else "backend"}


def _dns(host: str, port: int, route: Route, timeout: float) -> tuple[list[str], dict[str, Any]]:
    pool = ThreadPoolExecutor(1)
    try:
        infos = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM).result(timeout)
    except FutureTimeout as exc:
        raise BackendTimeout(
            f"The backend's host name {host!r} did not resolve within {timeout:g} s."
        ) from exc
    except socket.gaierror as exc:
        raise BackendUnreachable(
            f"The backend cannot be reached: its host name {host!r} does not resolve ({exc.strerror})."
        ) from exc
    finally:
        pool.shutdown(wait=False)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    report: dict[str, Any] = {"host": host, "addresses": addresses}
    if route.api.spec.tls.server_name:
        report["serverName"] = route.api.spec.tls.server_name
    return addresses, report


def _tcp(addresses: list[str], port: int, timeout: float) -> tuple[socket.socket, dict[str, Any]]:
    """The first address that accepts, in the resolver's order, as urllib3 connects."""
    failure: OSError | None = None
    deadline = time.monotonic() + timeout
    for tried, address in enumerate(addresses, 1):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        try:
            sock = socket.create_connection((address, port), timeout=left)
        except OSError as exc:
            failure = exc
            continue
        return sock, {"address": address, "port": port, "tried": tried}
    assert failure is not None
    raise failure


def _tls(
    services: Services, route: Route, sock: socket.socket, address: str, port: int, timeout: float
) -> tuple[None, dict[str, Any]]:
    tls = route.api.spec.tls
    hostname = urlsplit(route.api.spec.service_url).hostname or ""
    server_name = tls.server_name or hostname
    pool = services.forwarder.sessions
    material = pool.material(route.certificate)
    deadline = time.monotonic() + timeout
    failure: BaseException | None = None
    version: str | None = None
    chain: list[bytes] = []
    try:
        with _handshake(pool.context(material, tls, route.trust), sock, server_name, timeout) as conn:
            version, chain = conn.version(), conn.get_unverified_chain()
            failure = _settle(conn, version)
    except (OSError, ssl.SSLError) as exc:
        failure = exc
    if not chain and _left(deadline) > 0:  # stopped before it: read the chain with nothing checked
        version, chain = _inspect(unverified_context(material), address, port, server_name, _left(deadline))
    leaf = chain[0] if chain else None
    if failure is None:
        try:
            check_peer(leaf, server_name, peer_checks(tls))
        except CertificateRefused as exc:
            failure = exc
    report: dict[str, Any] = {
        "protocol": version,
        "serverName": server_name,
        "chain": [_describe(der) for der in chain],
        "trust": _trust(tls.validate_certificate_chain, failure, leaf),
        "hostname": _name(tls.validate_certificate_name, leaf, server_name),
        "pin": _pin(tls.server_certificate_thumbprints, leaf, server_name),
        "clientCertificate": {
            **_requested(address, port, server_name, _left(deadline)),
            "certificateId": route.certificate.id if route.certificate else None,
            "sent": [_subject(c) for c in _certificates(material)],
        },
    }
    if failure is not None:
        error = translate(failure, _fresh_watch(timeout), timeout)
        raise _Failed({**report, "error": _error(error)}) from failure
    return None, report


def _left(deadline: float) -> float:
    """What remains of the step's time; under a twentieth of a second counts as nothing."""
    left = deadline - time.monotonic()
    return left if left >= 0.05 else 0.0


def _handshake(ctx: ssl.SSLContext, sock: socket.socket, server_name: str, timeout: float) -> ssl.SSLSocket:
    sock.settimeout(timeout)
    return ctx.wrap_socket(sock, server_hostname=server_name)


def _settle(conn: ssl.SSLSocket, version: str | None) -> BaseException | None:
    """Under TLS 1.3, the backend's refusal of the client certificate, if it comes right away."""
    if version != "TLSv1.3":
        return None
    conn.settimeout(SETTLE_SECONDS)
    try:
        if conn.recv(1) == b"":
            return ssl.SSLEOFError("the backend closed the connection right after the handshake")
    except TimeoutError:
        return None
    except (OSError, ssl.SSLError) as exc:
        return exc
    return None


def _inspect(
    ctx: ssl.SSLContext, address: str, port: int, server_name: str, timeout: float
) -> tuple[str | None, list[bytes]]:
    try:
        with (
            socket.create_connection((address, port), timeout=timeout) as sock,
            _handshake(ctx, sock, server_name, timeout) as conn,
        ):
            return conn.version(), conn.get_unverified_chain()
    except (OSError, ssl.SSLError):
        return None, []


def _requested(address: str, port: int, server_name: str, timeout: float) -> dict[str, str]:
    """Whether the backend requires a client certificate, inferred: Python's ssl does not say
    whether a CertificateRequest came, so a handshake without one is tried."""
    if timeout <= 0:
        return {"requested": "unknown", "how": "no time was left within the step's timeout to try"}
    try:
        with (
            socket.create_connection((address, port), timeout=timeout) as sock,
            _handshake(unverified_context(None), sock, server_name, timeout) as conn,
        ):
            refused = _settle(conn, conn.version()) is not None
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):  # aborted in the handshake
        refused = True
    except OSError as exc:
        return {"requested": "unknown", "how": f"a handshake without a client certificate failed ({exc})"}
    if refused:
        return {"requested": "required", "how": _REQUIRED_HOW}
    return {"requested": "not required", "how": _NOT_REQUIRED_HOW}


def _trust(validated: bool, failure: BaseException | None, leaf: bytes | None) -> str:
    if not validated:
        return "not checked"
    if isinstance(failure, ssl.SSLCertVerificationError):
        words = (failure.verify_message or "").lower()
        return "trusted" if "hostname" in words or "ip address mismatch" in words else "not trusted"
    return "trusted" if leaf is not None else "unknown"


def _name(checked: bool, leaf: bytes | None, server_name: str) -> str:
    if not checked:
        return "not checked"
    if leaf is None:
        return "unknown"
    return "matches" if matches_host(x509.load_der_x509_certificate(leaf), server_name) else "does not match"


def _pin(pins: tuple[str, ...], leaf: bytes | None, server_name: str) -> str:
    if not pins:
        return "not set"
    if leaf is None:
        return "unknown"
    try:
        check_peer(leaf, server_name, PeerChecks(pins=pins))
    except CertificateRefused:
        return "does not match"
    return "matches"


def _describe(der: bytes) -> dict[str, str]:
    cert = x509.load_der_x509_certificate(der)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "notAfter": cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
    }


def _certificates(material: bytes | None) -> list[x509.Certificate]:
    if material is None:
        return []
    return [x509.load_pem_x509_certificate(block) for block in _PEM_CERT.findall(material)]


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def _http(
    services: Services, method: str, raw_path: str, query: str, host: str
) -> tuple[None, dict[str, Any]]:
    request = GatewayRequest(method, raw_path, query, "https", host, [], None, None)
    answer = services.forwarder.forward(request)
    try:
        if answer.complete is None and method != "HEAD":
            size = 0
            for chunk in answer.body:
                size += len(chunk)
                if size > _DRAIN_LIMIT:
                    break
    finally:
        close = getattr(answer.body, "close", None)
        if close is not None:
            close()
    return None, {"method": method, "path": raw_path[len(PREFIX) :], "status": answer.status}
