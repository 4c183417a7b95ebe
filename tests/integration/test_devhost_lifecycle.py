"""The local host's processes and deadlines: worker restarts, timeouts, stopping. Each test
starts its own host on the test-only app (tests/devhost_app); RULES is in test_devhost_rules.py."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.integration.devhost_support import pid_alive, serve_test_app, serving_pid, worker_pids
from tests.services import wait_for


def test_frontend_timeout(tmp_path: Path) -> None:
    host = serve_test_app(tmp_path / "devhost.log", CERTGATE_LOCAL_FRONTEND_TIMEOUT_SECONDS="1")
    try:
        started = time.monotonic()
        response = requests.get(f"{host.url}/sleep/3", timeout=10)
        assert response.status_code == 502 and response.json()["error"]["code"] == "FrontEndTimeout"
        assert time.monotonic() - started < 2.5
        # The function ran on (as in Azure): no worker restart, the worker still answers.
        assert requests.get(f"{host.url}/sleep/0.1", timeout=10).status_code == 200
        assert "restarting" not in host.log_text()
    finally:
        host.stop()


def test_function_timeout(tmp_path: Path) -> None:
    host = serve_test_app(tmp_path / "devhost.log", AzureFunctionsJobHost__functionTimeout="00:00:01")
    try:
        before = serving_pid(host.url)
        started = time.monotonic()
        response = requests.get(f"{host.url}/sleep/5", timeout=10)
        assert response.status_code == 500 and time.monotonic() - started < 4
        assert "Timeout value of 1.0 s exceeded by function 'sleep'" in host.log_line("Timeout value")
        host.log_line("restarting it")
        assert serving_pid(host.url) != before
    finally:
        host.stop()


def test_worker_restart_after_kill(tmp_path: Path) -> None:
    host = serve_test_app(tmp_path / "devhost.log")
    try:
        first = serving_pid(host.url)
        os.kill(first, signal.SIGKILL)
        host.log_line(f"worker {first} exited with code -9: restarting it")
        second = serving_pid(host.url)
        assert second != first and second in worker_pids(host)
        host.log_line(f"worker {second} ready")
    finally:
        host.stop()


def test_workers_are_children_and_exit_with_the_host(tmp_path: Path) -> None:
    host = serve_test_app(tmp_path / "devhost.log", workers=2)
    try:
        workers = worker_pids(host)
        assert len(workers) == 2
        response = requests.get(f"{host.url}/pid", timeout=10).json()
        assert response["pid"] in workers and response["ppid"] == host.process.pid
        os.kill(host.process.pid, signal.SIGKILL)  # no chance to stop its workers
        host.process.wait(10)
        wait_for(lambda: not any(pid_alive(p) for p in workers), timeout=10, what="workers exiting")
    finally:
        host.stop()


def _open_call(url: str, answers: list[int]) -> None:
    try:
        answers.append(requests.get(url, timeout=30).status_code)
    except requests.RequestException:
        answers.append(0)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_clean_stop(tmp_path: Path, signum: int) -> None:
    """With a call open (the streaming worker then ignores SIGTERM): the host cuts it after its
    grace period, SIGKILLs the worker after its own, and exits 0 in bounded time."""
    host = serve_test_app(tmp_path / "devhost.log", workers=2)
    try:
        workers = worker_pids(host)
        answers: list[int] = []
        mark = tmp_path / "call-open"
        caller = threading.Thread(target=_open_call, args=(f"{host.url}/sleep/60?mark={mark}", answers))
        caller.start()
        wait_for(mark.exists, timeout=10, what="the open call reaching the function")
        started = time.monotonic()
        if signum == signal.SIGINT:
            os.killpg(host.process.pid, signum)  # Ctrl-C reaches the whole process group
        else:
            host.process.send_signal(signum)
        try:
            assert host.process.wait(20) == 0
        except subprocess.TimeoutExpired:
            raise AssertionError(f"host still running 20 s after signal {signum}") from None
        assert time.monotonic() - started < 15
        assert not any(pid_alive(p) for p in workers)
        caller.join(15)
        assert answers and answers[0] != 200
        host.log_line("devhost.host: stopped")
    finally:
        host.stop()
