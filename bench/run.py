"""certgate benchmark: certgate's gateway against an nginx mTLS reverse proxy (the anchor), both
in front of the same nginx mTLS backend, driven alternately by the same load generator.

    .venv/bin/python -m bench.run [--seconds N] [--quick] [--profile] [--apis N]

Prints a table and writes bench/results/latest.json (and profile.svg with --profile)."""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench import profile as spy
from bench.inprocess import run_inprocess
from bench.load import Load
from bench.management import Management, api_body
from bench.pki import PFX_PASSWORD, make_pki
from bench.procs import AccessLog, Registry, anchor, backend, ensure_tool, group_cpu_seconds, py_backend
from bench.seed import seed_apis
from bench.streaming import gateway_pids, make_body_file, measure_streaming, nginx_pids

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "bench" / "results"
GATEWAY_PATH = "/gateway/bench/anything"
TTL_SECONDS = "5"
MIB = 1024 * 1024
SWEEP_CONNECTIONS = (1, 4, 16, 64)
SLOW_PATH = "/gateway/py/slow?wait=0.02"  # a small answer after 20 ms


@dataclass(frozen=True)
class Plan:
    seconds: float  # one measured c16 window
    latency_seconds: float  # one measured c1 window
    warmup: float
    rounds: int
    inprocess_requests: int
    scale_apis: int
    scale_budget: float  # seconds allowed for creating the scale APIs
    scale_seconds: float
    profile_seconds: int
    probe_apis: int  # APIs created at once bound to one certificate (the contention probe)
    stream_bytes: int  # the streaming download and upload
    stream_rounds: int
    first_byte_tries: int
    sweep_seconds: float  # one window of the 1-worker concurrency sweep


def plan_for(args: argparse.Namespace) -> Plan:
    stream = {"stream_bytes": args.stream_mib * MIB}
    if args.quick:
        seconds = args.seconds or 2.0
        budget = args.scale_budget if args.scale_budget is not None else 5.0
        return Plan(
            seconds=seconds, latency_seconds=max(1.0, seconds / 2), warmup=1.0, rounds=2,
            inprocess_requests=300, scale_apis=args.apis or 1000, scale_budget=budget,
            scale_seconds=2.0, profile_seconds=5, probe_apis=48,
            stream_rounds=1, first_byte_tries=3, sweep_seconds=2.0, **stream,
        )  # fmt: skip
    seconds = args.seconds or 8.0
    budget = args.scale_budget if args.scale_budget is not None else 35.0
    return Plan(
        seconds=seconds, latency_seconds=max(2.0, seconds / 2), warmup=3.0, rounds=3,
        inprocess_requests=1000, scale_apis=args.apis or 10000, scale_budget=budget,
        scale_seconds=4.0, profile_seconds=10, probe_apis=96,
        stream_rounds=2, first_byte_tries=7, sweep_seconds=5.0, **stream,
    )  # fmt: skip


def stream_urls(base: str) -> dict[str, str]:
    """The same three calls through either gateway (the anchor proxies the same paths)."""
    return {
        "download": base + "/gateway/bench/big.bin",
        "upload": base + "/gateway/py/upload",
        "slow": base + "/gateway/py/slow?wait=1",
    }


def py_api_body(port: int) -> dict[str, Any]:
    return api_body("py", port, "bench-cert-0")


# --- certgate (Azurite + devhost from tests.services) ------------------------------------------


def start_azurite(registry: Registry) -> Any:
    from tests.services import Azurite

    class BenchAzurite(Azurite):
        def __init__(self) -> None:
            registry.add("azurite", self.stop_if_started)  # before start: a failed start is cleaned too
            super().__init__()

        def stop_if_started(self) -> None:
            process = getattr(self, "process", None)
            if process is not None and process.poll() is None:
                self.stop()

    return BenchAzurite()


def start_devhost(registry: Registry, env: dict[str, str], log_path: Path, workers: int = 1) -> Any:
    from tests.services import DevHost

    class BenchDevHost(DevHost):
        def __init__(self) -> None:
            registry.add("devhost", self.stop_if_started)
            super().__init__(env, log_path=log_path, args=("--workers", str(workers)))

        def stop_if_started(self) -> None:
            process = getattr(self, "process", None)
            if process is not None and process.poll() is None:
                self.stop()

    return BenchDevHost()


# --- measurement --------------------------------------------------------------------------------


