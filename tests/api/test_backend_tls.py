"""Per-API backend TLS through the local host: pinning, serverName (SNI and the name check), and
the name check on its own (chain not validated). Each passing backend has a failing twin, and a
failure says which check failed."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding

from tests.api.client import Management, error_code
from tests.services import DevHost
from tests.support.pki import CA, Issued, self_signed
from tests.support.tls_backends import EchoBackend


@pytest.fixture
def gw(gateway_host: DevHost) -> Management:
    return Management(gateway_host.url)


def put(gw: Management, uid: str, service_url: str, tls: dict[str, Any]) -> requests.Response:
    return gw.session.put(
        f"{gw.base}/management/apis/{uid}",
        json={"properties": {"path": uid, "serviceUrl": service_url, "tls": tls}},
        timeout=30,
    )


def call(gw: Management, uid: str) -> requests.Response:
    return requests.get(f"{gw.base}/gateway/{uid}/x", timeout=10)


def refused(response: requests.Response, words: str) -> None:
    assert response.status_code == 502 and error_code(response) == "BackendTlsError", response.text
    assert words in response.json()["error"]["message"]


def sha256(issued: Issued) -> str:
    return hashlib.sha256(issued.cert.public_bytes(Encoding.DER)).hexdigest()


def colons(hexed: str) -> str:
    return ":".join(hexed[i : i + 2] for i in range(0, len(hexed), 2)).lower()


def test_pins_are_normalised_at_put(gw: Management, root: CA, uid: str) -> None:
    leaf = root.issue_server()
    response = put(gw, uid, "https://localhost:1", {"serverCertificateThumbprints": [colons(sha256(leaf))]})
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["tls"]["serverCertificateThumbprints"] == [sha256(leaf).upper()]
    bad = put(gw, uid, "https://localhost:1", {"serverCertificateThumbprints": ["AB12"]})
    assert bad.status_code == 400 and error_code(bad) == "InvalidRequestBody"
    assert bad.json()["error"]["target"] == "properties.tls.serverCertificateThumbprints"


@pytest.mark.parametrize("digest", ["sha1", "sha256"])
def test_pinned_backend_passes_and_another_is_refused(
    gw: Management, root: CA, uid: str, digest: str
) -> None:
    leaf, other = root.issue_server(), root.issue_server()
    pin = hashlib.new(digest, leaf.cert.public_bytes(Encoding.DER)).hexdigest()
    with EchoBackend(leaf, None) as backend:
        assert put(gw, uid, backend.url, {"serverCertificateThumbprints": [pin.lower()]}).status_code == 201
        assert call(gw, uid).status_code == 200
    with EchoBackend(other, None) as backend:  # trusted chain, right name: only the pin fails
        assert put(gw, uid, backend.url, {"serverCertificateThumbprints": [pin]}).status_code == 200
        refused(call(gw, uid), "not the pinned one")
        assert backend.requests == 0  # refused before a request byte was sent
        refused(call(gw, uid), "not the pinned one")  # and the refused connection is not reused


def test_pin_also_applies_without_chain_validation(gw: Management, uid: str) -> None:
    leaf = self_signed("pinned.local", hostnames=("localhost",))
    other = self_signed("other.local", hostnames=("localhost",))
    tls = {"validateCertificateChain": False, "serverCertificateThumbprints": [sha256(leaf)]}
    with EchoBackend(leaf, None) as backend:
        assert put(gw, uid, backend.url, tls).status_code == 201
        assert call(gw, uid).status_code == 200
    with EchoBackend(other, None) as backend:
        assert put(gw, uid, backend.url, tls).status_code == 200
        refused(call(gw, uid), "not the pinned one")


def test_server_name_is_sni_and_the_checked_name(gw: Management, root: CA, uid: str) -> None:
    with EchoBackend(root.issue_server(hostnames=("orders.internal.test",)), None) as backend:
        by_ip = backend.url.replace("localhost", "127.0.0.1")
        refused_first = put(gw, uid, by_ip, {})
        assert refused_first.status_code == 201
        refused(call(gw, uid), "does not match its host name")
        assert put(gw, uid, by_ip, {"serverName": "orders.internal.test"}).status_code == 200
        assert call(gw, uid).status_code == 200
        assert backend.server_names[-1] == "orders.internal.test"
        assert put(gw, uid, by_ip, {"serverName": "billing.internal.test"}).status_code == 200
        refused(call(gw, uid), "does not match its host name")


@pytest.mark.parametrize("hostnames", [("other.example",), ("*.example.com",)])
def test_name_is_checked_without_chain_validation(
    gw: Management, uid: str, hostnames: tuple[str, ...]
) -> None:
    with EchoBackend(self_signed("named.local", hostnames=hostnames), None) as backend:
        tls: dict[str, Any] = {"validateCertificateChain": False}
        assert put(gw, uid, backend.url, tls).status_code == 201
        refused(call(gw, uid), "does not match its host name")
        tls["validateCertificateName"] = False
        assert put(gw, uid, backend.url, tls).status_code == 200
        assert call(gw, uid).status_code == 200


def test_name_check_alone_passes_the_right_name(gw: Management, uid: str) -> None:
    server = self_signed("named.local", hostnames=("*.example.com", "127.0.0.1"))
    with EchoBackend(server, None) as backend:
        tls = {"validateCertificateChain": False}
        assert put(gw, uid, backend.url.replace("localhost", "127.0.0.1"), tls).status_code == 201
        assert call(gw, uid).status_code == 200  # an IP address against an iPAddress entry
        named = {"validateCertificateChain": False, "serverName": "api.example.com"}
        assert put(gw, uid, backend.url, named).status_code == 200
        assert call(gw, uid).status_code == 200  # the wildcard covers one label
        deeper = {"validateCertificateChain": False, "serverName": "a.api.example.com"}
        assert put(gw, uid, backend.url, deeper).status_code == 200
        refused(call(gw, uid), "does not match its host name")


@pytest.mark.parametrize(
    "tls",
    [{"serverCertificateThumbprints": ["AB" * 20]}, {"serverName": "orders.internal.test"}],
)
def test_tls_options_need_https(gw: Management, uid: str, tls: dict[str, Any]) -> None:
    refused = put(gw, uid, "http://localhost:1", tls)
    assert refused.status_code == 400 and error_code(refused) == "InvalidServiceUrl", refused.text
    assert put(gw, uid, "http://localhost:1", {}).status_code == 201
