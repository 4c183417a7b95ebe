"""`python -m devhost`: serve the function app on http://127.0.0.1:7071 as `func start` would: a
host process (uvicorn, our ASGI app) and FUNCTIONS_WORKER_PROCESS_COUNT Python workers
(azure-functions-runtime) that index, load and invoke every function."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
log = logging.getLogger("devhost.host")
SHUTDOWN_GRACE_SECONDS = 5  # open calls get this long after Ctrl-C / SIGTERM, then are cut


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devhost", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FUNCTIONS_HTTPWORKER_PORT", 7071)))
    parser.add_argument(
        "--workers", type=int, help="worker processes (default: FUNCTIONS_WORKER_PROCESS_COUNT, else 1)"
    )
    parser.add_argument(
        "--app-dir",
        type=Path,
        default=Path(os.environ.get("CERTGATE_LOCAL_APP_DIR") or PROJECT),
        help="the function app to serve (default: this project)",
    )
    args = parser.parse_args(argv)
    from devhost.logs import log_in_batches

    log_in_batches()
    from devhost.local_settings import apply_local_settings

    apply_local_settings(PROJECT)
    from devhost.settings import load_settings

    try:
        settings = load_settings(args.app_dir.resolve(), args.workers)
    except (ValueError, OSError) as exc:
        print(f"certgate cannot start: {exc}", file=sys.stderr)
        return 2
    sock = _listen(args.host, args.port)
    try:
        return asyncio.run(_serve(settings, sock, args.host, args.port))
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        return 130
    finally:
        from shared.beacon import path_for

        path_for(os.getpid()).unlink(missing_ok=True)  # the workers' change beacon (shared/beacon.py)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, made with IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets whose
    proto says TCP (socket.create_server leaves it 0), and without it Nagle's algorithm holds a
    small body behind its headers for a delayed ACK: 40 ms per call on a kept-alive connection."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(address)
    sock.listen(1024)
    return sock


async def _serve(settings: object, sock: socket.socket, host: str, port: int) -> int:
    import uvicorn

    from devhost.app import HostApp, describe
    from devhost.forwarding import Forwarder
    from devhost.pool import WorkerPool
    from devhost.routing import build_table
    from devhost.settings import HostSettings
    from devhost.timers import TimerRunner, find_timers

    assert isinstance(settings, HostSettings)
    pool = WorkerPool(settings.app_dir, settings.workers)
    try:
        await pool.start()
    except (RuntimeError, TimeoutError, OSError) as exc:
        log.error("certgate cannot start: %s", exc)
        await pool.stop()
        return 2
    table = build_table(pool.functions, settings.route_prefix)
    for line in describe(table):
        log.info("%s", line)
    forwarder = Forwarder(settings, pool)
    await forwarder.open()
    timers = TimerRunner(pool, find_timers(pool.functions))
    config = uvicorn.Config(
        HostApp(settings, table, forwarder),
        http="httptools",  # llhttp: strict framing (refuses bare LF and NUL in chunk extensions)
        lifespan="off",
        proxy_headers=False,  # the client is the socket's peer: X-Forwarded-For is appended to, not trusted
        log_config=None,
        access_log=False,
        server_header=False,  # the worker's answer goes back as it is, Date and Server included
        date_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        backlog=1024,
    )
    server = uvicorn.Server(config)
    pool.host_stopping = lambda: server.should_exit
    # uvicorn re-raises the signal that stopped it once it is done, with the handlers it found:
    # make those ours, so that the workers are stopped here rather than the process killed.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    log.info("serving http://%s:%s with %s worker process(es)", host, port, settings.workers)
    timers.start()
    try:
        await server.serve(sockets=[sock])
    finally:
        log.info("stopping")
        await timers.stop()
        await forwarder.close()
        await pool.stop()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
