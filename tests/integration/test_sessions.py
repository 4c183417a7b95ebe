"""TLS identity and session pooling against real mTLS servers: the context's trust is exactly
what its settings say; sessions are keyed by certificate version, bounded and closed when
superseded."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from requests.adapters import HTTPAdapter

from shared.ca_material import CaInfo
from shared.gateway.sessions import ContextAdapter, SessionPool
from shared.gateway.tls import client_context
from shared.models import CaCertificate, Certificate, TlsSettings
from shared.pkcs12 import CertificateInfo
from tests.support.pki import CA, Issued
from tests.support.tls_backends import EchoBackend


@pytest.fixture(scope="module")
def root() -> CA:
    return CA.new("session root", "ec")


@pytest.fixture(scope="module")
def backend(root: CA) -> Iterator[EchoBackend]:
    with EchoBackend(root.issue_server(), [root.cert_pem]) as server:
        yield server


@pytest.fixture(scope="module")
def trust(root: CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("trust") / "root.pem"
    root.write_pem(path)
    return str(path)


def bundle(issued: Issued) -> bytes:
    return issued.key_pem + issued.chain_pem


def cert(cert_id: str, version: str) -> Certificate:
    now = datetime.now(UTC)
    return Certificate(cert_id, version, CertificateInfo("CN=x", "CN=x", "AB" * 20, now, now, "EC", 1))


def test_trust_is_exactly_the_configured_file(root: CA, backend: EchoBackend, trust: str) -> None:
    client = root.issue_client("trust")
    ctx = client_context(bundle(client), TlsSettings(), ca_file=trust)
    session = requests.Session()
    session.mount("https://", ContextAdapter(ctx, pool_maxsize=2))
    assert session.get(backend.url, timeout=10).json()["client_cert"]["thumbprint"] == client.thumbprint
    # requests would have loaded certifi (or REQUESTS_CA_BUNDLE) into the context: it did not
    assert [c["subject"] for c in ctx.get_ca_certs()] == [
        ((("organizationName", "certgate tests"),), (("commonName", "session root"),))
    ]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_plain_adapter_would_widen_trust(root: CA, backend: EchoBackend, trust: str) -> None:
    """The refusal twin: the hazard ContextAdapter guards against is real."""
    ctx = client_context(bundle(root.issue_client("widen")), TlsSettings(), ca_file=trust)

    class Plain(HTTPAdapter):
        def init_poolmanager(self, *args: object, **kwargs: object) -> None:
            kwargs["ssl_context"] = ctx
            super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]

    session = requests.Session()
    session.mount("https://", Plain())
    session.get(backend.url, timeout=10, verify=True)
    assert len(ctx.get_ca_certs()) > 1


def test_unvalidated_chain_trusts_nothing_and_checks_nothing(root: CA) -> None:
    ctx = client_context(None, TlsSettings(False, True), ca_file=None)
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    named = client_context(None, TlsSettings(True, False), ca_file=None)
    assert named.verify_mode == ssl.CERT_REQUIRED and not named.check_hostname


def test_pool_keys_by_version_closes_superseded_and_is_bounded(
    root: CA, backend: EchoBackend, trust: str
) -> None:
    loads: list[str] = []
    material = {"v1": bundle(root.issue_client("one")), "v2": bundle(root.issue_client("two"))}

    def load(c: Certificate) -> bytes:
        loads.append(c.version)
        return material.get(c.version, material["v1"])

    pool = SessionPool(load, ca_file=trust, max_sessions=3)
    first = pool.session_for(cert("c", "v1"), TlsSettings())
    assert pool.session_for(cert("c", "v1"), TlsSettings()) is first
    first.get(backend.url, timeout=10)
    handshakes = backend.handshakes
    for _ in range(20):
        assert first.get(backend.url, timeout=10).status_code == 200
    assert backend.handshakes == handshakes  # pooled: no new handshake per request
    second = pool.session_for(cert("c", "v2"), TlsSettings())
    assert second is not first and loads == ["v1", "v2"]
    closed_pools = first.get_adapter(backend.url).poolmanager.pools  # type: ignore[attr-defined]
    assert len(closed_pools) == 0  # the superseded session was closed
    other_tls = pool.session_for(cert("c", "v2"), TlsSettings(True, False))
    assert other_tls is not second
    for n in range(5):
        pool.session_for(cert(f"x{n}", "v1"), TlsSettings())
    assert len(pool) == 3  # bounded
    pool.close()


def test_trust_is_exactly_the_apis_ca_certificates_and_a_new_version_supersedes(root: CA, trust: str) -> None:
    """tls.caCertificateIds: the context holds exactly those CAs (not the file); a replaced CA
    (new ETag) is a new session, and the old one is closed."""
    with EchoBackend(root.issue_server(), None) as backend:  # no client certificate asked
        other = CA.new("another root")
        now = datetime.now(UTC)
        info = CaInfo("CN=x", "CN=x", "AB" * 20, now, True)
        pool = SessionPool(lambda c: b"", ca_file=trust)
        tls = TlsSettings(ca_certificate_ids=("corp",))
        wrong = pool.session_for(None, tls, (CaCertificate("corp", info, other.cert_pem.decode(), "e1"),))
        with pytest.raises(requests.exceptions.SSLError):
            wrong.get(backend.url, timeout=10)  # the file trusts `root`; this API trusts only `other`
        right = pool.session_for(None, tls, (CaCertificate("corp", info, root.cert_pem.decode(), "e2"),))
        assert right is not wrong and right.get(backend.url, timeout=10).status_code == 200
        assert len(wrong.get_adapter(backend.url).poolmanager.pools) == 0  # type: ignore[attr-defined]
        assert len(pool) == 1
        pool.close()
