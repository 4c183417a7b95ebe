"""The gateway at run time: steady-state cost, propagation between instances, rotation without
a failed call, storage outage, concurrency and logs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.api.client import Management, error_code
from tests.gateway_fixtures import GATEWAY_TTL, gateway_env
from tests.services import Azurite, DevHost, wait_for
from tests.support.pki import CA, Issued, pfx_cryptography
from tests.support.tls_backends import EchoBackend

TTL = float(GATEWAY_TTL)


def storage_calls(host_url: str) -> int:
    return int(requests.get(f"{host_url}/health", timeout=10).json()["counters"]["storageCalls"])


def thumbprint_seen(url: str) -> str:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["client_cert"]["thumbprint"])


@pytest.fixture
def second_host(azurite: Azurite, trust_file: Path, gateway_prefix: str, tmp_path: Path) -> Iterator[DevHost]:
    """Another instance on the same storage as `gateway_host`."""
    host = DevHost(gateway_env(azurite, trust_file, gateway_prefix), log_path=tmp_path / "second.log")
    yield host
    host.stop()


def test_steady_state_costs_no_storage_call_and_no_handshake(
    gateway_host: DevHost, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    gw = Management(gateway_host.url)
    assert gw.upload(uid, pfx_cryptography(client_certs["rsa"], "pw"), "pw").status_code == 201
    assert gw.put_api(uid, uid, mtls_backend.url, uid).status_code == 201
    session = requests.Session()
    for _ in range(5):
        assert session.get(f"{gw.base}/gateway/{uid}/warm", timeout=10).status_code == 200
    handshakes, calls, started = mtls_backend.handshakes, storage_calls(gw.base), time.monotonic()
    for _ in range(200):
        assert session.get(f"{gw.base}/gateway/{uid}/steady", timeout=10).status_code == 200
    elapsed = time.monotonic() - started
    used = storage_calls(gw.base) - calls - 1  # the health check reads the marker itself
    assert mtls_backend.handshakes - handshakes <= 1  # another test may share the backend
    assert used <= elapsed / TTL + 1, (used, elapsed)  # one marker read per TTL, none per request


def test_changes_reach_other_instances_within_the_ttl(
    gateway_host: DevHost,
    second_host: DevHost,
    mtls_backend: EchoBackend,
    client_certs: dict[str, Issued],
    uid: str,
) -> None:
    a, b = Management(gateway_host.url), Management(second_host.url)
    assert a.upload(uid, pfx_cryptography(client_certs["rsa"], "pw"), "pw").status_code == 201
    assert a.put_api(uid, uid, mtls_backend.url + "/one", uid).status_code == 201
    assert requests.get(f"{b.base}/gateway/{uid}", timeout=10).json()["path"] == "/one"
    assert a.put_api(uid, uid, mtls_backend.url + "/two", uid).status_code == 200
    changed = time.monotonic()
    assert requests.get(f"{a.base}/gateway/{uid}", timeout=10).json()["path"] == "/two"  # at once
    wait_for(
        lambda: requests.get(f"{b.base}/gateway/{uid}", timeout=10).json()["path"] == "/two",
        timeout=TTL * 4,
        what="the change on the other instance",
    )
    assert time.monotonic() - changed <= TTL + 1.0
    assert a.delete(f"/management/apis/{uid}").status_code == 200
    wait_for(
        lambda: requests.get(f"{b.base}/gateway/{uid}", timeout=10).status_code == 404,
        timeout=TTL * 4,
        what="the delete on the other instance",
    )


def test_rotation_without_a_failed_call(
    gateway_host: DevHost, second_host: DevHost, root: CA, mtls_backend: EchoBackend, uid: str
) -> None:
    old, new = root.issue_client(f"old {uid}"), root.issue_client(f"new {uid}", kind="ec")
    a = Management(gateway_host.url)
    assert a.upload(uid, pfx_cryptography(old, "pw"), "pw").status_code == 201
    assert a.put_api(uid, uid, mtls_backend.url, uid).status_code == 201
    urls = [f"{gateway_host.url}/gateway/{uid}", f"{second_host.url}/gateway/{uid}"]
    failures: list[str] = []
    seen: dict[str, set[str]] = {u: set() for u in urls}
    stop = threading.Event()

    def call(url: str) -> None:
        session = requests.Session()
        while not stop.is_set():
            response = session.get(url, timeout=10)
            if response.status_code != 200:
                failures.append(f"{url}: {response.status_code} {response.text}")
            else:
                seen[url].add(response.json()["client_cert"]["thumbprint"])

    threads = [threading.Thread(target=call, args=(u,)) for u in urls for _ in range(2)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: all(old.thumbprint in s for s in seen.values()), timeout=10, what="old cert in use")
        assert a.upload(uid, pfx_cryptography(new, "pw2"), "pw2").status_code == 200
        rotated = time.monotonic()
        wait_for(
            lambda: all(new.thumbprint in s for s in seen.values()),
            timeout=TTL * 4,
            what="new cert on both instances",
        )
        assert time.monotonic() - rotated <= TTL + 1.5
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert failures == []


def test_hundreds_of_parallel_calls(
    gateway_host: DevHost, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    gw = Management(gateway_host.url)
    for kind in ("rsa", "ec"):
        assert gw.upload(f"{uid}-{kind}", pfx_cryptography(client_certs[kind], "pw"), "pw").status_code == 201
        assert (
            gw.put_api(f"{uid}-{kind}", f"{uid}/{kind}", mtls_backend.url, f"{uid}-{kind}").status_code == 201
        )

    def call(n: int) -> tuple[str, int, str]:
        kind = ("rsa", "ec")[n % 2]
        response = requests.post(f"{gw.base}/gateway/{uid}/{kind}/{n}", data=str(n).encode(), timeout=30)
        return kind, response.status_code, response.text

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(call, range(400)))
    assert [r for r in results if r[1] != 200] == []
    for n, (kind, _, text) in enumerate(results):
        assert client_certs[kind].thumbprint in text and f"/{n}" in text


def test_logs_name_the_call_but_no_secret(
    gateway_host: DevHost, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    gw = Management(gateway_host.url)
    assert gw.upload(uid, pfx_cryptography(client_certs["ec"], "log-pw-123"), "log-pw-123").status_code == 201
    assert gw.put_api(uid, uid, mtls_backend.url, uid).status_code == 201
    assert (
        requests.get(
            f"{gw.base}/gateway/{uid}?code=query-key-456",
            timeout=10,
            headers={"x-functions-key": "header-key-789"},
        ).status_code
        == 200
    )
    line = gateway_host.log_line(f"api={uid} ")
    log = gateway_host.log_text()
    assert f"cert=...{client_certs['ec'].thumbprint[-4:]}" in line and "status=200" in line
    assert "latency_ms=" in line
    for secret in ("log-pw-123", "query-key-456", "header-key-789", "PRIVATE KEY"):
        assert secret not in log


def test_storage_outage_serves_the_last_known_configuration(
    trust_file: Path, mtls_backend: EchoBackend, client_certs: dict[str, Issued], tmp_path: Path, uid: str
) -> None:
    from tests.conftest import unique_prefix

    storage = Azurite()
    host = DevHost(gateway_env(storage, trust_file, unique_prefix()), log_path=tmp_path / "outage.log")
    try:
        gw = Management(host.url)
        assert gw.upload(uid, pfx_cryptography(client_certs["rsa"], "pw"), "pw").status_code == 201
        assert gw.put_api(uid, uid, mtls_backend.url, uid).status_code == 201
        assert gw.put_api(f"{uid}-idle", f"{uid}-idle", mtls_backend.url, uid).status_code == 201
        assert thumbprint_seen(f"{host.url}/gateway/{uid}/before") == client_certs["rsa"].thumbprint
        storage.stop()
        time.sleep(TTL * 1.5)  # let the marker check come due while storage is down
        for n in range(3):  # new sub-paths of a resolved API need no storage either
            assert thumbprint_seen(f"{host.url}/gateway/{uid}/during/{n}") == client_certs["rsa"].thumbprint
        unresolved = requests.get(f"{host.url}/gateway/{uid}-idle", timeout=60)
        assert unresolved.status_code == 503 and error_code(unresolved) == "StorageUnavailable"
        assert host.log_line("serving the last known configuration")
    finally:
        host.stop()
        storage.stop()
