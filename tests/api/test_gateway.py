"""The gateway over HTTP: real mTLS backends, real certificates, every success with its
refusal twin."""

from __future__ import annotations

import hashlib
import http.client
import json
from typing import Any

import pytest
import requests

from tests.api.client import Management, error_code
from tests.services import DevHost
from tests.support.pki import CA, Issued, pfx_cryptography, self_signed
from tests.support.tls_backends import EchoBackend, HangingBackend, closed_port


@pytest.fixture
def gw(gateway_host: DevHost) -> Management:
    return Management(gateway_host.url)


def bind(gw: Management, uid: str, service_url: str, issued: Issued | None, **tls: bool) -> str:
    """Upload `issued` (if any) and bind an API at path `uid` to it; returns the gateway base."""
    cert_id = None
    if issued is not None:
        cert_id = f"c-{uid}"
        upload = gw.upload(cert_id, pfx_cryptography(issued, "pw"), "pw")
        assert upload.status_code in (200, 201), upload.text
    put = gw.put_api(uid, uid, service_url, cert_id, tls=tls or None)
    assert put.status_code == 201, put.text
    return f"{gw.base}/gateway/{uid}"


def echo(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_bound_certificate_is_presented(
    gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], kind: str, uid: str
) -> None:
    base = bind(gw, uid, mtls_backend.url + "/api", client_certs[kind])
    seen = echo(requests.get(f"{base}/items/7", timeout=10))
    assert seen["client_cert"]["thumbprint"] == client_certs[kind].thumbprint
    assert seen["path"] == "/api/items/7"


def test_foreign_certificate_is_refused(
    gw: Management, mtls_backend: EchoBackend, foreign_root: CA, uid: str
) -> None:
    base = bind(gw, uid, mtls_backend.url, foreign_root.issue_client("intruder"))
    response = requests.get(f"{base}/x", timeout=10)
    assert response.status_code == 502 and error_code(response) == "BackendTlsError"
    assert "refused our client certificate" in response.json()["error"]["message"]


def test_no_certificate_is_refused(gw: Management, mtls_backend: EchoBackend, uid: str) -> None:
    base = bind(gw, uid, mtls_backend.url, None)
    response = requests.get(f"{base}/x", timeout=10)
    assert response.status_code == 502 and error_code(response) == "BackendTlsError"


def test_intermediate_chain_is_presented(
    gw: Management, root: CA, mtls_backend: EchoBackend, uid: str
) -> None:
    leaf = root.intermediate(f"issuing {uid}").issue_client(f"chained {uid}", kind="ec")
    base = bind(gw, uid, mtls_backend.url, leaf)
    assert echo(requests.get(base, timeout=10))["client_cert"]["thumbprint"] == leaf.thumbprint


def test_forwarding_is_faithful(
    gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    base = bind(gw, uid, mtls_backend.url + "/base/", client_certs["rsa"])
    body = bytes(range(256)) * 64
    response = requests.post(
        f"{base}/a%20b/%C3%A9/?q=a+b&q=%2F&code=secret&empty=&x=%26",
        data=body,
        headers={
            "X-Custom": "kept",
            "Connection": "keep-alive, X-Drop",
            "X-Drop": "no",
            "TE": "trailers",
            "x-functions-key": "secret",
            "X-Forwarded-For": "203.0.113.9",
            "Content-Type": "application/octet-stream",
        },
        timeout=10,
    )
    seen = echo(response)
    assert seen["method"] == "POST"
    assert seen["path"] == "/base/a%20b/%C3%A9/"
    assert seen["query"] == "q=a+b&q=%2F&empty=&x=%26"
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest() and seen["body_len"] == len(body)
    headers = {name.lower(): value for name, value in seen["headers"]}
    assert headers["x-custom"] == "kept"
    assert headers["content-type"] == "application/octet-stream"
    for dropped in ("x-drop", "te", "x-functions-key", "keep-alive"):
        assert dropped not in headers
    assert headers["host"].startswith("localhost")  # the backend's, not the gateway's
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == gw.base.removeprefix("http://")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_methods(
    gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], method: str, uid: str
) -> None:
    base = bind(gw, uid, mtls_backend.url, client_certs["ec"])
    assert (
        echo(requests.request(method, f"{base}/m", data=b"x" if method != "GET" else None, timeout=10))[
            "method"
        ]
        == method
    )


def test_head(gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str) -> None:
    base = bind(gw, uid, mtls_backend.url, client_certs["ec"])
    response = requests.head(f"{base}/h", timeout=10)
    assert response.status_code == 200 and response.content == b""


