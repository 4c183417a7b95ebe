"""The benchmark's management client, and storage calls counted across every worker process."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class StorageReading:
    total: int  # storage calls so far, summed over the workers
    health_calls: int  # /health calls made to read it (each reads the change marker once)


class Management:
    def __init__(self, base: str, workers: int) -> None:
        self.base = base
        self.workers = workers
        self._local = threading.local()
        self._seen: set[int] = set()  # worker pids that answered /health

    @property
    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.trust_env = False
            self._local.session = s
        return s

    def put(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.session.put(self.base + path, json=body, timeout=60)

    def must_put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.put(path, body)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"PUT {path} -> {r.status_code}: {r.text[:500]}")
        return dict(r.json())

    def storage_calls(self) -> StorageReading:
        """Each worker counts its own calls. The local host gives a call to the worker with the
        fewest open calls (the first on a tie), so /health is asked in concurrent bursts until
        every worker (told apart by `counters.process`) has answered. Each worker's highest
        reading counts: it includes the marker read of every /health call that worker served."""
        highest: dict[int, int] = {}
        calls = 0
        burst = 4 * self.workers
        with ThreadPoolExecutor(burst) as pool:
            while len(highest) < self.workers:
                if calls > 50 * self.workers:
                    raise RuntimeError(f"only {len(highest)} of {self.workers} workers answered /health")
                for process, value in pool.map(lambda _: self._counters(), range(burst)):
                    highest[process] = max(value, highest.get(process, 0))
                calls += burst
        return StorageReading(sum(highest.values()), calls)

    def worker_pids(self) -> list[int]:
        """The pids of the live workers (from /health's `counters.process`)."""
        self._seen.clear()
        self.storage_calls()  # returns once every worker has answered
        return sorted(self._seen)

    def _counters(self) -> tuple[int, int]:
        r = requests.get(self.base + "/health", headers={"Connection": "close"}, timeout=30)
        counters = r.json()["counters"]
        self._seen.add(int(counters["process"]))
        return int(counters["process"]), int(counters["storageCalls"])

    def storage_since(self, before: StorageReading) -> int:
        """Calls made since `before`, less those of the /health calls that read them now."""
        after = self.storage_calls()
        return after.total - before.total - after.health_calls


def api_body(path: str, backend_port: int, certificate_id: str) -> dict[str, Any]:
    return {
        "properties": {
            "path": path,
            "serviceUrl": f"https://localhost:{backend_port}",
            "credentials": {"certificateId": certificate_id},
            "tls": {"validateCertificateChain": True, "validateCertificateName": True},
        }
    }
