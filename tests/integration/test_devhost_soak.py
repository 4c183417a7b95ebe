"""Soak: memory over thousands of streamed calls through the local host (bounded: 3,000 calls).

The host's memory stays flat. The worker (azure-functions-runtime's HTTP streams coordinator)
keeps one context per invocation, about 2 KB a call: the figure docs/devhost.md gives. If the
worker's growth drops to nothing, the runtime fixed it: update docs/devhost.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import requests

from tests.integration.devhost_support import rss_kib, serve_test_app, worker_pids

WARM_UP = 500
CALLS = 3000


def test_streamed_calls_keep_the_host_flat(tmp_path: Path) -> None:
    host = serve_test_app(tmp_path / "devhost.log")
    try:
        (worker,) = worker_pids(host)
        with requests.Session() as session:

            def calls(count: int) -> None:
                for _ in range(count):
                    response = session.get(f"{host.url}/stream/20", timeout=10)
                    assert response.status_code == 200 and response.content.endswith(b"19\n")

            calls(WARM_UP)
            host_before, worker_before = rss_kib(host.process.pid), rss_kib(worker)
            started = time.monotonic()
            calls(CALLS)
            elapsed = time.monotonic() - started
        host_growth = rss_kib(host.process.pid) - host_before
        worker_per_call = (rss_kib(worker) - worker_before) / CALLS
        growth = f"host +{host_growth} KiB, worker {worker_per_call:.2f} KiB/call"
        print(f"{CALLS} calls in {elapsed:.1f} s: {growth}")
        assert host_growth < 1024, f"the host grew {host_growth} KiB over {CALLS} calls"
        assert 0.5 < worker_per_call < 4, f"the worker's growth per call changed: {worker_per_call:.2f} KiB"
    finally:
        host.stop()
