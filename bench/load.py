"""The load generator: wrk (Debian's), or a small threaded Python client when wrk is missing."""

from __future__ import annotations

import http.client
import re
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from bench.procs import Registry

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass
class LoadResult:
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # non-2xx/3xx plus socket errors
    tool: str
    output: str = ""  # the tool's own report

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot read the duration {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str, connections: int) -> LoadResult:
    percentiles = {int(p): _ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", out, re.M)}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not m or not percentiles:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests = int(m.group(1))
    seconds = _ms(m.group(2) + m.group(3)) / 1000
    lat = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    max_ms = _ms(lat.group(3)) if lat else float("nan")
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    return LoadResult(
        connections=connections,
        seconds=seconds,
        requests=requests,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=percentiles.get(50, float("nan")),
        p90_ms=percentiles.get(90, float("nan")),
        p99_ms=percentiles.get(99, float("nan")),
        max_ms=max_ms,
        errors=errors,
        tool="wrk",
        output=out.strip(),
    )


class Load:
    def __init__(self, registry: Registry, wrk: str | None) -> None:
        self._registry = registry
        self._wrk = wrk

    @property
    def tool(self) -> str:
        return "wrk" if self._wrk else "python"

    def start(self, url: str, connections: int, seconds: float) -> subprocess.Popen[bytes]:
        """A wrk run in the background (for profiling); read it with `finish`."""
        assert self._wrk, "background runs need wrk"
        argv = [self._wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
        argv += ["--latency", url]
        return self._registry.popen("wrk", argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def finish(self, process: subprocess.Popen[bytes], connections: int) -> LoadResult:
        out, _ = process.communicate()
        return parse_wrk(out.decode(errors="replace"), connections)

    def run(self, url: str, connections: int, seconds: float) -> LoadResult:
        if not self._wrk:
            return python_load(url, connections, seconds)
        process = self.start(url, connections, seconds)
        try:
            return self.finish(process, connections)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def python_load(url: str, connections: int, seconds: float) -> LoadResult:
    """Closed-loop keep-alive GETs from `connections` threads (the fallback: far weaker than wrk)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
                continue
            latencies[index].append((time.perf_counter() - started) * 1000)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    merged = sorted(x for chunk in latencies for x in chunk)

    def pct(p: float) -> float:
        return merged[min(len(merged) - 1, int(p / 100 * len(merged)))] if merged else float("nan")

    return LoadResult(
        connections=connections,
        seconds=elapsed,
        requests=len(merged),
        rps=len(merged) / elapsed,
        p50_ms=pct(50),
        p90_ms=pct(90),
        p99_ms=pct(99),
        max_ms=merged[-1] if merged else float("nan"),
        errors=sum(errors),
        tool="python",
    )
