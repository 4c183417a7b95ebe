"""The local host: function keys, listing and paging on a fresh store, health, unknown routes."""

from __future__ import annotations

import os
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.api.client import Management, error_code
from tests.conftest import unique_prefix
from tests.services import Azurite, DevHost, app_environment, connection_string, free_port, wait_for

KEY = "local-test-master-key"  # management routes are admin level: the master key
FUNCTION_KEY = "local-test-function-key"  # what gateway callers get: never opens management


@pytest.fixture(scope="module")
def keyed_host(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    env = app_environment(
        azurite.connection_string,
        unique_prefix(),
        CERTGATE_LOCAL_FUNCTION_KEY=FUNCTION_KEY,
        CERTGATE_LOCAL_MASTER_KEY=KEY,
    )
    host = DevHost(env, log_path=tmp_path_factory.mktemp("keyed") / "devhost.log")
    yield host
    host.stop()


def test_function_key_enforced(keyed_host: DevHost) -> None:
    url = keyed_host.url
    assert requests.get(f"{url}/health", timeout=10).status_code == 200  # anonymous
    refused = (
        ({}, {}),
        ({"x-functions-key": "wrong"}, {}),
        ({}, {"code": "wrong"}),
        ({"x-functions-key": FUNCTION_KEY}, {}),
        ({}, {"CODE": FUNCTION_KEY}),
    )
    for headers, params in refused:
        response = requests.get(f"{url}/management/apis", headers=headers, params=params, timeout=10)
        assert response.status_code == 401, (headers, params)
        assert error_code(response) == "Unauthorized"
    assert requests.get(f"{url}/gateway/x", timeout=10).status_code == 401
    for key in (FUNCTION_KEY, KEY):  # past the key check: no API there
        assert requests.get(f"{url}/gateway/x", params={"Code": key}, timeout=10).status_code == 404
    assert (
        requests.get(f"{url}/management/apis", headers={"x-functions-key": KEY}, timeout=10).status_code
        == 200
    )
    assert requests.get(f"{url}/management/apis", params={"code": KEY}, timeout=10).status_code == 200


def test_listing_and_paging(keyed_host: DevHost) -> None:
    mgmt = Management(keyed_host.url, KEY)
    ids = ["b", "a", "C", "a-1", "z.9", "0"]
    for api_id in ids:
        assert mgmt.put_api(api_id, f"p{api_id}", "https://x.example").status_code == 201
    seen: list[str] = []
    url: str | None = f"{keyed_host.url}/management/apis?$top=4&api-version=2024-05-01"
    pages = 0
    while url:
        body = mgmt.session.get(url, timeout=10).json()
        assert body["count"] == len(ids)
        seen += [item["name"] for item in body["value"]]
        url = body.get("nextLink")
        if url:
            assert url.startswith(keyed_host.url + "/management/apis?")
        pages += 1
    assert pages == 2
    assert seen == sorted(ids)  # ordinal
    whole = mgmt.get("/management/apis").json()
    assert "nextLink" not in whole and [i["name"] for i in whole["value"]] == sorted(ids)
    assert mgmt.get("/management/certificates").json() == {"value": [], "count": 0}


def test_health_and_unknown_routes(keyed_host: DevHost) -> None:
    health = requests.get(f"{keyed_host.url}/health", timeout=10)
    assert health.json()["status"] == "healthy"
    assert requests.get(f"{keyed_host.url}/nothing", timeout=10).status_code == 404
    response = requests.post(
        f"{keyed_host.url}/management/apis", headers={"x-functions-key": KEY}, timeout=10
    )
    assert response.status_code == 405


def test_storage_outage_answers_503(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = app_environment(connection_string(port, port, port), unique_prefix())
    host = DevHost(env, log_path=tmp_path / "devhost.log", healthy=False)
    try:
        health = requests.get(f"{host.url}/health", timeout=30)
        assert health.status_code == 503
        assert health.json()["status"] == "degraded" and "unreachable" in health.json()["storage"]
        response = requests.get(f"{host.url}/management/apis", timeout=30)
        assert response.status_code == 503 and error_code(response) == "StorageUnavailable"
        assert "Traceback" not in response.text
    finally:
        host.stop()


def test_several_worker_processes_see_each_others_writes_at_once(azurite: Azurite, tmp_path: Path) -> None:
    """Two workers of one host share a change beacon: with a TTL far longer than the test, a
    write served by either worker is seen by both at the next request. Each gateway call logs
    one line with the worker's pid and the API id, so the log shows who answered what."""
    env = app_environment(azurite.connection_string, unique_prefix(), CERTGATE_CONFIG_TTL_SECONDS="300")
    host = DevHost(env, log_path=tmp_path / "workers.log", args=("--workers", "2"))
    try:
        workers = _children(host.process.pid)
        assert len(workers) == 2
        gateway = f"{host.url}/gateway/w/x"
        mgmt = Management(host.url)
        closed = f"http://127.0.0.1:{free_port()}"

        def answers(api_id: str) -> list[int]:
            pattern = rf" (\d+) shared\.gateway\.forwarding: gateway api={api_id} "
            return [int(pid) for pid in re.findall(pattern, host.log_text())]

        def call_until_both_workers_answered(api_id: str) -> int:
            calls = 0

            def both() -> bool:
                nonlocal calls
                calls += 1
                assert requests.get(gateway, timeout=10).status_code == 502  # never a stale 404
                return set(answers(api_id)) == workers

            wait_for(both, timeout=20, what=f"calls to {api_id} answered by each worker")
            return calls

        assert all(requests.get(gateway, timeout=10).status_code == 404 for _ in range(10))  # cached
        assert mgmt.put_api("w1", "w", closed).status_code == 201
        first = call_until_both_workers_answered("w1")
        assert mgmt.delete("/management/apis/w1").status_code == 200
        assert mgmt.put_api("w2", "w", closed).status_code == 201
        second = call_until_both_workers_answered("w2")
        wait_for(lambda: len(answers("w2")) == second, timeout=5, what="every line written")
        assert len(answers("w1")) == first  # no call after the change was served by the old route
    finally:
        host.stop()
    assert host.process.poll() is not None


def _children(pid: int) -> set[int]:
    return {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == pid}


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def test_workers_exit_when_the_host_process_is_killed(azurite: Azurite, tmp_path: Path) -> None:
    host = DevHost(app_environment(azurite.connection_string, unique_prefix()), log_path=tmp_path / "h.log")
    try:
        workers = _children(host.process.pid)
        assert len(workers) == 1
        os.kill(host.process.pid, signal.SIGKILL)  # no chance to stop its workers itself
        host.process.wait(10)
        wait_for(
            lambda: not any(Path(f"/proc/{w}").exists() for w in workers), timeout=10, what="workers gone"
        )
        wait_for(lambda: not _port_open(host.port), timeout=5, what="the port released")
    finally:
        host.stop()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
