"""The health report: is storage reachable, and counters for the benchmark. No secrets."""

from __future__ import annotations

import os
from typing import Any

from shared.errors import CertgateError
from shared.services import LazyServices
from shared.storage.errors import STORAGE_CALLS


def check_health(services: LazyServices) -> dict[str, Any]:
    try:
        services.get().marker.read()
        storage = "reachable"
    except CertgateError as exc:
        storage = f"unreachable: {exc.message}"
    return {
        "status": "healthy" if storage == "reachable" else "degraded",
        "storage": storage,
        # per worker process: the benchmark sums them over the workers, told apart by `process`
        "counters": {"storageCalls": STORAGE_CALLS.value, "process": os.getpid()},
    }
