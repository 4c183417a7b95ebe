"""Processes the benchmark starts (nginx backend and anchor, wrk, py-spy), and their clean-up.

Every process is started in its own session (its own process group) and registered; `stop_all`
ends them by their own ids, newest first, so an error or Ctrl-C leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.pki import Pki


class Registry:
    """What to stop at the end: processes and stop callbacks, in start order."""

    def __init__(self) -> None:
        self._stops: list[tuple[str, Callable[[], None]]] = []

    def add(self, name: str, stop: Callable[[], None]) -> None:
        self._stops.append((name, stop))

    def popen(self, name: str, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(argv, start_new_session=True, **kwargs)
        self.add(name, lambda: terminate(process))
        return process

    def stop_all(self) -> list[str]:
        problems = []
        while self._stops:
            name, stop = self._stops.pop()
            try:
                stop()
            except Exception as exc:  # keep stopping the others
                problems.append(f"{name}: {exc!r}")
        return problems


def terminate(process: subprocess.Popen[Any], *, grace: float = 8.0) -> None:
    """SIGTERM the process, then SIGKILL its own process group if it lingers."""
    if process.poll() is not None:
        return
    try:
        process.terminate()
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its own group: start_new_session=True
        process.wait(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[Any], what: str, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}): {_tail(log)}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not listening on {port} after {timeout} s: {_tail(log)}")


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def ensure_tool(command: str, package: str) -> str | None:
    """The tool's path, installing the Debian package if it is missing (as root). None if not possible."""
    found = shutil.which(command) or (
        f"/usr/sbin/{command}" if Path(f"/usr/sbin/{command}").exists() else None
    )
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return shutil.which(command) or (
        f"/usr/sbin/{command}" if Path(f"/usr/sbin/{command}").exists() else None
    )


_COMMON = """\
worker_processes {workers};
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
{body}
}}
"""

# One line per request: a request with connection_requests == 1 is the first on a new TLS
# connection (one full or resumed handshake); ssl_session_reused is "r" for a resumed one.
BACKEND_BODY = """\
    log_format bench '$connection $connection_requests $ssl_session_reused $status $request_time';
    ssl_session_cache shared:BENCH:1m;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {pki.server_pem};
        ssl_certificate_key {pki.server_key};
        ssl_verify_client on;
        ssl_client_certificate {pki.ca_pem};
        access_log {dir}/access.log bench;
        location / {{
            default_type text/plain;
            return 200 "ok";
        }}
        location = /big.bin {{
            root {dir}/www;  # the streaming download: a 1 GiB file
        }}
    }}
"""

ANCHOR_BODY = """\
    upstream backend_upstream {{
        server 127.0.0.1:{backend_port};
        keepalive 32;
        keepalive_requests 10000000;
        keepalive_timeout 300s;
    }}
    upstream py_upstream {{
        server 127.0.0.1:{py_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        proxy_ssl_certificate {pki.client_pem};
        proxy_ssl_certificate_key {pki.client_key};
        proxy_ssl_trusted_certificate {pki.ca_pem};
        proxy_ssl_verify on;
        proxy_ssl_name localhost;
        proxy_ssl_session_reuse on;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_read_timeout 300s;
        proxy_send_timeout 300s;
        location / {{
            proxy_pass https://backend_upstream;
        }}
        # Streaming, as certgate does it: nothing spilled to disk, the request body sent on as
        # it comes, the answer of the slow backend passed on at once.
        location = /gateway/bench/big.bin {{
            proxy_pass https://backend_upstream/big.bin;
            proxy_max_temp_file_size 0;
        }}
        location /gateway/py/ {{
            proxy_pass https://py_upstream/;
            proxy_request_buffering off;
            proxy_buffering off;
        }}
    }}
"""


class Nginx:
    def __init__(
        self,
        registry: Registry,
        nginx: str,
        directory: Path,
        name: str,
        body: Callable[[int], str],
        workers: int = 1,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        self.access_log = directory / "access.log"
        conf = directory / "nginx.conf"
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text(_COMMON.format(workers=workers, user=user, dir=directory, body=body(self.port)))
        self.process = registry.popen(
            name,
            [nginx, "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(directory / "stderr.log").open("wb"),
        )
        wait_port(self.port, self.process, name, directory / "error.log")


def backend(registry: Registry, nginx: str, directory: Path, pki: Pki) -> Nginx:
    return Nginx(
        registry,
        nginx,
        directory,
        "nginx backend",
        lambda port: BACKEND_BODY.format(port=port, pki=pki, dir=directory),
    )


def anchor(
    registry: Registry,
    nginx: str,
    directory: Path,
    pki: Pki,
    backend_port: int,
    py_port: int,
    workers: int,
) -> Nginx:
    """As many worker processes as certgate's local host has: the same share of the machine."""
    return Nginx(
        registry,
        nginx,
        directory,
        "nginx anchor",
        lambda port: ANCHOR_BODY.format(port=port, pki=pki, backend_port=backend_port, py_port=py_port),
        workers,
    )


def py_backend(registry: Registry, directory: Path, pki: Pki) -> tuple[subprocess.Popen[bytes], int]:
    """bench/pybackend.py: the upload sink and the slow first byte, mTLS like the nginx backend."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = directory / "pybackend.log"
    argv = [sys.executable, "-m", "bench.pybackend", "--port", str(port), "--server-pem", str(pki.server_pem)]
    argv += ["--server-key", str(pki.server_key), "--ca-pem", str(pki.ca_pem)]
    process = registry.popen(
        "python backend", argv, cwd=Path(__file__).resolve().parent.parent, stderr=log.open("wb")
    )
    wait_port(port, process, "python backend", log)
    return process, port


class AccessLog:
    """Counts requests and new TLS connections at the backend between two offsets of its log."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def offset(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def window(self, start: int, end: int) -> dict[str, int]:
        with self.path.open("rb") as f:
            f.seek(start)
            data = f.read(end - start)
        requests = new = resumed = errors = 0
        connections: set[str] = set()
        for line in data.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) < 4:
                continue
            requests += 1
            connections.add(parts[0])
            if parts[1] == "1":
                new += 1
                if parts[2] == "r":
                    resumed += 1
            if not parts[3].startswith("2"):
                errors += 1
        return {
            "requests": requests,
            "new_connections": new,
            "resumed_sessions": resumed,
            "distinct_connections": len(connections),
            "non_2xx": errors,
        }


_TICK = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by every live process of each process group
    (the processes started here lead their own groups), plus the whole machine's busy time.
    A pgid of 0 means this process and its reaped children (wrk runs): from getrusage."""
    out = dict.fromkeys(groups, 0.0)
    for name, pgid in groups.items():
        if pgid == 0:
            usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
            out[name] = sum(u.ru_utime + u.ru_stime for u in usage)
    by_pgid = {pgid: name for name, pgid in groups.items() if pgid != 0}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        group = by_pgid.get(int(fields[2]))  # field 5: pgrp
        if group is not None:
            out[group] += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
            system = f"{group}_system"  # kernel time alone: syscalls are dear in a sandbox
            out[system] = out.get(system, 0.0) + int(fields[12]) / _TICK
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(x) for x in cpu[:8]) - int(cpu[3]) - int(cpu[4])  # less idle and iowait
    out["machine"] = busy / _TICK
    return out
