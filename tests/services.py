"""Test services started by the suite itself: Azurite (from node_modules) and the local host.

A missing service fails the run; nothing here skips.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parent.parent
AZURITE = PROJECT / "node_modules" / ".bin" / "azurite"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
TEST_KEY_RING = "t1:" + base64.b64encode(b"k" * 32).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `check` until true; fail with `what` after `timeout` seconds (bounded, no bare sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout} s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill its whole process group (a host's workers too) after a bounded wait."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # started with start_new_session: pgid == pid
        process.wait(10)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def connection_string(blob_port: int, queue_port: int, table_port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob_port}/devstoreaccount1;"
        f"QueueEndpoint=http://127.0.0.1:{queue_port}/devstoreaccount1;"
        f"TableEndpoint=http://127.0.0.1:{table_port}/devstoreaccount1;"
    )


class Azurite:
    """An in-memory Azurite on free ports."""

    def __init__(self) -> None:
        if not AZURITE.exists():
            raise RuntimeError(f"{AZURITE} is missing: run scripts/setup (npm ci) first")
        self.blob_port, self.queue_port, self.table_port = free_port(), free_port(), free_port()
        self.process = subprocess.Popen(
            [
                str(AZURITE),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.blob_port),
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                str(self.queue_port),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(self.table_port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        wait_for(
            lambda: _port_open(self.blob_port) and _port_open(self.table_port), timeout=30, what="Azurite"
        )

    @property
    def connection_string(self) -> str:
        return connection_string(self.blob_port, self.queue_port, self.table_port)

    def stop(self) -> None:
        stop_process(self.process)


def app_environment(connection_string: str, prefix: str, **extra: str) -> dict[str, str]:
    return {
        "AzureWebJobsStorage": connection_string,
        "CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING,
        "CERTGATE_TABLE_PREFIX": prefix,
        "CERTGATE_BLOB_CONTAINER": f"{prefix.lower()}-pfx",
        **extra,
    }


class DevHost:
    """`python -m devhost` in a subprocess, as a user runs it."""

    def __init__(
        self, env: dict[str, str], *, log_path: Path, healthy: bool = True, args: tuple[str, ...] = ()
    ) -> None:
        self._healthy = healthy
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devhost", "--port", str(self.port), *args],
            cwd=PROJECT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._ready, timeout=60, what=f"devhost on {self.port}")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"devhost exited: {self.log_path.read_text()[-2000:]}")
        status = requests.get(self.url + "/health", timeout=15).status_code
        return status == 200 if self._healthy else status in (200, 503)

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_line(self, *fragments: str, timeout: float = 10) -> str:
        """The first log line holding every fragment, waiting for it (logs are written by a
        background thread of the host)."""
        found: list[str] = []

        def seen() -> bool:
            found[:] = [x for x in self.log_text().splitlines() if all(f in x for f in fragments)]
            return bool(found)

        wait_for(seen, timeout=timeout, what=f"log line with {fragments}")
        return found[0]

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()
