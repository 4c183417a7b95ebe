"""The health report: is storage reachable, which key ids the ring holds and whether it can open
every stored version, and counters for the benchmark. Key ids only: never a key or a secret."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.envelope import HEADER_PREFIX_LEN, EnvelopeError, KeyRing, key_id_of_header
from shared.errors import CertgateError
from shared.services import LazyServices
from shared.storage.blobs import BlobStore
from shared.storage.errors import STORAGE_CALLS, EntityNotFound

# /health is polled: the scan (one List Blobs call per 5,000 versions, metadata only) is reused
# for this long, or until the change marker moves (a write of any instance).
SCAN_TTL_SECONDS = 60.0
_NOT_AN_ENVELOPE = "?"


class StoredVersions:
    """Counts of stored versions by whether the ring holds their key id, cached per worker."""

    def __init__(self, *, ttl: float = SCAN_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()  # one scan at a time: concurrent polls share it
        self._cached: tuple[float, str, tuple[str, ...], dict[str, Any]] | None = None

    def report(self, blobs: BlobStore, ring: KeyRing, marker_etag: str) -> dict[str, Any]:
        with self._lock:
            cached = self._cached
            if cached is not None:
                scanned, etag, ids, result = cached
                if etag == marker_etag and ids == ring.ids and self._clock() - scanned < self._ttl:
                    return result
            result = _count(blobs, ring)
            self._cached = (self._clock(), marker_etag, ring.ids, result)
            return result


def _count(blobs: BlobStore, ring: KeyRing) -> dict[str, Any]:
    by_key: Counter[str] = Counter()
    for name, kid in blobs.key_ids().items():
        if kid is None:  # written without metadata: read only the header, not the blob
            try:
                kid = key_id_of_header(blobs.read_head(name, HEADER_PREFIX_LEN))
            except EntityNotFound:
                continue  # deleted since the listing
            except EnvelopeError:
                kid = _NOT_AN_ENVELOPE
        by_key[kid] += 1
    held = set(ring.ids)
    openable = sum(n for kid, n in by_key.items() if kid in held)
    total = sum(by_key.values())
    return {
        "total": total,
        "openable": openable,
        "unopenable": total - openable,
        "missingKeyIds": sorted(k for k in by_key if k not in held and k != _NOT_AN_ENVELOPE),
        "checkedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def check_health(services: LazyServices, stored: StoredVersions) -> dict[str, Any]:
    ring = services.settings.key_ring
    versions: dict[str, Any] | None = None
    try:
        built = services.get()
        etag = built.marker.read()
        versions = stored.report(BlobStore(built.clients.container), ring, etag)
        storage = "reachable"
    except CertgateError as exc:
        storage = f"unreachable: {exc.message}"
    healthy = storage == "reachable" and versions is not None and versions["unopenable"] == 0
    report: dict[str, Any] = {
        "status": "healthy" if healthy else "degraded",
        "storage": storage,
        "keyRing": {"keyIds": list(ring.ids), "current": ring.current_id},
    }
    if versions is not None:
        report["storedVersions"] = versions
    # per worker process: the benchmark sums them over the workers, told apart by `process`
    report["counters"] = {"storageCalls": STORAGE_CALLS.value, "process": os.getpid()}
    return report
