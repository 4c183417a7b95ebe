"""`python -m devhost`: serve function_app.py on http://127.0.0.1:7071, as `func start` would."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devhost", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FUNCTIONS_HTTPWORKER_PORT", 7071)))
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)

    from devhost.local_settings import apply_local_settings

    apply_local_settings(PROJECT)
    sys.path.insert(0, str(PROJECT))
    from shared.errors import ConfigurationError

    try:
        import function_app
    except ConfigurationError as exc:
        print(f"certgate cannot start: {exc}", file=sys.stderr)
        return 2

    import waitress

    from devhost.wsgi import FunctionHost

    host = FunctionHost(function_app.app, function_key=os.environ.get("CERTGATE_LOCAL_FUNCTION_KEY") or None)
    for route in host.routes:
        logging.info(
            "%s: [%s] /%s (%s)", route.name, ",".join(sorted(route.methods)), route.template, route.auth_level
        )
    waitress.serve(
        host,
        host=args.host,
        port=args.port,
        threads=args.threads,
        ident="certgate-devhost",
        clear_untrusted_proxy_headers=False,
        max_request_body_size=1 << 30,
        channel_timeout=120,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
