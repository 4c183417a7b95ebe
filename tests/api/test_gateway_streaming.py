"""Bodies stream through the real host and worker: memory does not grow with a body, the
first bytes of an answer reach the client before the backend sends its last, chunked
uploads go through whole, and the limit holds while a body streams."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.api.client import Management
from tests.gateway_fixtures import gateway_env
from tests.services import Azurite, DevHost
from tests.support.nginx import NginxBackend
from tests.support.pki import CA, Issued, pfx_cryptography
from tests.support.scripted_backend import Answer, ScriptedBackend
from tests.support.tls_backends import EchoBackend

MiB = 1024 * 1024
LIMIT = 300 * MiB
GROWTH = 64 * MiB  # the most a streamed call may add to a process's peak memory


@pytest.fixture(scope="module")
def host(azurite: Azurite, trust_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    from tests.conftest import unique_prefix

    env = gateway_env(
        azurite,
        trust_file,
        unique_prefix(),
        CERTGATE_MAX_GATEWAY_BODY_BYTES=str(LIMIT),
        FUNCTIONS_REQUEST_BODY_SIZE_LIMIT=str(LIMIT + MiB),
    )
    server = DevHost(env, log_path=tmp_path_factory.mktemp("stream") / "devhost.log")
    yield server
    server.stop()


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def assert_bounded(pids: list[int], before: list[int]) -> None:
    growth = [(peak_kib(p) - b) * 1024 for p, b in zip(pids, before, strict=True)]
    assert max(growth) < GROWTH, growth


def processes(host: DevHost) -> list[int]:
    """The host process and its worker (its pid as /health reports it)."""
    return [
        host.process.pid,
        int(requests.get(host.url + "/health", timeout=10).json()["counters"]["process"]),
    ]


def bind(host: DevHost, uid: str, url: str, client: Issued) -> str:
    gw = Management(host.url)
    assert gw.upload(uid, pfx_cryptography(client, "pw"), "pw").status_code == 201
    assert gw.put_api(uid, uid, url, uid).status_code == 201
    return f"{host.url}/gateway/{uid}"


def test_a_large_download_streams_in_bounded_memory(
    host: DevHost, root: CA, client_certs: dict[str, Issued], tmp_path: Path, uid: str
) -> None:
    size = 512 * MiB
    with NginxBackend(root, tmp_path) as nginx:
        base = bind(host, uid, nginx.url, client_certs["ec"])
        pids = processes(host)
        before = [peak_kib(p) for p in pids]
        got = 0
        with requests.get(base + nginx.serve_file("big.bin", size), stream=True, timeout=60) as response:
            assert response.status_code == 200
            assert response.headers["Content-Length"] == str(size)  # framed by length, as nginx sent it
            for piece in response.iter_content(1 << 20):
                got += len(piece)
        assert got == size
    assert_bounded(pids, before)


def test_a_large_chunked_upload_streams_in_bounded_memory(
    host: DevHost, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    base = bind(host, uid, mtls_backend.url, client_certs["rsa"])
    pids = processes(host)
    before = [peak_kib(p) for p in pids]
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:  # no Content-Length: requests sends it chunked
        for n in range(256):
            piece = bytes([n]) * MiB
            digest.update(piece)
            yield piece

    response = requests.post(base + "/upload", data=body(), timeout=120)
    assert response.status_code == 200, response.text
    seen = response.json()
    assert (seen["body_len"], seen["body_sha256"]) == (256 * MiB, digest.hexdigest())
    assert "content-length" not in {name.lower() for name, _ in seen["headers"]}  # still chunked
    assert_bounded(pids, before)


def test_a_chunked_upload_over_the_limit_is_cut_with_413(
    host: DevHost, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    base = bind(host, uid, mtls_backend.url, client_certs["rsa"])
    before = mtls_backend.requests

    def body() -> Iterator[bytes]:
        for _ in range(LIMIT // MiB + 8):
            yield b"z" * MiB

    response = requests.post(base + "/too-big", data=body(), timeout=120)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PayloadTooLarge"
    assert mtls_backend.requests == before  # the backend never got a whole request


def test_a_declared_length_over_the_limit_is_refused_before_forwarding(
    host: DevHost, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    base = bind(host, uid, mtls_backend.url, client_certs["rsa"])
    before = mtls_backend.requests
    response = requests.post(base, data=b"x" * (LIMIT + 1), timeout=120)
    assert response.status_code == 413 and mtls_backend.requests == before


EVENTS = {
    "chunked": [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"7\r\ndata: 1\r\n",
        b"7\r\ndata: 2\r\n",
        b"7\r\ndata: 3\r\n0\r\n\r\n",
    ],
    # small and framed by length: what the gateway would read whole, if it waited for it
    "length": [b"HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\ndata: 1", b"data: 2", b"data: 3"],
}


@pytest.mark.parametrize("framing", sorted(EVENTS))
def test_the_first_bytes_arrive_before_the_backend_sends_its_last(
    host: DevHost, root: CA, client_certs: dict[str, Issued], uid: str, framing: str
) -> None:
    script = [Answer(iter(EVENTS[framing]), pause=1.0)]
    with ScriptedBackend(root.issue_server(), root.cert_pem, script) as server:
        base = bind(host, uid, server.url, client_certs["ec"])
        started = time.monotonic()
        arrivals = []  # (seconds, byte): a byte at a time, so no client buffering hides when
        with requests.get(base + "/events", stream=True, timeout=30) as response:
            assert response.status_code == 200
            for byte in response.iter_content(1):
                arrivals.append((time.monotonic() - started, byte))
    assert b"".join(b for _, b in arrivals) == b"data: 1data: 2data: 3"
    assert arrivals[6][0] < 0.8  # all of "data: 1", long before the backend sends its last at 2 s
    assert arrivals[7][0] >= 0.9 and arrivals[-1][0] >= 1.9