class Bench:
    def __init__(
        self,
        load: Load,
        backend_log: AccessLog,
        mgmt: Management,
        urls: dict[str, str],
        groups: dict[str, int],
    ):
        self.groups = groups  # process groups whose CPU time each window reports
        self.load = load
        self.log = backend_log
        self.mgmt = mgmt
        self.urls = urls

    def window(self, target: str, connections: int, seconds: float, during: Any = None) -> dict[str, Any]:
        """One measured run, with the backend's new connections and certgate's storage calls."""
        storage_before = self.mgmt.storage_calls() if target == "certgate" else None
        offset = self.log.offset()
        cpu_before = group_cpu_seconds(self.groups)
        if during is None:
            result = self.load.run(self.urls[target], connections, seconds)
        else:
            process = self.load.start(self.urls[target], connections, seconds)
            try:
                during()
                result = self.load.finish(process, connections)
            finally:
                if process.poll() is None:
                    process.kill()
        time.sleep(0.05)  # the backend writes its last log lines
        backend = self.log.window(offset, self.log.offset())
        out: dict[str, Any] = {"target": target, **result.as_dict(), "backend": backend}
        n = max(result.requests, 1)
        cpu_after = group_cpu_seconds(self.groups)
        cpu = {k: cpu_after[k] - cpu_before[k] for k in cpu_before}
        ours = sum(v for k, v in cpu.items() if k != "machine" and not k.endswith("_system"))
        cpu["others_on_machine"] = max(0.0, cpu["machine"] - ours)  # the machine is shared
        out["cpu_seconds"] = {k: round(v, 2) for k, v in cpu.items()}
        out["cpu_ms_per_request"] = {k: round(1000 * v / n, 3) for k, v in cpu.items()}
        out["handshakes_per_1000"] = 1000 * backend["new_connections"] / max(backend["requests"], 1)
        if storage_before is not None:
            calls = self.mgmt.storage_since(storage_before)
            out["storage_calls"] = calls
            out["storage_per_1000"] = 1000 * calls / n
        return out


