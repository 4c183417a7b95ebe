"""The local host: function keys, listing and paging on a fresh store, health, unknown routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.api.client import Management, error_code
from tests.conftest import unique_prefix
from tests.services import Azurite, DevHost, app_environment, connection_string, free_port, wait_for

KEY = "local-test-function-key"


@pytest.fixture(scope="module")
def keyed_host(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    env = app_environment(azurite.connection_string, unique_prefix(), CERTGATE_LOCAL_FUNCTION_KEY=KEY)
    host = DevHost(env, log_path=tmp_path_factory.mktemp("keyed") / "devhost.log")
    yield host
    host.stop()


def test_function_key_enforced(keyed_host: DevHost) -> None:
    url = keyed_host.url
    assert requests.get(f"{url}/health", timeout=10).status_code == 200  # anonymous
    for headers, params in (({}, {}), ({"x-functions-key": "wrong"}, {}), ({}, {"code": "wrong"})):
        response = requests.get(f"{url}/management/apis", headers=headers, params=params, timeout=10)
        assert response.status_code == 401, (headers, params)
        assert error_code(response) == "Unauthorized"
    assert requests.get(f"{url}/gateway/x", timeout=10).status_code == 401
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


def test_several_worker_processes(azurite: Azurite, tmp_path: Path) -> None:
    env = app_environment(azurite.connection_string, unique_prefix(), CERTGATE_CONFIG_TTL_SECONDS="1")
    host = DevHost(env, log_path=tmp_path / "workers.log", args=("--workers", "2"))
    try:
        session = requests.Session()
        gateway = f"{host.url}/gateway/w/x"
        assert all(session.get(gateway, timeout=10).status_code == 404 for _ in range(10))
        mgmt = Management(host.url)
        assert mgmt.put_api("w", "w", f"http://127.0.0.1:{free_port()}").status_code == 201
        # whichever worker serves the next calls sees the new API within the TTL
        wait_for(
            lambda: all(requests.get(gateway, timeout=10).status_code == 502 for _ in range(10)),
            timeout=4,
            what="the API on every worker",
        )
        assert host.log_text().count("get_health: [GET] /health") == 2  # two workers indexed the app
    finally:
        host.stop()
    assert host.process.poll() is not None
