"""Worker processes on one listening socket, as FUNCTIONS_WORKER_PROCESS_COUNT gives the
Functions host several Python workers: the GIL limits one process to one core.

Each worker has its own caches, like a worker process in Azure; a change made through one
worker reaches its siblings at their next request through the change beacon they share as
children of this process (shared/beacon.py).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from types import FrameType


def bind(host: str, port: int) -> socket.socket:
    sock = socket.create_server((host, port), backlog=1024, reuse_port=False)
    sock.set_inheritable(True)
    return sock


def run_workers(sock: socket.socket, count: int, worker_args: list[str]) -> int:
    """Start `count` workers serving `sock`; stop them all when one exits or on SIGTERM/SIGINT."""
    fd = sock.fileno()
    command = [sys.executable, "-m", "devhost", *worker_args, "--listen-fd", str(fd)]
    children = [subprocess.Popen(command, pass_fds=(fd,)) for _ in range(count)]  # noqa: S603

    def stop(signum: int, frame: FrameType | None) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(child.poll() is None for child in children):
            try:
                children[0].wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
    return max(child.returncode or 0 for child in children)
