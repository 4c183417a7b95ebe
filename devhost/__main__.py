"""`python -m devhost`: serve function_app.py on http://127.0.0.1:7071, as `func start` would:
a host process that owns the socket and FUNCTIONS_WORKER_PROCESS_COUNT worker processes."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devhost", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FUNCTIONS_HTTPWORKER_PORT", 7071)))
    parser.add_argument(
        "--connections", type=int, default=1024, help="connections served at once per worker (a thread each)"
    )
    parser.add_argument(
        "--workers", type=int, help="worker processes (default: FUNCTIONS_WORKER_PROCESS_COUNT, else 1)"
    )
    parser.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)  # a worker's inherited socket
    args = parser.parse_args(argv)
    from devhost.logs import log_in_batches

    log_in_batches()

    from devhost.local_settings import apply_local_settings

    apply_local_settings(PROJECT)
    sys.path.insert(0, str(PROJECT))
    from shared.errors import ConfigurationError

    try:
        import function_app
    except ConfigurationError as exc:
        print(f"certgate cannot start: {exc}", file=sys.stderr)
        return 2
    if args.listen_fd is None:
        return _host(args)

    from devhost.host import FunctionHost
    from devhost.server import HttpServer

    host = FunctionHost(function_app.app, function_key=os.environ.get("CERTGATE_LOCAL_FUNCTION_KEY") or None)
    threading.Thread(target=_exit_with_the_host, args=(os.getppid(),), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        HttpServer(
            socket.socket(fileno=args.listen_fd), host, max_connections=args.connections
        ).serve_forever()
    return 0


def _host(args: argparse.Namespace) -> int:
    """The host process: binds the port, starts the workers, and lists the routes once."""
    from devhost.routes import build_routes
    from devhost.workers import bind, run_workers
    from shared.beacon import path_for

    workers = args.workers or int(os.environ.get("FUNCTIONS_WORKER_PROCESS_COUNT") or 1)
    if workers < 1:
        print("certgate cannot start: the worker count must be at least 1", file=sys.stderr)
        return 2
    import function_app

    for route in build_routes(function_app.app):
        logging.info(
            "%s: [%s] /%s (%s)", route.name, ",".join(sorted(route.methods)), route.template, route.auth_level
        )
    sock = bind(args.host, args.port)
    logging.info("serving http://%s:%s with %s worker process(es)", args.host, args.port, workers)
    try:
        return run_workers(sock, workers, ["--connections", str(args.connections)])
    finally:
        path_for(os.getpid()).unlink(missing_ok=True)  # the workers' change beacon (shared/beacon.py)


def _exit_with_the_host(host_pid: int) -> None:
    """A worker whose host process died (killed, so it could not stop its workers) exits too,
    rather than keep serving the port on its own."""
    while os.getppid() == host_pid:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
