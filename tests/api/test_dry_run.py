"""The dry run (POST /management/apis/{apiId}/test) through the local host: each step against
real backends, and where the first failure stops the report."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding

from tests.api.client import Management, error_code
from tests.services import DevHost
from tests.support.pki import CA, Issued, pfx_cryptography, self_signed
from tests.support.tls_backends import EchoBackend, HangingBackend, closed_port


@pytest.fixture
def gw(gateway_host: DevHost) -> Management:
    return Management(gateway_host.url)


def bind(
    gw: Management, uid: str, service_url: str, issued: Issued | None, tls: dict[str, Any] | None = None
) -> None:
    props: dict[str, Any] = {"path": uid, "serviceUrl": service_url}
    if issued is not None:
        upload = gw.upload(f"c-{uid}", pfx_cryptography(issued, "pw"), "pw")
        assert upload.status_code in (200, 201), upload.text
        props["credentials"] = {"certificateId": f"c-{uid}"}
    if tls is not None:
        props["tls"] = tls
    put = gw.session.put(f"{gw.base}/management/apis/{uid}", json={"properties": props}, timeout=30)
    assert put.status_code == 201, put.text


def dry_run(gw: Management, uid: str, body: Any = None) -> requests.Response:
    return gw.session.post(f"{gw.base}/management/apis/{uid}/test", json=body, timeout=60)


def report(gw: Management, uid: str, body: Any = None) -> dict[str, Any]:
    response = dry_run(gw, uid, body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def steps(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in result["steps"]}


def test_good_mtls_backend(
    gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], root: CA, uid: str
) -> None:
    bind(gw, uid, mtls_backend.url + "/api", client_certs["rsa"])
    result = report(gw, uid, {"method": "GET", "path": "/health"})
    assert result["ok"] is True, result
    assert [s["name"] for s in result["steps"]] == ["dns", "tcp", "tls", "http"]
    assert all(s["ok"] for s in result["steps"])
    by = steps(result)
    assert "127.0.0.1" in by["dns"]["addresses"] or "::1" in by["dns"]["addresses"]
    tls = by["tls"]
    assert tls["protocol"].startswith("TLSv1.")
    assert tls["chain"][0]["subject"].startswith("CN=localhost,")
    assert tls["chain"][0]["issuer"] == root.cert.subject.rfc4514_string()
    assert tls["chain"][0]["notAfter"].endswith("Z")
    assert (tls["trust"], tls["hostname"], tls["pin"]) == ("trusted", "matches", "not set")
    assert tls["clientCertificate"]["requested"] == "required"
    assert tls["clientCertificate"]["sent"][0].startswith("CN=gw-client-rsa,")
    assert by["http"]["status"] == 200 and by["http"]["method"] == "GET"
    assert by["http"]["path"] == f"/{uid}/health"


def test_default_is_head_and_no_client_certificate_asked(gw: Management, root: CA, uid: str) -> None:
    with EchoBackend(root.issue_server(), None) as backend:
        bind(gw, uid, backend.url, None)
        result = gw.session.post(f"{gw.base}/management/apis/{uid}/test", timeout=60).json()
    assert result["ok"] is True, result
    by = steps(result)
    assert by["tls"]["clientCertificate"]["requested"] == "not required"
    assert by["tls"]["clientCertificate"]["sent"] == []
    assert by["http"]["method"] == "HEAD" and by["http"]["status"] == 200


def failed(result: dict[str, Any], name: str) -> dict[str, Any]:
    assert result["ok"] is False, result
    last = result["steps"][-1]
    assert last["name"] == name and last["ok"] is False, result
    assert all(s["ok"] for s in result["steps"][:-1])
    return dict(last)


def test_untrusted_backend(gw: Management, uid: str) -> None:
    with EchoBackend(self_signed("localhost", hostnames=("localhost",)), None) as backend:
        bind(gw, uid, backend.url, None)
        step = failed(report(gw, uid), "tls")
    assert step["trust"] == "not trusted"
    assert step["chain"][0]["subject"].startswith("CN=localhost,")  # read though it is not trusted
    assert step["error"]["code"] == "BackendTlsError" and step["error"]["side"] == "backend"
    assert "not trusted" in step["error"]["message"]


def test_wrong_name(gw: Management, root: CA, uid: str) -> None:
    with EchoBackend(root.issue_server(("elsewhere.example",)), None) as backend:
        bind(gw, uid, backend.url, None)
        step = failed(report(gw, uid), "tls")
    assert step["name"] == "tls" and step["error"]["side"] == "backend"
    assert "does not match its host name" in step["error"]["message"]


def test_pin_mismatch(gw: Management, root: CA, uid: str) -> None:
    other = hashlib.sha256(root.issue_server().cert.public_bytes(Encoding.DER)).hexdigest()
    with EchoBackend(root.issue_server(), None) as backend:
        bind(gw, uid, backend.url, None, {"serverCertificateThumbprints": [other]})
        step = failed(report(gw, uid), "tls")
    assert (step["trust"], step["pin"]) == ("trusted", "does not match")
    assert step["error"]["side"] == "backend" and "not the pinned one" in step["error"]["message"]


def test_pin_match(gw: Management, root: CA, uid: str) -> None:
    leaf = root.issue_server()
    with EchoBackend(leaf, None) as backend:
        bind(gw, uid, backend.url, None, {"serverCertificateThumbprints": [leaf.thumbprint]})
        result = report(gw, uid)
    assert result["ok"] is True, result
    assert steps(result)["tls"]["pin"] == "matches"


def test_no_client_certificate_bound(gw: Management, mtls_backend: EchoBackend, uid: str) -> None:
    bind(gw, uid, mtls_backend.url, None)
    step = failed(report(gw, uid), "tls")
    assert step["clientCertificate"]["requested"] == "required"
    assert step["clientCertificate"]["sent"] == []
    assert step["error"]["code"] == "BackendTlsError" and step["error"]["side"] == "certgate"
    assert "refused our client certificate" in step["error"]["message"]


def test_foreign_client_certificate(
    gw: Management, mtls_backend: EchoBackend, foreign_root: CA, uid: str
) -> None:
    bind(gw, uid, mtls_backend.url, foreign_root.issue_client(f"intruder {uid}"))
    step = failed(report(gw, uid), "tls")
    assert step["trust"] == "trusted" and step["clientCertificate"]["requested"] == "required"
    assert step["clientCertificate"]["sent"][0].startswith(f"CN=intruder {uid},")
    assert (
        step["error"]["side"] == "certgate" and "refused our client certificate" in step["error"]["message"]
    )


def test_silent_backend_is_bounded_per_step(gw: Management, uid: str) -> None:
    with HangingBackend() as backend:  # accepts, never answers the ClientHello
        bind(gw, uid, backend.url, None)
        step = failed(report(gw, uid), "tls")
    assert step["error"]["code"] == "BackendTimeout" and step["error"]["side"] == "backend"
    assert step["ms"] < 2000 * 1.5  # CERTGATE_BACKEND_TIMEOUT_SECONDS is 2 on this host
    assert step["clientCertificate"]["requested"] == "unknown"


def test_closed_port(gw: Management, uid: str) -> None:
    bind(gw, uid, f"https://127.0.0.1:{closed_port()}", None)
    result = report(gw, uid)
    step = failed(result, "tcp")
    assert [s["name"] for s in result["steps"]] == ["dns", "tcp"]
    assert step["error"]["code"] == "BackendUnreachable" and step["error"]["side"] == "backend"


def test_unknown_api(gw: Management, uid: str) -> None:
    response = dry_run(gw, uid)
    assert response.status_code == 404 and error_code(response) == "ResourceNotFound", response.text


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"method": "HEAD", "pathh": "/x"}, "pathh"),
        ({"method": "BREW"}, "method"),
        ({"path": "x"}, "path"),
        ([], None),
    ],
)
def test_bad_body(gw: Management, mtls_backend: EchoBackend, body: Any, target: str | None, uid: str) -> None:
    bind(gw, uid, mtls_backend.url, None)
    response = dry_run(gw, uid, body)
    assert response.status_code == 400 and error_code(response) == "InvalidRequestBody", response.text
    if target is not None:
        assert response.json()["error"]["target"] == target
