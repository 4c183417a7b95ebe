"""The TLS test backends themselves, against real clients: the strict backend admits exactly the
certificates of its CAs, echoes what it received, obeys its controls, and hangs when asked to."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.support.pki import CA, Issued, KeyKind, self_signed
from tests.support.tls_backends import PATTERN, EchoBackend, HangingBackend, closed_port


class ExactTrust(HTTPAdapter):
    """Mounts one SSLContext as built. The machine exports REQUESTS_CA_BUNDLE, and requests hands
    its CA file (or certifi's) to urllib3, which loads it into the context: trust would widen to
    the system store. Dropping `ca_certs` keeps the trust to the test CA alone."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        host_params, _ = super().build_connection_pool_key_attributes(request, False, None)
        return host_params, {"cert_reqs": "CERT_REQUIRED"}

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        pass  # no CA file and no client-certificate path ever reach the connection


def client_context(
    trust: CA, tmp_path: Path, client: Issued | None = None, *, chain: bool = True
) -> ssl.SSLContext:
    """A client trusting `trust` only, presenting `client` (leaf and intermediates, or the bare
    leaf with chain=False)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # loads no default CAs, unlike create_default_context
    ctx.load_verify_locations(cadata=trust.cert_pem.decode())
    if client is not None:
        certfile, keyfile = tmp_path / f"{client.thumbprint}.pem", tmp_path / f"{client.thumbprint}.key"
        certfile.write_bytes(client.chain_pem if chain else client.cert_pem)
        keyfile.write_bytes(client.key_pem)
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


def session(ctx: ssl.SSLContext) -> requests.Session:
    s = requests.Session()
    s.mount("https://", ExactTrust(ctx))
    return s


@pytest.fixture(scope="module")
def root() -> CA:
    return CA.new("backend root")


@pytest.fixture(scope="module")
def backend(root: CA) -> Iterator[EchoBackend]:
    with EchoBackend(root.issue_server(), [root.cert_pem]) as server:
        yield server


@pytest.fixture(scope="module")
def client(root: CA) -> Issued:
    return root.issue_client("backend client")


@pytest.fixture
def mtls(root: CA, client: Issued, tmp_path: Path) -> Iterator[requests.Session]:
    with session(client_context(root, tmp_path, client)) as s:
        yield s


# --- mutual TLS ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_the_right_client_certificate_is_admitted(
    root: CA, backend: EchoBackend, tmp_path: Path, kind: KeyKind
) -> None:
    issued = root.issue_client(f"admitted {kind}", kind)
    ctx = client_context(root, tmp_path, issued)
    handshakes = backend.handshakes
    with session(ctx) as s:
        response = s.get(backend.url, timeout=10)
    assert response.status_code == 200
    seen = response.json()["client_cert"]
    assert seen["thumbprint"] == issued.thumbprint and seen["subject"] == issued.subject
    # the bare leaf was loaded, and OpenSSL's client completes the chain from its trust store
    assert seen["chain_len"] == 2
    assert backend.handshakes == handshakes + 1
    assert [c["subject"] for c in ctx.get_ca_certs()] == [
        ((("organizationName", "certgate tests"),), (("commonName", "backend root"),))
    ]  # the adapter kept the trust to the test root


def test_a_foreign_client_certificate_is_refused(backend: EchoBackend, root: CA, tmp_path: Path) -> None:
    foreign = CA.new("foreign root").issue_client("intruder")
    handshakes = backend.handshakes
    with session(client_context(root, tmp_path, foreign)) as s, pytest.raises(requests.exceptions.SSLError):
        s.get(backend.url, timeout=10)
    assert backend.handshakes == handshakes  # refused handshakes are not counted


def test_no_client_certificate_is_refused(backend: EchoBackend, root: CA, tmp_path: Path) -> None:
    with session(client_context(root, tmp_path)) as s, pytest.raises(requests.exceptions.SSLError):
        s.get(backend.url, timeout=10)


def test_an_intermediate_client_certificate_needs_its_chain(
    backend: EchoBackend, root: CA, tmp_path: Path
) -> None:
    issued = root.intermediate("client intermediate").issue_client("via intermediate", "ec")
    with session(client_context(root, tmp_path, issued)) as s:
        seen = s.get(backend.url, timeout=10).json()["client_cert"]
    assert seen["thumbprint"] == issued.thumbprint and seen["chain_len"] == 2  # leaf + intermediate
    bare = client_context(root, tmp_path, issued, chain=False)  # the refusal twin
    with session(bare) as s, pytest.raises(requests.exceptions.SSLError):
        s.get(backend.url, timeout=10)


def test_the_server_is_not_trusted_by_a_client_of_another_root(backend: EchoBackend, tmp_path: Path) -> None:
    other = CA.new("other root")
    ctx = client_context(other, tmp_path, other.issue_client("c"))
    with session(ctx) as s, pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        s.get(backend.url, timeout=10)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_server_certificate_covers_name_and_address(
    backend: EchoBackend, mtls: requests.Session, host: str
) -> None:
    assert mtls.get(f"https://{host}:{backend.port}/", timeout=10).status_code == 200


def test_a_backend_without_client_cas_asks_for_no_certificate(
    root: CA, client: Issued, tmp_path: Path
) -> None:
    with EchoBackend(root.issue_server(), None) as open_backend:
        for who in (None, client):
            with session(client_context(root, tmp_path, who)) as s:
                assert s.get(open_backend.url, timeout=10).json()["client_cert"] is None


def test_a_self_signed_server(client: Issued, tmp_path: Path) -> None:
    server = self_signed("self.local", "ec", hostnames=("localhost", "127.0.0.1"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=server.cert_pem.decode())
    with EchoBackend(server, None) as own, session(ctx) as s:
        assert s.get(own.url, timeout=10).status_code == 200


# --- the echo --------------------------------------------------------------------------------


def raw_request(
    backend: EchoBackend,
    ctx: ssl.SSLContext,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
) -> http.client.HTTPResponse:
    """http.client sends the target and headers exactly as given: no quoting, no reordering."""
    conn = http.client.HTTPSConnection("localhost", backend.port, context=ctx, timeout=10)
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders(body or None)
    response = conn.getresponse()
    response.read()  # buffered into the response; the connection can go
    conn.close()
    return response


def test_the_echo_is_raw(backend: EchoBackend, root: CA, client: Issued, tmp_path: Path) -> None:
    ctx = client_context(root, tmp_path, client)
    conn = http.client.HTTPSConnection("localhost", backend.port, context=ctx, timeout=10)
    conn.putrequest(
        "POST", "/a%2Fb/%7Ec;p=1?x=%20y&z=1&z=2&e=&u=%C3%A9", skip_host=True, skip_accept_encoding=True
    )
    sent = [("Host", "h.example"), ("X-B", "2"), ("x-a", "1"), ("X-B", "3"), ("Content-Length", "5")]
    for name, value in sent:
        conn.putheader(name, value)
    conn.endheaders(b"hello")
    seen = json.loads(conn.getresponse().read())
    conn.close()
    assert seen["method"] == "POST"
    assert seen["path"] == "/a%2Fb/%7Ec;p=1" and seen["query"] == "x=%20y&z=1&z=2&e=&u=%C3%A9"
    assert seen["headers"] == [list(h) for h in sent]  # names as sent, in order, repeats kept
    assert seen["body_len"] == 5 and seen["body_sha256"] == hashlib.sha256(b"hello").hexdigest()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "BREW"])
def test_every_method_is_echoed(backend: EchoBackend, mtls: requests.Session, method: str) -> None:
    response = mtls.request(method, f"{backend.url}/m", data=b"payload", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    seen = response.json()
    assert seen["method"] == method and seen["body_len"] == 7


def test_head_has_no_body(backend: EchoBackend, mtls: requests.Session) -> None:
    response = mtls.head(f"{backend.url}/h", timeout=10)
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["Content-Length"]) > 0  # what a GET would have carried


def test_a_chunked_body_is_read(backend: EchoBackend, mtls: requests.Session) -> None:
    parts = [b"a" * 10, b"", b"b" * 70000, bytes(range(256))]
    response = mtls.post(backend.url, data=iter(parts), timeout=10)  # a generator: chunked
    seen = response.json()
    assert ["Transfer-Encoding", "chunked"] in seen["headers"]
    whole = b"".join(parts)
    assert seen["body_len"] == len(whole) and seen["body_sha256"] == hashlib.sha256(whole).hexdigest()


def test_chunk_extensions_and_trailers(
    backend: EchoBackend, root: CA, client: Issued, tmp_path: Path
) -> None:
    body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    headers = [("Host", "localhost"), ("Transfer-Encoding", "chunked")]
    response = raw_request(backend, client_context(root, tmp_path, client), "PUT", "/t", headers, body)
    assert response.status == 200


def test_status_and_response_headers(backend: EchoBackend, mtls: requests.Session) -> None:
    response = mtls.get(
        backend.url,
        headers={"X-Echo-Status": "418", "X-Echo-Set-Header": "X-One: 1 | Set-Cookie: a=1 | Set-Cookie: b=2"},
        timeout=10,
    )
    assert response.status_code == 418
    assert response.headers["X-One"] == "1" and response.cookies.get_dict() == {"a": "1", "b": "2"}
    assert response.json()["method"] == "GET"  # the echo still comes with another status


def test_set_header_repeated_as_headers(
    backend: EchoBackend, root: CA, client: Issued, tmp_path: Path
) -> None:
    headers = [("Host", "localhost"), ("X-Echo-Set-Header", "X-A: 1"), ("X-Echo-Set-Header", "X-A: 2")]
    response = raw_request(backend, client_context(root, tmp_path, client), "GET", "/", headers)
    assert response.headers.get_all("X-A") == ["1", "2"]


def test_set_header_can_replace_the_content_type(backend: EchoBackend, mtls: requests.Session) -> None:
    response = mtls.get(backend.url, headers={"X-Echo-Set-Header": "Content-Type: text/plain"}, timeout=10)
    assert response.headers["Content-Type"] == "text/plain"


@pytest.mark.parametrize("status", [204, 304])
def test_bodyless_statuses_carry_no_body(backend: EchoBackend, mtls: requests.Session, status: int) -> None:
    response = mtls.get(backend.url, headers={"X-Echo-Status": str(status)}, timeout=10)
    assert response.status_code == status and response.content == b""
    assert mtls.get(backend.url, timeout=10).status_code == 200  # the kept-alive connection is intact


@pytest.mark.parametrize("size", [0, 1, 255, 256, 100_001])
def test_body_bytes(backend: EchoBackend, mtls: requests.Session, size: int) -> None:
    response = mtls.get(backend.url, headers={"X-Echo-Body-Bytes": str(size)}, timeout=10)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.content == (PATTERN * (size // 256 + 1))[:size]


def test_keep_alive_one_handshake_many_requests(backend: EchoBackend, mtls: requests.Session) -> None:
    handshakes, requests_before = backend.handshakes, backend.requests
    for _ in range(5):
        assert mtls.get(backend.url, timeout=10).status_code == 200
    assert backend.handshakes == handshakes + 1 and backend.requests == requests_before + 5


# --- robustness ------------------------------------------------------------------------------


def test_a_refused_handshake_neither_kills_the_server_nor_prints(
    backend: EchoBackend, mtls: requests.Session, root: CA, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        with session(client_context(root, tmp_path)) as s, pytest.raises(requests.exceptions.SSLError):
            s.get(backend.url, timeout=10)
    with socket.create_connection(("127.0.0.1", backend.port)) as plain:
        plain.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not TLS at all
        plain.recv(100)
    assert mtls.get(backend.url, timeout=10).status_code == 200
    time.sleep(0.2)  # let the handler threads finish their ends
    assert capfd.readouterr().err == ""


def test_a_silent_client_holds_up_no_one(backend: EchoBackend, mtls: requests.Session) -> None:
    """The handshake runs in each connection's thread: a connection that never speaks TLS must not
    stall the accept loop."""
    with socket.create_connection(("127.0.0.1", backend.port)):
        started = time.monotonic()
        assert mtls.get(backend.url, timeout=5).status_code == 200
        assert time.monotonic() - started < 2


def test_close_ends_kept_alive_connections(root: CA, mtls: requests.Session) -> None:
    gone = EchoBackend(root.issue_server(), [root.cert_pem])
    assert mtls.get(gone.url, timeout=10).status_code == 200
    gone.close()
    with pytest.raises(requests.exceptions.ConnectionError):
        mtls.get(gone.url, timeout=10)


def test_delay(root: CA, mtls: requests.Session) -> None:
    with EchoBackend(root.issue_server(), [root.cert_pem], delay=0.5) as slow:
        started = time.monotonic()
        assert mtls.get(slow.url, timeout=10).status_code == 200
        assert time.monotonic() - started >= 0.5
        with pytest.raises(requests.exceptions.ReadTimeout):
            mtls.get(slow.url, timeout=0.2)


# --- nothing there, or nothing answering --------------------------------------------------------


def test_closed_port_refuses(mtls: requests.Session) -> None:
    port = closed_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    with pytest.raises(requests.exceptions.ConnectionError):
        mtls.get(f"https://localhost:{port}", timeout=5)


def test_hanging_backend_stalls_the_handshake(mtls: requests.Session) -> None:
    hanging = HangingBackend()
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):  # the ClientHello gets no answer
        mtls.get(hanging.url, timeout=0.5)
    assert time.monotonic() - started < 5
    started = time.monotonic()
    hanging.close()
    assert time.monotonic() - started < 3


def test_hanging_backend_with_tls_stalls_the_answer(root: CA, mtls: requests.Session) -> None:
    with HangingBackend(root.issue_server()) as hanging:
        with pytest.raises(requests.exceptions.ReadTimeout):  # connected and handshaken: then silence
            mtls.get(hanging.url, timeout=0.5)
        with pytest.raises(requests.exceptions.ReadTimeout):
            mtls.get(hanging.url, timeout=0.5)
