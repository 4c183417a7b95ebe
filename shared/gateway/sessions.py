"""Pooled `requests` sessions, one per (certificate id, version, TLS settings, trusted CA
certificates and their versions).

Steady state reuses kept-alive connections: no new handshake and no storage call per request.
A new certificate version makes a new key; the superseded session is closed (its idle
connections drop, calls in flight finish on theirs).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import requests
from requests.adapters import HTTPAdapter

from shared.gateway.connections import POOL_CLASSES, pool_classes
from shared.gateway.peer_checks import PeerChecks
from shared.gateway.tls import client_context
from shared.models import CaCertificate, Certificate, TlsSettings
from shared.telemetry import BACKEND_SESSIONS

log = logging.getLogger(__name__)


class WatchedAdapter(HTTPAdapter):
    """Pools of connections that are strict about framing and tied to the call's deadline
    (shared/gateway/connections.py)."""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES


class ContextAdapter(WatchedAdapter):
    """Mounts one SSLContext and keeps its trust exactly as built: requests would otherwise
    hand urllib3 a CA bundle (certifi or REQUESTS_CA_BUNDLE) that it loads into our context,
    and urllib3 would reset the context's verify_mode from `cert_reqs`."""

    def __init__(
        self,
        context: ssl.SSLContext,
        *,
        pool_maxsize: int,
        tls: TlsSettings | None = None,
    ) -> None:
        self._context = context
        self._server_name = tls.server_name if tls else None
        self._checks = peer_checks(tls) if tls else PeerChecks()
        super().__init__(pool_connections=32, pool_maxsize=pool_maxsize, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(connections, maxsize, block, **kwargs)
        self.poolmanager.pool_classes_by_scheme = pool_classes(self._checks)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        host_params, _ = super().build_connection_pool_key_attributes(request, False, None)
        verified = self._context.verify_mode != ssl.CERT_NONE
        pool_kwargs: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED" if verified else "CERT_NONE"}
        if not self._context.check_hostname:
            pool_kwargs["assert_hostname"] = False  # else urllib3 checks the name itself
        if self._server_name is not None:
            # Sent as SNI; OpenSSL's name check (check_hostname) uses it too.
            pool_kwargs["server_hostname"] = self._server_name
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Deliberately nothing: no CA file or client cert path is ever set on a connection."""


def peer_checks(tls: TlsSettings) -> PeerChecks:
    """What we check ourselves: the pins, and the name when OpenSSL does not (no chain check)."""
    return PeerChecks(
        pins=tls.server_certificate_thumbprints,
        check_name=tls.validate_certificate_name and not tls.validate_certificate_chain,
    )


class SessionKey(NamedTuple):
    certificate_id: str | None
    version: str | None
    tls: TlsSettings
    trust: tuple[tuple[str, str], ...] = ()  # (CA certificate id, ETag): a replaced CA, a new key


class SessionPool:
    def __init__(
        self,
        load_material: Callable[[Certificate], bytes],
        *,
        ca_file: str | None,
        max_sessions: int = 256,
        pool_maxsize: int = 64,
    ) -> None:
        self._load_material = load_material
        self._ca_file = ca_file
        self._max = max_sessions
        self._pool_maxsize = pool_maxsize
        self._sessions: OrderedDict[SessionKey, requests.Session] = OrderedDict()
        self._lock = threading.Lock()
        self._build_locks: dict[SessionKey, threading.Lock] = {}

    def session_for(
        self,
        cert: Certificate | None,
        tls: TlsSettings,
        trust: tuple[CaCertificate, ...] = (),
        *,
        api: str | None = None,  # the API it is for: a telemetry attribute only
    ) -> requests.Session:
        key = SessionKey(
            cert.id if cert else None,
            cert.version if cert else None,
            tls,
            tuple((ca.id, ca.etag) for ca in trust),
        )
        with self._lock:
            session = self._sessions.get(key)
            if session is not None:
                self._sessions.move_to_end(key)
                return session
            build_lock = self._build_locks.setdefault(key, threading.Lock())
        with build_lock:  # one build per key; other keys are not held up by this one's I/O
            with self._lock:
                if key in self._sessions:
                    return self._sessions[key]
            session = self._build(cert, tls, trust)
            BACKEND_SESSIONS.add(1, {"api": api} if api else None)
            with self._lock:
                self._install(key, session)
                self._build_locks.pop(key, None)
            return session

    def __len__(self) -> int:
        return len(self._sessions)

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()

    def material(self, cert: Certificate | None) -> bytes | None:
        """The decrypted PEM bundle (key, leaf, intermediates) of `cert`, None without one."""
        return self._load_material(cert) if cert is not None else None

    def context(
        self, material: bytes | None, tls: TlsSettings, trust: tuple[CaCertificate, ...] = ()
    ) -> ssl.SSLContext:
        """The context a session for these settings mounts (the dry run builds the same one)."""
        ca_data = "".join(ca.pem for ca in trust) or None
        return client_context(material, tls, ca_file=self._ca_file, ca_data=ca_data)

    def _build(
        self, cert: Certificate | None, tls: TlsSettings, trust: tuple[CaCertificate, ...]
    ) -> requests.Session:
        material = self.material(cert)
        session = requests.Session()
        session.trust_env = False
        session.mount(
            "https://",
            ContextAdapter(
                self.context(material, tls, trust),
                pool_maxsize=self._pool_maxsize,
                tls=tls,
            ),
        )
        session.mount("http://", WatchedAdapter(pool_maxsize=self._pool_maxsize, max_retries=0))
        if cert is not None:
            log.info(
                "session built for certificate %s version %s (thumbprint ...%s)",
                cert.id,
                cert.version,
                cert.info.thumbprint[-4:],
            )
        return session

    def _install(self, key: SessionKey, session: requests.Session) -> None:
        superseded = [k for k in self._sessions if _supersedes(key, k)]
        for old in superseded:
            self._sessions.pop(old).close()
        self._sessions[key] = session
        while len(self._sessions) > self._max:
            _, evicted = self._sessions.popitem(last=False)
            evicted.close()


def _supersedes(new: SessionKey, old: SessionKey) -> bool:
    """A new version of the client certificate, or of the same CA certificates under the same
    settings: the old session drains (calls in flight finish on their connections)."""
    if (
        new.certificate_id is not None
        and old.certificate_id == new.certificate_id
        and old.version != new.version
    ):
        return True
    return (
        new.trust != old.trust
        and [ca_id for ca_id, _ in new.trust] == [ca_id for ca_id, _ in old.trust]
        and new[:3] == old[:3]
    )
