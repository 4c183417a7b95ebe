"""Which API (and which certificate version) serves a gateway path, cached with bounded
staleness. The index of all API paths is read in one query; each API's route (API row and
certificate row) on first use. Both live until the change marker moves, and the marker is
read at most once per TTL, so steady state costs no storage call per request, whatever the
request paths and however many APIs there are.

This instance's own writes clear the cache at once (`invalidate`); other instances see
them within the TTL. When storage is unreachable, what was resolved keeps being served.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from shared.errors import ApiNotFound, CertgateError, StorageUnavailable
from shared.gateway.routing import candidate_paths
from shared.models import Api, Certificate
from shared.storage.api_rows import ApiRows, PathReservation
from shared.storage.certificate_rows import CertificateRows
from shared.storage.changes import ChangeMarker

log = logging.getLogger(__name__)
# Even with a quiet marker, reload now and then: a writer that died between its write and its
# marker bump must not leave other instances stale for ever.
_HARD_REFRESH_FACTOR = 12


@dataclass(frozen=True)
class Route:
    api: Api
    certificate: Certificate | None


@dataclass(frozen=True)
class _Snapshot:
    index: dict[str, str]  # API path -> API id
    routes: dict[str, Route]  # API path -> route, filled on first use


class Resolver:
    def __init__(
        self,
        paths: PathReservation,
        apis: ApiRows,
        certificates: CertificateRows,
        marker: ChangeMarker,
        *,
        ttl: float,
    ) -> None:
        self._paths = paths
        self._apis = apis
        self._certificates = certificates
        self._marker = marker
        self._ttl = ttl
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._cleared_at = time.monotonic()
        self._marker_etag: str | None = None
        self._checking = False
        self._degraded = False

    def resolve(self, segments: tuple[str, ...]) -> Route:
        self._refresh_if_due()
        snapshot = self._snapshot or self._load_snapshot()
        for path in candidate_paths(segments):
            if path in snapshot.index:
                route = snapshot.routes.get(path) or self._load_route(snapshot, path)
                if route is not None:
                    return route
        raise ApiNotFound("No API is registered for this path.", target="/".join(segments))

    def invalidate(self, marker_etag: str | None = None) -> None:
        """Drop the cache; with the marker's ETag after this instance's own write, the next
        marker check will not drop it a second time."""
        with self._lock:
            self._snapshot = None
            self._cleared_at = time.monotonic()
            if marker_etag is not None:
                self._marker_etag = marker_etag

    def _load_snapshot(self) -> _Snapshot:
        try:
            snapshot = _Snapshot(self._paths.index(), {})
        except StorageUnavailable as exc:
            raise StorageUnavailable("The gateway's APIs cannot be read: storage is unreachable.") from exc
        with self._lock:
            self._snapshot = snapshot
        return snapshot

    def _load_route(self, snapshot: _Snapshot, path: str) -> Route | None:
        try:
            api = self._apis.find(snapshot.index[path])
            if api is None or api.spec.path != path:
                return None  # a stale reservation: its API is gone or moved
            cert = None
            if api.spec.certificate_id is not None:
                cert = self._certificates.find(api.spec.certificate_id)
                if cert is None:
                    raise ApiNotFound("The API's certificate does not exist.", target=path)
        except StorageUnavailable as exc:
            raise StorageUnavailable(
                "The API for this path cannot be resolved: storage is unreachable."
            ) from exc
        route = Route(api, cert)
        snapshot.routes[path] = route
        return route

    def _refresh_if_due(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._ttl:
            return
        with self._lock:
            if self._checking or now - self._checked_at < self._ttl:
                return  # another thread is checking; serve what we have meanwhile
            self._checking = True
        try:
            self._check_marker(now)
        finally:
            with self._lock:
                self._checking = False

    def _check_marker(self, now: float) -> None:
        try:
            etag = self._marker.read()
        except CertgateError:
            if not self._degraded:
                log.warning("storage unreachable: serving the last known configuration")
            self._degraded = True
            self._checked_at = now
            return
        if self._degraded:
            log.warning("storage reachable again: configuration refreshed")
        stale = now - self._cleared_at > self._ttl * _HARD_REFRESH_FACTOR
        if etag != self._marker_etag or self._degraded or stale:
            self.invalidate()
        self._marker_etag = etag
        self._degraded = False
        self._checked_at = now
