"""`python -m devhost`: serve function_app.py on http://127.0.0.1:7071, as `func start` would."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devhost", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FUNCTIONS_HTTPWORKER_PORT", 7071)))
    parser.add_argument("--threads", type=int, default=16, help="request threads per worker")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (see devhost/workers.py)")
    parser.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)  # a worker's inherited socket
    args = parser.parse_args(argv)
    _log_through_a_queue()

    from devhost.local_settings import apply_local_settings

    apply_local_settings(PROJECT)
    sys.path.insert(0, str(PROJECT))
    from shared.errors import ConfigurationError

    try:
        import function_app
    except ConfigurationError as exc:
        print(f"certgate cannot start: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1 and args.listen_fd is None:
        from devhost.workers import bind, run_workers

        logging.info("serving http://%s:%s with %s worker processes", args.host, args.port, args.workers)
        return run_workers(bind(args.host, args.port), args.workers, ["--threads", str(args.threads)])

    import waitress

    from devhost.wsgi import FunctionHost

    host = FunctionHost(function_app.app, function_key=os.environ.get("CERTGATE_LOCAL_FUNCTION_KEY") or None)
    for route in host.routes:
        logging.info(
            "%s: [%s] /%s (%s)", route.name, ",".join(sorted(route.methods)), route.template, route.auth_level
        )
    where: dict[str, Any] = (
        {"sockets": [socket.socket(fileno=args.listen_fd)]}
        if args.listen_fd is not None
        else {"host": args.host, "port": args.port}
    )
    waitress.serve(
        host,
        **where,
        threads=args.threads,
        ident="certgate-devhost",
        clear_untrusted_proxy_headers=False,
        max_request_body_size=1 << 30,
        channel_timeout=120,
    )
    return 0


def _log_through_a_queue() -> None:
    """Request threads hand records to a queue; one thread writes them. A stream handler shared
    by every request thread serialises them on its lock (the Functions worker likewise ships
    logs off the request thread)."""
    import atexit
    import queue
    from logging.handlers import QueueHandler, QueueListener

    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    stream = logging.StreamHandler()
    stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    listener = QueueListener(records, stream)
    listener.start()
    atexit.register(listener.stop)
    root = logging.getLogger()
    root.addHandler(QueueHandler(records))
    root.setLevel(logging.INFO)
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" under load


if __name__ == "__main__":
    sys.exit(main())
