"""Helpers for the local host's tests: a host serving the test-only app (tests/devhost_app), and
raw socket exchanges for what an HTTP client library would not send."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import requests

from tests.services import PROJECT, DevHost, wait_for

TEST_APP = PROJECT / "tests" / "devhost_app"


def serve_test_app(log_path: Path, *, workers: int = 1, **env: str) -> DevHost:
    return DevHost(
        {"CERTGATE_LOCAL_FUNCTION_KEY": "", "CERTGATE_LOCAL_MASTER_KEY": "", **env},
        log_path=log_path,
        args=("--app-dir", str(TEST_APP), "--workers", str(workers)),
    )


def exchange(port: int, request: bytes, *, timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.") else 0


def worker_pids(host: DevHost) -> set[int]:
    """The host's child processes (its workers), from /proc."""
    children = Path(f"/proc/{host.process.pid}/task/{host.process.pid}/children")
    return {int(p) for p in children.read_text().split()} if children.exists() else set()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def serving_pid(url: str, *, timeout: float = 30) -> int:
    """The pid of the worker that answers, waiting (bounded) while workers restart."""
    found: list[int] = []

    def answered() -> bool:
        response = requests.get(f"{url}/pid", timeout=5)
        if response.status_code == 200:
            found.append(int(response.json()["pid"]))
        return bool(found)

    wait_for(answered, timeout=timeout, what="a worker's answer")
    return found[0]