def median(values: list[float]) -> float:
    ordered = sorted(values)
    k = len(ordered)
    return (ordered[k // 2] + ordered[(k - 1) // 2]) / 2 if k else float("nan")


def aggregate(windows: list[dict[str, Any]]) -> dict[str, Any]:
    req = sum(w["requests"] for w in windows)
    out: dict[str, Any] = {
        "windows": len(windows),
        "requests": req,
        "rps_median": median([w["rps"] for w in windows]),
        "rps_each": [round(w["rps"], 1) for w in windows],
        "p50_ms_median": median([w["p50_ms"] for w in windows]),
        "p99_ms_median": median([w["p99_ms"] for w in windows]),
        "max_ms_max": max(w.get("max_ms", float("nan")) for w in windows),
        "errors": sum(w["errors"] for w in windows),
        "backend_new_connections": sum(w["backend"]["new_connections"] for w in windows),
        "backend_requests": sum(w["backend"]["requests"] for w in windows),
    }
    out["handshakes_per_1000"] = 1000 * out["backend_new_connections"] / max(out["backend_requests"], 1)
    seconds = sum(w["seconds"] for w in windows)
    cpu = {k: sum(w["cpu_seconds"].get(k, 0.0) for w in windows) for k in windows[0]["cpu_seconds"]}
    out["cpu_ms_per_request"] = {k: round(1000 * v / max(req, 1), 3) for k, v in cpu.items()}
    out["cpu_cores_busy"] = {k: round(v / seconds, 2) for k, v in cpu.items()}
    if "storage_calls" in windows[0]:
        calls = sum(w["storage_calls"] for w in windows)
        out["storage_calls"] = calls
        out["storage_each"] = [w["storage_calls"] for w in windows]
        out["storage_per_1000"] = 1000 * calls / max(req, 1)
    return out


def create_apis(
    mgmt: Management,
    backend_port: int,
    indices: range,
    budget: float,
    *,
    threads: int = 16,
    certificates: int = 10,
    name: str = "scale",
) -> dict[str, Any]:
    """PUT APIs `name-i` (bound to bench-cert-(i % certificates)) with a thread pool; stop at the
    time budget. Returns counts, timing, and the ids that were created."""
    started = time.monotonic()
    deadline = started + budget
    created = 0
    failures: dict[str, int] = {}
    examples: list[str] = []
    stop = threading.Event()
    done: set[int] = set()

    def one(i: int) -> tuple[int, bool, str]:
        if stop.is_set() or time.monotonic() > deadline:
            stop.set()
            return i, False, "skipped"
        r = mgmt.put(
            f"/management/apis/{name}-{i:05d}",
            api_body(f"{name}/a{i:05d}", backend_port, f"bench-cert-{i % certificates}"),
        )
        if r.status_code in (200, 201):
            return i, True, ""
        return i, False, f"HTTP {r.status_code}: {r.text[:300]}"

    skipped = 0
    storage_before = mgmt.storage_calls()
    pool = ThreadPoolExecutor(threads)
    try:
        futures = [pool.submit(one, i) for i in indices]
        for future in as_completed(futures):
            i, ok, why = future.result()
            if ok:
                created += 1
                done.add(i)
            elif why == "skipped":
                skipped += 1
            else:
                key = why.split(":", 1)[0] + ":" + why.split('"code": "', 1)[-1].split('"', 1)[0]
                failures[key] = failures.get(key, 0) + 1
                if len(examples) < 5:
                    examples.append(why)
    finally:
        stop.set()  # on Ctrl-C or an error: queued calls return at once
        pool.shutdown(wait=True, cancel_futures=True)
    elapsed = time.monotonic() - started
    calls = mgmt.storage_since(storage_before)
    return {
        "requested": len(indices),
        "certificates": certificates,
        "storage_calls_per_api": calls / max(created + sum(failures.values()), 1),
        "created_ids": sorted(done),
        "created": created,
        "failed": sum(failures.values()),
        "failures_by_kind": failures,
        "failure_examples": examples,
        "not_attempted_time_budget": skipped,
        "seconds": elapsed,
        "per_second": created / elapsed if elapsed else 0.0,
        "threads": threads,
    }


def single_gets(url: str, n: int) -> list[float]:
    s = requests.Session()
    s.trust_env = False
    out = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            r = s.get(url, timeout=60)
            out.append(round((time.perf_counter() - started) * 1000, 2))
            if r.status_code != 200:
                raise RuntimeError(f"GET {url} -> {r.status_code}: {r.text[:300]}")
    finally:
        s.close()
    return out


def concurrency_sweep(
    registry: Registry,
    nginx: str,
    tmp: Path,
    pki: Any,
    back: Any,
    py_port: int,
    env: dict[str, str],
    main: Bench,
    plan: Plan,
) -> dict[str, Any]:
    """Small calls at 1, 4, 16 and 64 connections through a 1-worker local host and a 1-worker
    anchor (what Flex Consumption's perInstanceConcurrency is chosen by): to the nginx backend
    (answers at once), and to the Python backend answering after 20 ms, as a remote one would."""
    host = start_devhost(registry, env, tmp / "devhost-1.log", 1)
    front = anchor(registry, nginx, tmp / "anchor-1", pki, back.port, py_port, 1)
    try:
        groups = {**main.groups, "devhost": host.process.pid, "nginx_anchor": front.process.pid}
        bases = {"certgate": host.url, "nginx": f"http://127.0.0.1:{front.port}"}
        urls = {target: base + GATEWAY_PATH for target, base in bases.items()}
        urls |= {f"{target}_20ms": base + SLOW_PATH for target, base in bases.items()}
        bench = Bench(main.load, main.log, Management(host.url, 1), urls, groups)
        out: dict[str, Any] = {"workers": 1, "seconds": plan.sweep_seconds} | {t: {} for t in urls}
        for target in ("certgate", "nginx"):
            bench.load.run(urls[target], 16, plan.warmup)
        for connections in SWEEP_CONNECTIONS:
            for target in urls:
                w = bench.window(target, connections, plan.sweep_seconds)
                out[target][str(connections)] = {
                    k: w[k] for k in ("rps", "p50_ms", "p99_ms", "max_ms", "errors", "handshakes_per_1000")
                } | {"cpu_ms_per_request": w["cpu_ms_per_request"]}
        out["devhost_warnings"] = [
            line for line in host.log_text().splitlines() if " ERROR " in line or "Traceback" in line
        ][:20]
        return out
    finally:
        host.stop()


# --- the run ------------------------------------------------------------------------------------


def run(args: argparse.Namespace, registry: Registry, tmp: Path) -> dict[str, Any]:
    plan = plan_for(args)
    t0 = time.monotonic()
    phases: dict[str, float] = {}

    phase_ends: list[tuple[float, str]] = []

    def phase(name: str) -> None:
        phase_ends.append((time.time(), name[:60]))
        phases[name] = round(time.monotonic() - t0, 1)
        print(f"[{phases[name]:6.1f}s] {name}", flush=True)

    nginx = ensure_tool("nginx", "nginx-light")
    if nginx is None:
        raise RuntimeError("nginx is missing and cannot be installed (apt-get install nginx-light)")
    wrk = ensure_tool("wrk", "wrk")
    load_tool = Load(registry, wrk)
    phase(f"tools: nginx={nginx} wrk={wrk or 'missing: Python load generator'}")

    pki = make_pki(tmp)
    phase("PKI made")
    back = backend(registry, nginx, tmp / "backend", pki)
    big = make_body_file(tmp / "backend" / "www" / "big.bin", plan.stream_bytes)  # download and upload
    py_process, py_port = py_backend(registry, tmp / "pybackend", pki)
    front = anchor(registry, nginx, tmp / "anchor", pki, back.port, py_port, args.workers)
    phase(f"nginx backend on {back.port}, python backend on {py_port}, anchor on {front.port}")

    from tests.services import app_environment

    azurite = start_azurite(registry)
    prefix = f"bench{os.getpid()}t{int(time.time()) % 100000}"
    env = app_environment(
        azurite.connection_string,
        prefix,
        REQUESTS_CA_BUNDLE=str(pki.ca_pem),
        SSL_CERT_FILE=str(pki.ca_pem),
        CERTGATE_CONFIG_TTL_SECONDS=TTL_SECONDS,
        CERTGATE_LOCAL_FUNCTION_KEY="",
        # The streaming upload is over both 100 MiB limits (the host's and the gateway's), and
        # the backend timeout runs from the first byte sent to the answer's head.
        FUNCTIONS_REQUEST_BODY_SIZE_LIMIT=str(plan.stream_bytes + MIB),
        CERTGATE_MAX_GATEWAY_BODY_BYTES=str(plan.stream_bytes + MIB),
        CERTGATE_BACKEND_TIMEOUT_SECONDS="300",
    )
    host = start_devhost(registry, env, tmp / "devhost.log", args.workers)
    phase(f"azurite + devhost on {host.port} (pid {host.process.pid})")

    mgmt = Management(host.url, args.workers)
    pfx = base64.b64encode(pki.client_pfx.read_bytes()).decode()
    for i in range(10):
        mgmt.must_put(
            f"/management/certificates/bench-cert-{i}",
            {"properties": {"data": pfx, "password": PFX_PASSWORD}},
        )
        path = "bench" if i == 0 else f"bench{i}"
        mgmt.must_put(
            f"/management/apis/{'bench' if i == 0 else f'bench-{i}'}",
            api_body(path, back.port, f"bench-cert-{i}"),
        )
    mgmt.must_put("/management/apis/py", py_api_body(py_port))
    phase("10 certificates + 11 APIs stored")

    certgate_url = host.url + GATEWAY_PATH
    anchor_url = f"http://127.0.0.1:{front.port}{GATEWAY_PATH}"
    for url in (certgate_url, anchor_url):
        check = requests.get(url, timeout=30)
        if check.status_code != 200 or check.text != "ok":
            raise RuntimeError(f"GET {url} -> {check.status_code}: {check.text[:500]}")
    groups = {
        "devhost": host.process.pid,
        "azurite": azurite.process.pid,
        "nginx_backend": back.process.pid,
        "python_backend": py_process.pid,
        "nginx_anchor": front.process.pid,
        "bench_and_wrk": 0,  # getrusage: this process and the wrk runs it has reaped
    }
    urls = {"certgate": certgate_url, "nginx": anchor_url}
    bench = Bench(load_tool, AccessLog(back.access_log), mgmt, urls, groups)

    for target in ("certgate", "nginx"):
        bench.load.run(bench.urls[target], 16, plan.warmup)
        bench.load.run(bench.urls[target], 1, max(1.0, plan.warmup / 2))
    phase("warm-up done")

    windows: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in range(plan.rounds):
        order = ("certgate", "nginx") if r % 2 == 0 else ("nginx", "certgate")
        for target in order:
            windows.setdefault((target, 16), []).append(bench.window(target, 16, plan.seconds))
        for target in order:
            windows.setdefault((target, 1), []).append(bench.window(target, 1, plan.latency_seconds))
        phase(
            f"round {r + 1}/{plan.rounds}: c16 certgate {windows[('certgate', 16)][-1]['rps']:.0f} req/s, "
            f"nginx {windows[('nginx', 16)][-1]['rps']:.0f} req/s"
        )
    summary = {f"{t}_c{c}": aggregate(w) for (t, c), w in windows.items()}

    streaming = measure_streaming(
        {
            "certgate": stream_urls(host.url),
            "nginx": stream_urls(f"http://127.0.0.1:{front.port}"),
        },
        {
            "certgate": gateway_pids(host.process.pid, mgmt.worker_pids()),
            "nginx": nginx_pids(front.process.pid),
        },
        big,
        plan.stream_bytes,
        plan.stream_rounds,
        plan.first_byte_tries,
    )
    cs, ns = streaming["certgate"], streaming["nginx"]
    phase(
        f"streaming {plan.stream_bytes // MIB} MiB: download {cs['download']['mb_per_s_median']:.0f} vs "
        f"{ns['download']['mb_per_s_median']:.0f} MB/s, upload {cs['upload']['mb_per_s_median']:.0f} vs "
        f"{ns['upload']['mb_per_s_median']:.0f} MB/s, first byte "
        f"{cs['first_byte']['first_byte_ms_median']:.1f} vs {ns['first_byte']['first_byte_ms_median']:.1f} ms"
    )

    inproc = run_inprocess(
        env,
        f"https://localhost:{back.port}",
        total=plan.inprocess_requests,
        log=bench.log,
        download_path="/gateway/bench/big.bin",
    )
    phase(f"in-process: forwarder/bare mean ratio {inproc['mean_ratio']:.2f}")

    scale: dict[str, Any] = {"before_apis": 10}
    scale["before_c1"] = bench.window("certgate", 1, plan.scale_seconds)
    # Contention probe: many APIs created at once, all bound to one certificate.
    probe = create_apis(mgmt, back.port, range(plan.probe_apis), 60, certificates=1, name="probe")
    probe.pop("created_ids")
    scale["same_certificate_probe"] = probe
    phase(
        f"probe: {probe['created']}/{probe['requested']} APIs on one certificate, 16 threads, "
        f"{probe['failed']} failed {probe['failures_by_kind'] or ''}"
    )
    target = max(0, plan.scale_apis - 10 - probe["created"])
    creation = create_apis(mgmt, back.port, range(target), plan.scale_budget)
    missing = sorted(set(range(target)) - set(creation.pop("created_ids")))
    scale["creation"] = creation
    phase(
        f"created {creation['created']}/{creation['requested']} APIs via the management API in "
        f"{creation['seconds']:.1f} s ({creation['per_second']:.0f}/s, {creation['failed']} failed)"
    )
    if missing and not args.no_seed:
        seeded = seed_apis(
            env,
            [
                (f"scale-{i:05d}", api_body(f"scale/a{i:05d}", back.port, f"bench-cert-{i % 10}"))
                for i in missing
            ],
        )
        scale["seeded"] = seeded
        phase(f"seeded {seeded['seeded']} more APIs straight into table storage in {seeded['seconds']:.1f} s")
    scale["after_apis"] = (
        10 + probe["created"] + creation["created"] + scale.get("seeded", {}).get("seeded", 0)
    )
    time.sleep(float(TTL_SECONDS) + 0.5)  # let the change marker's TTL pass: the next GET reloads
    storage_before = mgmt.storage_calls()
    scale["first_gets_ms"] = single_gets(certgate_url, 5)  # the first reloads the whole path index
    scale["first_gets_storage_calls"] = mgmt.storage_since(storage_before)
    scale["after_c1"] = bench.window("certgate", 1, plan.scale_seconds)
    scale["after_c16"] = bench.window("certgate", 16, plan.scale_seconds)

    def one_write() -> None:
        time.sleep(plan.scale_seconds * 0.75)
        mgmt.must_put("/management/apis/scale-extra", api_body("scale/extra", back.port, "bench-cert-1"))

    # A management write under load at this size: every busy thread may reload the index at once.
    scale["after_c16_with_write"] = bench.window("certgate", 16, plan.scale_seconds * 3, during=one_write)
    phase(
        f"scale: c1 p50 {scale['before_c1']['p50_ms']:.2f} -> {scale['after_c1']['p50_ms']:.2f} ms, "
        f"p99 {scale['before_c1']['p99_ms']:.2f} -> {scale['after_c1']['p99_ms']:.2f} ms"
    )

    profile: dict[str, Any] | None = None
    if args.profile:
        profile = {}
        RESULTS.mkdir(parents=True, exist_ok=True)
        # The flame graph of every busy thread, then collapsed stacks of the GIL holder only
        # (what the one interpreter spends its time on: the summary below).
        for fmt, name, gil in (("flamegraph", "profile.svg", False), ("raw", "profile-gil.txt", True)):
            wrk_run = bench.load.start(certgate_url, 16, plan.profile_seconds * (2 if gil else 1) + 3)
            try:
                time.sleep(1.0)
                seconds = plan.profile_seconds * (2 if gil else 1)  # few samples: GIL-only is sparse
                spy.record(registry, host.process.pid, RESULTS / name, seconds, fmt, gil=gil)
                profile[f"{name}_load"] = bench.load.finish(wrk_run, 16).as_dict()
            finally:
                if wrk_run.poll() is None:
                    wrk_run.kill()
        profile["summary"] = spy.summarize(RESULTS / "profile-gil.txt")
        # The same during one streaming download (curl to /dev/null): where the MB/s go.
        download = registry.popen(
            "curl download",
            ["curl", "-s", "--noproxy", "*", "-o", "/dev/null", stream_urls(host.url)["download"]],
        )
        try:
            time.sleep(0.5)
            spy.record(registry, host.process.pid, RESULTS / "profile-download-gil.txt", 8, "raw", gil=True)
        finally:
            download.wait(600)
        profile["download_summary"] = spy.summarize(RESULTS / "profile-download-gil.txt")
        profile["files"] = [
            str(RESULTS / n) for n in ("profile.svg", "profile-gil.txt", "profile-download-gil.txt")
        ]
        phase("profile recorded")

    devhost_log = host.log_text()
    host.stop()  # the sweep runs its own 1-worker host: one host at a time on the machine
    sweep = concurrency_sweep(registry, nginx, tmp, pki, back, py_port, env, bench, plan)
    phase(
        "1-worker concurrency sweep: "
        + ", ".join(
            f"c{c} {sweep['certgate'][str(c)]['rps']:.0f}/{sweep['nginx'][str(c)]['rps']:.0f}"
            for c in SWEEP_CONNECTIONS
        )
    )
    problems = [
        line
        for line in devhost_log.splitlines()
        if " ERROR " in line or " WARNING " in line or "Traceback" in line
    ]
    warnings_by_phase = attribute(problems, phase_ends)
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "plan": plan.__dict__,
        "config_ttl_seconds": float(TTL_SECONDS),
        "load_tool": load_tool.tool,
        "summary": summary,
        "windows": {f"{t}_c{c}": w for (t, c), w in windows.items()},
        "inprocess": inproc,
        "streaming": streaming,
        "sweep_1_worker": sweep,
        "scale": scale,
        "profile": profile,
        "devhost_warnings": problems[:50],
        "devhost_warning_count": len(problems),
        "devhost_warnings_by_phase": warnings_by_phase,
        "phases_s": phases,
        "total_seconds": round(time.monotonic() - t0, 1),
    }


def attribute(lines: list[str], phase_ends: list[tuple[float, str]]) -> dict[str, dict[str, int]]:
    """Count log lines by kind (digits blanked) within the phase that was running when each was
    written (a phase is named by the message printed at its end)."""
    out: dict[str, dict[str, int]] = {}
    for line in lines:
        try:
            stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            stamp = float("inf")
        name = next((n for end, n in phase_ends if stamp <= end), "after the last phase")
        kind = re.sub(r"\d+", "N", line[24:].strip())[:140]
        out.setdefault(name, {})
        out[name][kind] = out[name].get(kind, 0) + 1
    return out


def table(res: dict[str, Any]) -> str:
    s = res["summary"]
    cg16, ng16, cg1, ng1 = s["certgate_c16"], s["nginx_c16"], s["certgate_c1"], s["nginx_c1"]
    rows = [
        ("req/s at 16 conn (median of rounds)", f"{cg16['rps_median']:.0f}", f"{ng16['rps_median']:.0f}"),
        (
            "  rounds",
            " ".join(f"{x:.0f}" for x in cg16["rps_each"]),
            " ".join(f"{x:.0f}" for x in ng16["rps_each"]),
        ),
        (
            "p50 / p99 ms at 1 conn",
            f"{cg1['p50_ms_median']:.2f} / {cg1['p99_ms_median']:.2f}",
            f"{ng1['p50_ms_median']:.2f} / {ng1['p99_ms_median']:.2f}",
        ),
        (
            "p50 / p99 ms at 16 conn",
            f"{cg16['p50_ms_median']:.2f} / {cg16['p99_ms_median']:.2f}",
            f"{ng16['p50_ms_median']:.2f} / {ng16['p99_ms_median']:.2f}",
        ),
        (
            "backend handshakes per 1,000 req (c16)",
            f"{cg16['handshakes_per_1000']:.3f}",
            f"{ng16['handshakes_per_1000']:.3f}",
        ),
        (
            "backend handshakes per 1,000 req (c1)",
            f"{cg1['handshakes_per_1000']:.3f}",
            f"{ng1['handshakes_per_1000']:.3f}",
        ),
        ("storage calls per 1,000 req (c16)", f"{cg16['storage_per_1000']:.3f}", "-"),
        ("  storage calls in each c16 window", " ".join(str(x) for x in cg16["storage_each"]), "-"),
        ("storage calls per 1,000 req (c1)", f"{cg1['storage_per_1000']:.3f}", "-"),
        (
            "errors (non-2xx + socket)",
            str(cg16["errors"] + cg1["errors"]),
            str(ng16["errors"] + ng1["errors"]),
        ),
        (
            "CPU ms/request (c16): gateway (kernel part)",
            f"{cg16['cpu_ms_per_request']['devhost']:.3f} "
            f"({cg16['cpu_ms_per_request'].get('devhost_system', 0):.3f})",
            f"{ng16['cpu_ms_per_request']['nginx_anchor']:.3f} "
            f"({ng16['cpu_ms_per_request'].get('nginx_anchor_system', 0):.3f})",
        ),
        (
            "  cores busy (c16): gateway / backend / wrk",
            f"{cg16['cpu_cores_busy']['devhost']:.2f} / {cg16['cpu_cores_busy']['nginx_backend']:.2f} / "
            f"{cg16['cpu_cores_busy']['bench_and_wrk']:.2f}",
            f"{ng16['cpu_cores_busy']['nginx_anchor']:.2f} / {ng16['cpu_cores_busy']['nginx_backend']:.2f} / "
            f"{ng16['cpu_cores_busy']['bench_and_wrk']:.2f}",
        ),
        (
            "  cores busy with others' work (shared box)",
            f"{cg16['cpu_cores_busy']['others_on_machine']:.2f}",
            f"{ng16['cpu_cores_busy']['others_on_machine']:.2f}",
        ),
        ("throughput ratio certgate/nginx (c16)", f"{cg16['rps_median'] / ng16['rps_median']:.3f}", "1"),
    ]
    st = res["streaming"]
    cst, nst = st["certgate"], st["nginx"]
    mib = st["bytes"] // MIB
    for kind in ("download", "upload"):
        c, n = cst[kind], nst[kind]
        rows += [
            (
                f"{kind} {mib} MiB: MB/s (median of {st['rounds']})",
                f"{c['mb_per_s_median']:.0f}",
                f"{n['mb_per_s_median']:.0f}",
            ),
            (
                "  peak RSS growth, MiB: max over processes",
                f"{c['max_rss_growth_mib']:.1f}",
                f"{n['max_rss_growth_mib']:.1f}",
            ),
            ("  ratio certgate/nginx MB/s", f"{c['mb_per_s_median'] / n['mb_per_s_median']:.2f}", "1"),
        ]
    rows.append(
        (
            "first body byte, ms (backend waits 1 s after it)",
            f"{cst['first_byte']['first_byte_ms_median']:.1f}",
            f"{nst['first_byte']['first_byte_ms_median']:.1f}",
        )
    )
    rows.append(
        (
            "  same call, no wait (the per-call floor), ms",
            f"{cst['first_byte']['no_wait_first_byte_ms_median']:.1f}",
            f"{nst['first_byte']['no_wait_first_byte_ms_median']:.1f}",
        )
    )
    ip = res["inprocess"]
    sc = res["scale"]
    cr = sc["creation"]
    pr = sc["same_certificate_probe"]
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'':{width}}{'certgate':>22}{'nginx anchor':>22}"]
    lines += [f"{a:{width}}{b:>22}{c:>22}" for a, b, c in rows]
    f, bs, ba = ip["forwarder"], ip["bare_session"], ip["bare_adapter"]
    lines += [
        "",
        f"in-process, sequential, {f['n']} each, interleaved (mean / median us):",
        f"  forwarder.forward       {f['mean_us']:7.0f} / {f['median_us']:7.0f}   "
        f"new backend connections {f['new_connections']}",
        f"  bare requests.Session   {bs['mean_us']:7.0f} / {bs['median_us']:7.0f}   "
        f"new backend connections {bs['new_connections']}",
        f"  bare adapter.send       {ba['mean_us']:7.0f} / {ba['median_us']:7.0f}   "
        f"new backend connections {ba['new_connections']} (the floor: no Session machinery)",
        f"  ratio forwarder/Session: mean {ip['mean_ratio']:.2f}x, median {ip['median_ratio']:.2f}x; "
        f"forwarder/adapter: mean {ip['mean_ratio_adapter']:.2f}x; "
        f"storage calls {ip['forwarder_storage_calls']}",
        f"  streaming download through forward() alone: {ip['download']['mb_per_s']:.0f} MB/s in "
        f"{ip['download']['chunks']} pieces of {ip['download']['mean_chunk_bytes']} bytes on average "
        f"(largest {ip['download']['max_chunk_bytes']})",
        "",
        f"scale (1 conn p50 / p99 ms): {sc['before_apis']} APIs {sc['before_c1']['p50_ms']:.2f} / "
        f"{sc['before_c1']['p99_ms']:.2f}  ->  {sc['after_apis']} APIs {sc['after_c1']['p50_ms']:.2f} / "
        f"{sc['after_c1']['p99_ms']:.2f}",
        f"  management API: {cr['created']} of {cr['requested']} created in {cr['seconds']:.1f} s "
        f"({cr['per_second']:.0f}/s, {cr['threads']} threads, "
        f"{cr['storage_calls_per_api']:.1f} storage calls each), "
        f"{cr['failed']} failed {cr['failures_by_kind'] or ''}"
        + (
            f", {cr['not_attempted_time_budget']} left by the time budget"
            if cr["not_attempted_time_budget"]
            else ""
        ),
    ]
    if "seeded" in sc:
        sd = sc["seeded"]
        lines.append(f"  seeded {sd['seeded']} straight into table storage in {sd['seconds']:.1f} s")
    lines += [
        f"  same-certificate probe: {pr['requested']} APIs at once on one certificate: {pr['failed']} failed "
        f"{pr['failures_by_kind'] or ''} ({pr['storage_calls_per_api']:.1f} storage calls each)",
        f"  first GETs after the change (ms): {sc['first_gets_ms']} "
        f"({sc['first_gets_storage_calls']} storage calls)",
    ]
    for label, w in (
        (f"c16 at {sc['after_apis']} APIs", sc["after_c16"]),
        ("same, one management write mid-window", sc["after_c16_with_write"]),
    ):
        lines.append(
            f"  {label}: {w['rps']:.0f} req/s, p50/p99 {w['p50_ms']:.2f} / {w['p99_ms']:.2f} ms, "
            f"max {w['max_ms']:.0f} ms, storage calls {w['storage_calls']}"
        )
    sw = res["sweep_1_worker"]
    for suffix, what in (("", "answers at once"), ("_20ms", "answers after 20 ms")):
        lines += ["", f"1 worker process / 1 nginx worker, small calls, the backend {what}:"]
        for c in SWEEP_CONNECTIONS:
            cg, ng = sw["certgate" + suffix][str(c)], sw["nginx" + suffix][str(c)]
            lines.append(
                f"  c{c:<3} certgate {cg['rps']:7.0f} req/s  p50 {cg['p50_ms']:7.2f}  p99 {cg['p99_ms']:7.2f}"
                f"  errors {cg['errors']}   nginx {ng['rps']:7.0f} req/s  p99 {ng['p99_ms']:6.2f}"
            )
    for name in ("certgate", "nginx"):
        lines.append(
            f"  {name} RSS growth MiB, download / upload, by process: "
            f"{st[name]['download']['rss_growth_mib_each'][-1]} / "
            f"{st[name]['upload']['rss_growth_mib_each'][-1]}"
        )
    for key, what in (("summary", "small calls at c16"), ("download_summary", "one streaming download")):
        if not res.get("profile"):
            break
        prof = res["profile"][key]
        by_process = ", ".join(f"{name} {pct:.0f}%" for name, pct in prof["by_process"])
        lines.append("")
        lines.append(
            f"py-spy, {what}, GIL holders ({prof['samples']} samples; {by_process}): self by package:"
        )
        lines += [f"  {pct:5.1f}%  {name}" for name, pct in prof["self_by_package"][:10]]
        lines.append("  top functions (self):")
        lines += [f"  {pct:5.1f}%  {name}" for name, pct in prof["self_by_function"][:10]]
    lines.append(
        f"\nload tool {res['load_tool']}, {res['machine']['cpus']} CPUs, total {res['total_seconds']} s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="length of one measured 16-connection window"
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    parser.add_argument(
        "--profile", action="store_true", help="also record py-spy profiles of the devhost under load"
    )
    parser.add_argument("--apis", type=int, default=None, help="APIs to create for the scale check")
    parser.add_argument(
        "--scale-budget", type=float, default=None, help="seconds for creating APIs via the management API"
    )
    parser.add_argument(
        "--no-seed", action="store_true", help="do not top up the scale APIs straight into storage"
    )
    parser.add_argument(
        "--stream-mib", type=int, default=1024, help="size of the streaming download and upload (MiB)"
    )
    parser.add_argument("--out", default=None, help="where to write the JSON (bench/results/latest.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="devhost worker processes (devhost --workers); default: one per CPU",
    )
    args = parser.parse_args(argv)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (a background job)
    registry = Registry()
    tmp = Path(tempfile.mkdtemp(prefix="certgate-bench-"))
    code = 0
    try:
        result = run(args, registry, tmp)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = Path(args.out) if args.out else RESULTS / "latest.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=str))
        print()
        print(table(result))
        print(f"\nwrote {out}")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping everything", file=sys.stderr)
        code = 130
    except Exception as exc:
        print(f"\nbenchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
        if os.environ.get("BENCH_TRACE"):
            raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # clean-up is not to be interrupted
        problems = registry.stop_all()
        if problems:
            print("clean-up problems: " + "; ".join(problems), file=sys.stderr)
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