def test_backend_answers_come_back_unchanged(
    gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    base = bind(gw, uid, mtls_backend.url, client_certs["rsa"])
    response = requests.get(
        f"{base}/s",
        timeout=10,
        headers={
            "X-Echo-Status": "418",
            "X-Echo-Set-Header": "X-Backend: yes",
            "X-Echo-Body-Bytes": "100000",
        },
    )
    assert response.status_code == 418
    assert response.headers["X-Backend"] == "yes"
    assert response.content == (bytes(range(256)) * 400)[:100000]
    assert response.headers["Content-Type"] == "application/octet-stream"
    for status in (404, 500, 503):
        assert (
            requests.get(f"{base}/s", headers={"X-Echo-Status": str(status)}, timeout=10).status_code
            == status
        )


def test_longest_prefix_wins(
    gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    cert = f"c-{uid}"
    assert gw.upload(cert, pfx_cryptography(client_certs["rsa"], "pw"), "pw").status_code == 201
    assert gw.put_api(f"{uid}-short", uid, mtls_backend.url + "/short", cert).status_code == 201
    assert gw.put_api(f"{uid}-long", f"{uid}/v2", mtls_backend.url + "/long", cert).status_code == 201
    assert echo(requests.get(f"{gw.base}/gateway/{uid}/v2/x", timeout=10))["path"] == "/long/x"
    assert echo(requests.get(f"{gw.base}/gateway/{uid}/v2x", timeout=10))["path"] == "/short/v2x"
    assert echo(requests.get(f"{gw.base}/gateway/{uid}", timeout=10))["path"] == "/short"


def test_unknown_api(gw: Management, uid: str) -> None:
    response = requests.get(f"{gw.base}/gateway/{uid}/nothing", timeout=10)
    assert response.status_code == 404 and error_code(response) == "ApiNotFound"


@pytest.mark.parametrize("path", ["/../x", "/%2e%2e/x", "/a/%2E/b", "/.%2E/b", "/%252e%252e/x", "/..%2fx"])
def test_dot_segments_are_refused(
    gw: Management,
    gateway_host: DevHost,
    mtls_backend: EchoBackend,
    client_certs: dict[str, Issued],
    uid: str,
    path: str,
) -> None:
    bind(gw, uid, mtls_backend.url + "/base", client_certs["rsa"])
    before = mtls_backend.requests
    connection = http.client.HTTPConnection("127.0.0.1", gateway_host.port, timeout=10)
    connection.request("GET", f"/gateway/{uid}{path}")  # sent raw: no client-side normalisation
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 400 and b"InvalidPath" in body
    assert mtls_backend.requests == before


def test_body_limit(
    gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    base = bind(gw, uid, mtls_backend.url, client_certs["rsa"])
    response = requests.post(base, data=b"x" * (2 * 1024 * 1024 + 1), timeout=30)
    assert response.status_code == 413 and error_code(response) == "PayloadTooLarge"
    assert echo(requests.post(base, data=b"x" * (2 * 1024 * 1024), timeout=30))["body_len"] == 2 * 1024 * 1024


def test_untrusted_backend(gw: Management, client_certs: dict[str, Issued], uid: str) -> None:
    server = self_signed("selfsigned.local", hostnames=("localhost", "127.0.0.1"))
    with EchoBackend(server, None) as backend:
        strict = bind(gw, uid, backend.url, client_certs["rsa"])
        response = requests.get(strict, timeout=10)
        assert response.status_code == 502 and "not trusted" in response.json()["error"]["message"]
        assert (
            gw.put_api(uid, uid, backend.url, f"c-{uid}", tls={"validateCertificateChain": False}).status_code
            == 200
        )
        assert echo(requests.get(strict, timeout=10))["client_cert"] is None  # optional client cert


def test_wrong_host_name(gw: Management, root: CA, client_certs: dict[str, Issued], uid: str) -> None:
    with EchoBackend(root.issue_server(hostnames=("other.example",)), [root.cert_pem]) as backend:
        base = bind(gw, uid, backend.url, client_certs["rsa"])
        response = requests.get(base, timeout=10)
        assert response.status_code == 502 and "host name" in response.json()["error"]["message"]
        assert (
            gw.put_api(uid, uid, backend.url, f"c-{uid}", tls={"validateCertificateName": False}).status_code
            == 200
        )
        assert (
            echo(requests.get(base, timeout=10))["client_cert"]["thumbprint"]
            == client_certs["rsa"].thumbprint
        )


def test_unreachable_and_timeout(gw: Management, client_certs: dict[str, Issued], uid: str) -> None:
    base = bind(gw, uid, f"https://localhost:{closed_port()}", client_certs["rsa"])
    response = requests.get(base, timeout=10)
    assert response.status_code == 502 and error_code(response) == "BackendUnreachable"
    with HangingBackend() as hanging:
        assert gw.put_api(uid, uid, hanging.url, f"c-{uid}").status_code == 200
        response = requests.get(base, timeout=10)
        assert response.status_code == 504 and error_code(response) == "BackendTimeout"


def test_slow_backend_within_the_timeout(
    gw: Management, root: CA, client_certs: dict[str, Issued], uid: str
) -> None:
    with EchoBackend(root.issue_server(), [root.cert_pem], delay=0.5) as slow:
        base = bind(gw, uid, slow.url, client_certs["ec"])
        assert (
            echo(requests.get(base, timeout=10))["client_cert"]["thumbprint"] == client_certs["ec"].thumbprint
        )


def test_failures_are_logged_with_the_api(
    gw: Management, gateway_host: DevHost, uid: str, client_certs: dict[str, Issued]
) -> None:
    base = bind(gw, uid, f"https://localhost:{closed_port()}", client_certs["rsa"])
    assert requests.get(base, timeout=10).status_code == 502
    line = gateway_host.log_line(f"api={uid} ")
    assert "error=BackendUnreachable" in line and f"cert=...{client_certs['rsa'].thumbprint[-4:]}" in line


def raw_get(host: DevHost, path: str, headers: dict[str, str]) -> tuple[http.client.HTTPResponse, bytes]:
    """With http.client: no header of requests', and every response header line as it came."""
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def test_nothing_is_added_to_the_request(
    gw: Management,
    gateway_host: DevHost,
    mtls_backend: EchoBackend,
    client_certs: dict[str, Issued],
    uid: str,
) -> None:
    bind(gw, uid, mtls_backend.url, client_certs["rsa"])
    _, body = raw_get(gateway_host, f"/gateway/{uid}/bare", {"Accept": "x/y"})  # no User-Agent
    seen = json.loads(body)
    names = sorted(name.lower() for name, _ in seen["headers"])
    assert names == [
        "accept",
        "accept-encoding",
        "host",
        "via",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
    ], names
    assert dict((n.lower(), v) for n, v in seen["headers"])["accept-encoding"] == "identity"  # http.client's


def test_repeated_response_headers(
    gw: Management,
    gateway_host: DevHost,
    mtls_backend: EchoBackend,
    client_certs: dict[str, Issued],
    uid: str,
) -> None:
    """Every header line comes back, each Set-Cookie value byte for byte (the Functions host's
    non-streaming path would join repeats and re-escape `a=b/c+d==`, and drop `Partitioned`)."""
    bind(gw, uid, mtls_backend.url, client_certs["ec"])
    cookies = ["a=b/c+d==; Path=/", "b=2", "p=1; Secure; Partitioned", 'q="x,y"; SameSite=None; Secure']
    wanted = " | ".join([f"Set-Cookie: {c}" for c in cookies] + ["X-Multi: one", "X-Multi: two"])
    response, _ = raw_get(gateway_host, f"/gateway/{uid}", {"X-Echo-Set-Header": wanted})
    assert response.status == 200
    assert response.msg.get_all("Set-Cookie") == cookies
    assert response.msg.get_all("X-Multi") == ["one", "two"]


def test_every_spelling_of_the_key_parameter_is_stripped(
    gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    """F10: the Functions host takes `code` in any case and percent-encoding as the key."""
    base = bind(gw, uid, mtls_backend.url, client_certs["rsa"])
    seen = echo(requests.get(f"{base}/k?a=1&CODE=s1&Code=s2&%63ode=s3&c%6Fde=s4&code=s5&codes=z", timeout=10))
    assert seen["query"] == "a=1&codes=z"


def test_an_api_whose_backend_is_the_gateway_itself_does_not_loop(
    gw: Management, gateway_host: DevHost, uid: str
) -> None:
    """F12/F15: the first hop adds Via; the second refuses it (508), and that answer comes back."""
    assert gw.put_api(uid, uid, f"{gateway_host.url}/gateway/{uid}", None).status_code == 201
    response = requests.get(f"{gateway_host.url}/gateway/{uid}/again", timeout=10)
    assert response.status_code == 508
    assert error_code(response) == "LoopDetected"


def test_chunked_request_body(
    gw: Management, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    base = bind(gw, uid, mtls_backend.url, client_certs["rsa"])
    parts = [b"a" * 1000, bytes(range(256)), b"z" * 5000]
    seen = echo(requests.post(base, data=iter(parts), timeout=10))  # Transfer-Encoding: chunked
    assert seen["body_len"] == sum(map(len, parts))
    assert seen["body_sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()
