"""Each rule of the Functions host that the local host reproduces, checked over real processes
(the host, its azure-functions-runtime workers, the test-only app in tests/devhost_app).

RULES lists them; every rule has a test named after it, here or in test_devhost_lifecycle.py
and test_devhost_soak.py.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.integration.devhost_support import exchange, serve_test_app, status_of
from tests.services import DevHost

RULES = {
    "routes": "routes, methods and auth levels from the worker's index; literals case-insensitive, "
    "{id} and {*path} params decoded",
    "not_found_and_method_not_allowed": "404 and 405 answered by the host, in the contract's error shape",
    "function_keys": "401 without the key: x-functions-key or `code` in any case and percent-encoding; "
    "master key accepted at function level, only it at admin level; anonymous routes open",
    "body_limit_by_content_length": "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: 413 before the body is read",
    "body_limit_while_chunked_body_grows": "413 when a chunked body grows over the limit",
    "chunked_request_body_reaches_the_function": "a chunked request body reaches the function whole",
    "host_rewritten_and_forwarded_headers": "Host rewritten, X-Forwarded-* set, hop-by-hop dropped",
    "missing_or_doubled_host": "a request without exactly one Host: 400",
    "repeated_headers_and_set_cookie": "repeated response headers and every Set-Cookie come back as sent",
    "head_and_304_framing": "HEAD and 304 answers gain no Content-Length: 0 and no body",
    "slowloris": "64 silent connections do not stop a normal call",
    "bad_chunk_extensions": "chunk extensions with a bare LF or NUL are refused",
    "function_error_then_next_call": "a function error closes its connection (uvicorn): the next call works",
    "paths_the_workers_fastapi_owns": "/docs, /openapi.json...: FastAPI answers, no invocation waits",
    "frontend_timeout": "no answer within the front end's limit: 502, the function runs on",
    "function_timeout": "functionTimeout exceeded: 500 and the worker restarted",
    "worker_restart_after_kill": "a dead worker is restarted (logged)",
    "several_workers": "FUNCTIONS_WORKER_PROCESS_COUNT / --workers worker processes share the calls",
    "workers_are_children_and_exit_with_the_host": "workers are the host's children and exit when it dies",
    "streamed_calls_keep_the_host_flat": "soak: the host's memory stays flat (the worker's ~2 KB/call leak)",
    "clean_stop": "SIGTERM and Ctrl-C stop host and workers in bounded time, even with a call open",
}
FUNCTION_KEY = "fn-key+/="
MASTER_KEY = "master-key"
LIMIT = 65536


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    served = serve_test_app(
        tmp_path_factory.mktemp("rules") / "devhost.log",
        workers=2,
        CERTGATE_LOCAL_FUNCTION_KEY=FUNCTION_KEY,
        CERTGATE_LOCAL_MASTER_KEY=MASTER_KEY,
        FUNCTIONS_REQUEST_BODY_SIZE_LIMIT=str(LIMIT),
    )
    yield served
    served.stop()


def test_every_rule_is_checked() -> None:
    from tests.integration import test_devhost_lifecycle, test_devhost_soak

    names = set(globals()) | set(vars(test_devhost_lifecycle)) | set(vars(test_devhost_soak))
    assert [rule for rule in RULES if f"test_{rule}" not in names] == []


def test_routes(host: DevHost) -> None:
    body = requests.post(f"{host.url}/ECHO/a%20b%2Fc?x=1", data=b"hi", timeout=10).json()
    assert body["params"] == {"id": "a b/c"} and body["method"] == "POST" and body["query"] == "x=1"
    assert requests.get(f"{host.url}/files/a/b%2Fc/", timeout=10).json() == {"params": {"path": "a/b/c/"}}


def test_not_found_and_method_not_allowed(host: DevHost) -> None:
    for method, path, status, code in (
        ("GET", "/nothing", 404, "NotFound"),
        ("DELETE", "/echo/x", 405, "MethodNotAllowed"),
    ):
        response = requests.request(method, host.url + path, timeout=10)
        assert response.status_code == status
        assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


@pytest.mark.parametrize("name", ["code", "CODE", "Code", "%63ode", "%43ODE"])
def test_function_keys(host: DevHost, name: str) -> None:
    fn, admin = f"{host.url}/keyed/function", f"{host.url}/keyed/admin"
    encoded = "fn-key%2B%2F%3D"
    for url in (fn, admin):
        response = requests.get(url, timeout=10)
        assert response.status_code == 401 and response.json()["error"]["code"] == "Unauthorized"
        assert requests.get(f"{url}?{name}=wrong", timeout=10).status_code == 401
    assert requests.get(f"{fn}?{name}={encoded}", timeout=10).status_code == 200
    assert requests.get(f"{fn}?{name}={MASTER_KEY}", timeout=10).status_code == 200
    assert requests.get(fn, headers={"x-functions-key": FUNCTION_KEY}, timeout=10).status_code == 200
    assert requests.get(f"{admin}?{name}={encoded}", timeout=10).status_code == 401
    assert requests.get(admin, headers={"X-Functions-Key": FUNCTION_KEY}, timeout=10).status_code == 401
    assert requests.get(f"{admin}?{name}={MASTER_KEY}", timeout=10).status_code == 200
    assert requests.get(f"{host.url}/echo/open", timeout=10).status_code == 200  # anonymous


def test_body_limit_by_content_length(host: DevHost) -> None:
    # Only the headers are sent: the 413 must come without the body being read.
    head = f"POST /echo/x HTTP/1.1\r\nHost: h\r\nContent-Length: {LIMIT + 1}\r\nConnection: close\r\n\r\n"
    request = head.encode()
    started = time.monotonic()
    response = exchange(host.port, request, timeout=10)
    assert status_of(response) == 413 and b'"PayloadTooLarge"' in response
    assert time.monotonic() - started < 5
    ok = requests.post(f"{host.url}/echo/x", data=b"x" * LIMIT, timeout=10)
    assert ok.status_code == 200 and ok.json()["size"] == LIMIT


def test_body_limit_while_chunked_body_grows(host: DevHost) -> None:
    chunk = b"y" * 8192

    def body() -> Iterator[bytes]:
        for _ in range(LIMIT // len(chunk) + 4):
            yield chunk

    response = requests.post(f"{host.url}/echo/x", data=body(), timeout=10)
    assert response.status_code == 413 and response.json()["error"]["code"] == "PayloadTooLarge"


def test_chunked_request_body_reaches_the_function(host: DevHost) -> None:
    parts = [bytes([n]) * 1000 for n in range(40)]
    response = requests.post(f"{host.url}/echo/x", data=iter(parts), timeout=10)
    body = response.json()
    assert body["size"] == 40000 and body["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()
    assert ["transfer-encoding", "chunked"] in body["headers"]


def test_host_rewritten_and_forwarded_headers(host: DevHost) -> None:
    response = requests.get(
        f"{host.url}/echo/x",
        headers={
            "X-Forwarded-For": "10.0.0.1",
            "x-ms-invocation-id": "not-mine",
            "Host": "front.example:8443",
            "Connection": "keep-alive, X-Drop",
            "X-Drop": "hop-by-hop: named by Connection",
            "TE": "trailers",
        },
        timeout=10,
    )
    headers = dict(response.json()["headers"])
    assert headers["host"].startswith("127.0.0.1:") and headers["host"] != f"127.0.0.1:{host.port}"
    assert headers["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"
    assert headers["x-forwarded-host"] == "front.example:8443" and headers["x-forwarded-proto"] == "http"
    assert headers["x-ms-invocation-id"] != "not-mine"
    assert not {"x-drop", "te", "connection"} & set(headers)
    assert [n for n, _ in response.json()["headers"]].count("host") == 1


def test_missing_or_doubled_host(host: DevHost) -> None:
    for request in (
        b"GET /echo/x HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET /echo/x HTTP/1.0\r\n\r\n",
        b"GET /echo/x HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    ):
        assert status_of(exchange(host.port, request)) == 400, request


def test_repeated_headers_and_set_cookie(host: DevHost) -> None:
    raw = exchange(host.port, b"GET /repeated HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert [line for line in head if line.startswith(b"x-multi:")] == [b"x-multi: one", b"x-multi: two"]
    assert [line for line in head if line.startswith(b"set-cookie:")] == [
        b"set-cookie: a=b/c+d==; Path=/",
        b"set-cookie: id=1; Secure; HttpOnly; SameSite=None; Partitioned",
        b"set-cookie: empty=",
    ]


def test_head_and_304_framing(host: DevHost) -> None:
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(b'GET /resource HTTP/1.1\r\nHost: h\r\nIf-None-Match: "v1"\r\n\r\n')
        not_modified = sock.recv(65536)
        assert status_of(not_modified) == 304 and b"content-length" not in not_modified.lower()
        assert not_modified.endswith(b"\r\n\r\n")  # no body
        sock.sendall(b"HEAD /echo/x HTTP/1.1\r\nHost: h\r\n\r\n")
        head = sock.recv(65536)
        length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
        assert status_of(head) == 200 and len(length) == 1 and length[0].split(b":")[1].strip() != b"0"
        assert head.endswith(b"\r\n\r\n")
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: h\r\n\r\n")  # the connection is still in step
        assert status_of(sock.recv(65536)) == 200


def test_slowloris(host: DevHost) -> None:
    silent = [socket.create_connection(("127.0.0.1", host.port), timeout=10) for _ in range(64)]
    try:
        for n, sock in enumerate(silent):
            if n % 2:
                sock.sendall(b"GET /echo/x HTTP/1.1\r\nHost: h\r\nX-Slow: ")  # never finished
        started = time.monotonic()
        assert requests.get(f"{host.url}/echo/x", timeout=10).status_code == 200
        assert time.monotonic() - started < 2
    finally:
        for sock in silent:
            sock.close()


@pytest.mark.parametrize("extension", [b";a\nb", b";a\x00b", b"\n"])
def test_bad_chunk_extensions(host: DevHost, extension: bytes) -> None:
    request = (
        b"POST /echo/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5" + extension + b"\r\nhello\r\n0\r\n\r\n"
    )
    assert status_of(exchange(host.port, request)) in (0, 400)


def test_function_error_then_next_call(host: DevHost) -> None:
    with requests.Session() as session:
        for _ in range(3):
            assert session.get(f"{host.url}/fail", timeout=10).status_code == 500
            assert session.get(f"{host.url}/echo/x", timeout=10).status_code == 200
    assert "this function fails on purpose" in host.log_line("function 'fail'")


def test_paths_the_workers_fastapi_owns(host: DevHost) -> None:
    for _ in range(3):
        response = requests.get(f"{host.url}/docs", timeout=10)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    host.log_line("/docs is served by the worker's FastAPI itself")


def test_several_workers(host: DevHost) -> None:
    pids: list[int] = []

    def call() -> None:
        pids.append(requests.get(f"{host.url}/sleep/0.5", timeout=10).json()["pid"])

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert len(pids) == 4 and len(set(pids)) == 2  # both of the host's 2 workers answered
