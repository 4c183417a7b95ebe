"""Top up the API count for the scale check straight into table storage, in batch transactions,
when the management API cannot create them all within the time budget. Rows are exactly what
the management API writes (the product's own entity mapping); one marker bump at the end
tells every instance, as a management write would."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

_BATCH = 100  # Table Storage's limit per transaction


def seed_apis(
    env: dict[str, str], items: list[tuple[str, dict[str, Any]]], *, threads: int = 4
) -> dict[str, Any]:
    """`items`: (apiId, management-API body) pairs. Returns counts and timing."""
    from shared.config import load_settings
    from shared.models import parse_api_spec
    from shared.storage.api_rows import _entity, path_key
    from shared.storage.changes import ChangeMarker
    from shared.storage.clients import build_clients
    from shared.storage.tables import EntityTable

    started = time.monotonic()
    clients = build_clients(load_settings(env).storage)
    api_rows, path_rows = [], []
    for api_id, body in items:
        spec = parse_api_spec(body)
        api_rows.append({"PartitionKey": "api", "RowKey": api_id, **_entity(spec)})
        path_rows.append(
            {"PartitionKey": "path", "RowKey": path_key(spec.path), "ApiId": api_id, "Confirmed": True}
        )

    jobs: list[Callable[[], Any]] = []
    for table, rows in (("apis", api_rows), ("paths", path_rows)):
        client = clients.tables[table]
        for i in range(0, len(rows), _BATCH):
            chunk = rows[i : i + _BATCH]
            jobs.append(partial(client.submit_transaction, [("upsert", r) for r in chunk]))
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    ChangeMarker(EntityTable(clients.tables["meta"], "meta")).bump()
    return {"seeded": len(items), "batches": len(jobs), "seconds": time.monotonic() - started}
