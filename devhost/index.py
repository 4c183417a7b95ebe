"""The route table as the host builds it, read from a real worker's index (for tests and tools):
`python -m devhost.index [APP_DIR]` prints it as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from devhost.routing import RouteTable, build_table
from devhost.settings import load_settings
from devhost.worker_process import WorkerProcess


async def read_table(app_dir: Path) -> RouteTable:
    worker = WorkerProcess(app_dir)
    try:
        await worker.start()
        return build_table(worker.functions, load_settings(app_dir, 1).route_prefix)
    finally:
        await worker.stop()


def main() -> None:
    app_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    table = asyncio.run(read_table(app_dir))
    routes = [
        {"name": r.name, "template": r.template, "methods": sorted(r.methods), "auth": r.auth_level}
        for r in table.routes
    ]
    sys.stdout.write(json.dumps(routes) + "\n")


if __name__ == "__main__":
    main()
