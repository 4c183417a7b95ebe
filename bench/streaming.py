"""Streaming through a gateway: MB/s and peak RSS growth of every gateway process for a large
download and a large upload (curl, the body never held by the client), and the time to the
first body byte from a backend that sends a first piece, then waits."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Iterable
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MIB = 1024 * 1024


def make_body_file(path: Path, size: int) -> Path:
    """A file of `size` bytes (sparse: it reads as zeros from the page cache, no disk work)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)
    return path


def children(pid: int) -> list[int]:
    """`pid` and every process whose parent it is (nginx's workers; the local host's workers)."""
    out = [pid]
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class PeakRss:
    """Peak RSS growth per process across a block: VmHWM is reset first (clear_refs 5), so the
    peak read after is the block's own; growth = that peak less VmRSS before."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, int] = {}

    def __enter__(self) -> PeakRss:
        for name, pid in self.pids.items():
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            self.before[name] = _status_kib(pid, "VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.growth_mib = {
            name: round((_status_kib(pid, "VmHWM") - self.before[name]) / 1024, 1)
            for name, pid in self.pids.items()
        }
        self.rss_mib = {name: round(_status_kib(pid, "VmRSS") / 1024, 1) for name, pid in self.pids.items()}


def curl(argv: Iterable[str], timeout: float) -> dict[str, float]:
    fmt = '{"status": %{http_code}, "down": %{size_download}, "up": %{size_upload}, "total_s": %{time_total}}'
    command = ["curl", "-s", "-S", "--noproxy", "*", "-o", "/dev/null", "-w", fmt, *argv]
    done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"curl {' '.join(argv)} failed: {done.stderr.decode(errors='replace')[:500]}")
    return dict(json.loads(done.stdout))


def transfer(kind: str, url: str, body_file: Path, size: int, pids: dict[str, int]) -> dict[str, Any]:
    """One download (GET url) or upload (POST body_file to url; the sink answers what it got)."""
    if kind == "download":
        argv = [url]
    else:
        # No Expect: 100-continue (curl's default for large bodies): the same request for both.
        argv = ["-X", "POST", "-H", "Expect:", "-H", "Content-Type: application/octet-stream"]
        argv += ["-T", str(body_file), url]
    with PeakRss(pids) as rss:
        out = curl(argv, timeout=600)
    moved = out["down"] if kind == "download" else out["up"]
    if out["status"] != 200 or moved != size:
        raise RuntimeError(f"{kind} {url}: status {out['status']}, {moved} of {size} bytes")
    return {
        "status": out["status"],
        "bytes": moved,
        "seconds": out["total_s"],
        "mb_per_s": round(size / MIB / out["total_s"], 1),
        "rss_growth_mib": rss.growth_mib,
        "rss_after_mib": rss.rss_mib,
        "max_rss_growth_mib": max(rss.growth_mib.values()),
    }


def upload_answer(url: str, size: int) -> dict[str, Any]:
    """A small upload read back: checks the sink got exactly what was sent through this proxy."""
    parts = urlsplit(url)
    conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=60)
    try:
        conn.request(
            "POST", parts.path, body=b"\0" * size, headers={"Content-Type": "application/octet-stream"}
        )
        response = conn.getresponse()
        return {"status": response.status, **json.loads(response.read())}
    finally:
        conn.close()


def first_byte(url: str) -> dict[str, float]:
    """A new connection, GET: ms to the response head and to the first body byte, and the whole."""
    parts = urlsplit(url)
    started = time.perf_counter()
    conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        head = time.perf_counter()
        first = response.read1(65536)
        body_at = time.perf_counter()
        rest = response.read()
        ended = time.perf_counter()
    finally:
        conn.close()
    if response.status != 200 or not first:
        raise RuntimeError(f"GET {url} -> {response.status} {first[:200]!r}")
    return {
        "head_ms": (head - started) * 1000,
        "first_byte_ms": (body_at - started) * 1000,
        "total_ms": (ended - started) * 1000,
        "bytes": len(first) + len(rest),
    }


def gateway_pids(host_pid: int, worker_pids: list[int]) -> dict[str, int]:
    return {"host": host_pid, **{f"worker {pid}": pid for pid in worker_pids}}


def nginx_pids(master_pid: int) -> dict[str, int]:
    return {("master" if pid == master_pid else f"worker {pid}"): pid for pid in children(master_pid)}


def measure_streaming(
    urls: dict[str, dict[str, str]],
    pids: dict[str, dict[str, int]],
    body_file: Path,
    size: int,
    rounds: int,
    first_byte_tries: int,
) -> dict[str, Any]:
    """`urls[target]` has `download`, `upload` and `slow`; targets take turns (order alternates)."""
    targets = list(urls)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {t: {"download": [], "upload": []} for t in targets}
    for r in range(rounds):
        order = targets if r % 2 == 0 else targets[::-1]
        for kind in ("download", "upload"):
            for target in order:
                runs[target][kind].append(transfer(kind, urls[target][kind], body_file, size, pids[target]))
    out: dict[str, Any] = {"bytes": size, "rounds": rounds}
    for target in targets:
        entry: dict[str, Any] = {}
        for kind, each in runs[target].items():
            entry[kind] = {
                "mb_per_s_median": statistics.median(x["mb_per_s"] for x in each),
                "mb_per_s_each": [x["mb_per_s"] for x in each],
                "max_rss_growth_mib": max(x["max_rss_growth_mib"] for x in each),
                "rss_growth_mib_each": [x["rss_growth_mib"] for x in each],
            }
        entry["upload_check"] = upload_answer(urls[target]["upload"], 1 * MIB)
        out[target] = entry
    fb: dict[str, list[dict[str, float]]] = {t: [] for t in targets}
    for i in range(first_byte_tries):
        for target in targets if i % 2 == 0 else targets[::-1]:
            fb[target].append(first_byte(urls[target]["slow"]))
    control: dict[str, list[dict[str, float]]] = {t: [] for t in targets}
    for i in range(first_byte_tries):  # the same call without the wait: the per-call floor
        for target in targets if i % 2 == 0 else targets[::-1]:
            control[target].append(first_byte(urls[target]["slow"].replace("wait=1", "wait=0")))
    for target in targets:
        each = fb[target]
        out[target]["first_byte"] = {
            "no_wait_first_byte_ms_median": statistics.median(r["first_byte_ms"] for r in control[target]),
            "first_byte_ms_median": statistics.median(r["first_byte_ms"] for r in each),
            "first_byte_ms_each": [round(r["first_byte_ms"], 2) for r in each],
            "head_ms_median": statistics.median(r["head_ms"] for r in each),
            "total_ms_median": statistics.median(r["total_ms"] for r in each),
        }
    return out
