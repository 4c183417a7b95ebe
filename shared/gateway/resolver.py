"""Which API (and which certificate version) serves a gateway path, cached with bounded
staleness. A snapshot holds the index of all API paths (one query) and, filled on first use,
each API's route (API row and certificate row). Steady state costs no storage call per
request, whatever the request paths and however many APIs there are.

Freshness: this worker's own writes drop the snapshot at once (`invalidate`), and so do those
of its sibling workers, seen through the beacon at the next request. A dropped snapshot is kept
as the fallback: when the reload after a write fails, it is served again (the write's own change
not yet visible) until the next marker check reloads. Other instances' writes
move the change marker, read at most once per TTL by a thread that the first call after the
TTL starts; it builds the next snapshot (warming the routes in use) while every call keeps
serving the current one: no stampede of reloads, and no call waits for one. When storage is
unreachable, what was resolved keeps being served.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.beacon import ChangeBeacon
from shared.errors import ApiNotFound, CertgateError, StorageUnavailable
from shared.gateway.routing import candidate_paths
from shared.models import Api, CaCertificate, Certificate
from shared.storage.api_rows import ApiRows, PathReservation
from shared.storage.ca_certificate_rows import CaCertificateRows
from shared.storage.certificate_rows import CertificateRows
from shared.storage.changes import ChangeMarker
from shared.storage.named_value_rows import NamedValueRows
from shared.telemetry import CONFIG_RELOADS

log = logging.getLogger(__name__)
# Even with a quiet marker, reload now and then: a writer that died between its write and its
# marker bump must not leave other instances stale for ever.
_HARD_REFRESH_FACTOR = 12


@dataclass(frozen=True)
class Route:
    api: Api
    certificate: Certificate | None
    trust: tuple[CaCertificate, ...] = ()  # tls.caCertificateIds, read with the route
    # The values of the named values its credentials refer to, read with the route: a change
    # of one publishes a change, which drops the snapshot like any other.
    named_values: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Snapshot:
    index: dict[str, str]  # API path -> API id
    routes: dict[str, Route | None] = field(default_factory=dict)  # None: a stale reservation


class Resolver:
    def __init__(
        self,
        paths: PathReservation,
        apis: ApiRows,
        certificates: CertificateRows,
        marker: ChangeMarker,
        *,
        ttl: float,
        beacon: ChangeBeacon | None = None,
        ca_certificates: CaCertificateRows | None = None,
    ) -> None:
        self._paths = paths
        self.named_value_rows: NamedValueRows | None = None  # set by the composition root
        self._ca_certificates = ca_certificates
        self._apis = apis
        self._certificates = certificates
        self._marker = marker
        self._ttl = ttl
        self._beacon = beacon
        self._beacon_seen = beacon.value() if beacon is not None else 0
        self._snapshot: _Snapshot | None = None
        self._fallback: _Snapshot | None = None  # the last snapshot dropped by a write
        self._generation = 0  # moves on every invalidation: a load that overlapped one is stale
        self._lock = threading.Lock()  # guards the fields above and the marker state
        self._load_lock = threading.Lock()  # one load at a time: the others wait and share it
        self._checked_at = float("-inf")
        self._loaded_at = time.monotonic()
        self._marker_etag: str | None = None
        self._checking = False
        self._degraded = False

    def resolve(self, segments: tuple[str, ...]) -> Route:
        if self._beacon is not None and self._beacon.value() != self._beacon_seen:
            self._sibling_wrote()
        self._refresh_if_due()
        snapshot = self._snapshot or self._load_or_fall_back()
        for path in candidate_paths(segments):
            if path in snapshot.index:
                route = snapshot.routes[path] if path in snapshot.routes else self._load_route(snapshot, path)
                if route is not None:
                    return route
        raise ApiNotFound("No API is registered for this path.", target="/".join(segments))

    def invalidate(self, marker_etag: str | None = None) -> None:
        """Drop the snapshot; with the marker's ETag after this instance's own write, the next
        marker check will not reload a second time."""
        with self._lock:
            self._drop_snapshot()
            if marker_etag is not None:
                self._marker_etag = marker_etag
            if self._beacon is not None:
                self._beacon_seen = self._beacon.value()  # this write's bump: no second reload

    def _sibling_wrote(self) -> None:
        """Another worker of this host wrote: drop the snapshot, as after a write of our own."""
        assert self._beacon is not None
        with self._lock:
            value = self._beacon.value()
            if value == self._beacon_seen:
                return  # another thread got here first
            self._beacon_seen = value
            self._drop_snapshot()

    def _drop_snapshot(self) -> None:
        """With the lock held: the next call reloads; what was served stays as the fallback."""
        if self._snapshot is not None:
            self._fallback = self._snapshot
        self._snapshot = None
        self._generation += 1

    def _load_or_fall_back(self) -> _Snapshot:
        """Reload after a write; when storage fails, serve the snapshot the write dropped and
        let the next marker check (one per TTL, on its own thread) reload it."""
        try:
            return self._load_snapshot()
        except StorageUnavailable:
            with self._lock:
                fallback = self._snapshot or self._fallback
                if fallback is None:
                    raise
                if self._snapshot is None:
                    self._snapshot = fallback
                    if not self._degraded:
                        log.warning("storage unreachable: serving the last known configuration")
                    self._degraded = True  # the marker check reloads even if the marker is quiet
                    self._checked_at = time.monotonic()
            return fallback

    def _load_snapshot(self) -> _Snapshot:
        with self._load_lock:
            while True:
                with self._lock:
                    if self._snapshot is not None:
                        return self._snapshot  # another thread loaded it while we waited
                    generation = self._generation
                snapshot = self._read(warm=())
                if self._install(snapshot, generation):
                    return snapshot

    def _install(self, snapshot: _Snapshot, generation: int) -> bool:
        with self._lock:
            if generation != self._generation:
                return False  # a write of this instance happened meanwhile: read again
            self._snapshot = snapshot
            self._fallback = None
            self._loaded_at = time.monotonic()
        CONFIG_RELOADS.add(1)
        return True

    def _read(self, warm: tuple[str, ...]) -> _Snapshot:
        try:
            snapshot = _Snapshot(self._paths.index())
            for path in warm:
                if path in snapshot.index:
                    # a route whose certificate is gone is resolved (and refused) on demand
                    with contextlib.suppress(ApiNotFound):
                        snapshot.routes[path] = self._read_route(snapshot.index[path], path)
        except StorageUnavailable as exc:
            raise StorageUnavailable("The gateway's APIs cannot be read: storage is unreachable.") from exc
        return snapshot

    def _load_route(self, snapshot: _Snapshot, path: str) -> Route | None:
        with self._load_lock:
            if path not in snapshot.routes:
                try:
                    snapshot.routes[path] = self._read_route(snapshot.index[path], path)
                except StorageUnavailable as exc:
                    raise StorageUnavailable(
                        "The API for this path cannot be resolved: storage is unreachable."
                    ) from exc
            return snapshot.routes[path]

    def _read_route(self, api_id: str, path: str) -> Route | None:
        route = self._read_route_only(api_id, path)
        ids = route.api.spec.backend_credentials.named_value_ids() if route is not None else frozenset()
        if route is None or not ids:
            return route
        assert self.named_value_rows is not None, "an API refers to named values: give the rows"
        values = {}
        for named_value_id in sorted(ids):
            found = self.named_value_rows.find(named_value_id)
            if found is None:
                raise ApiNotFound(f"The API's named value '{named_value_id}' does not exist.", target=path)
            values[named_value_id] = found.spec.value
        return dataclasses.replace(route, named_values=values)

    def _read_route_only(self, api_id: str, path: str) -> Route | None:
        api = self._apis.find(api_id)
        if api is None or api.spec.path != path:
            return None  # a stale reservation: its API is gone or moved
        cert = None
        if api.spec.certificate_id is not None:
            cert = self._certificates.find(api.spec.certificate_id)
            if cert is None:
                raise ApiNotFound("The API's certificate does not exist.", target=path)
        return Route(api, cert, self._read_trust(api, path))

    def _read_trust(self, api: Api, path: str) -> tuple[CaCertificate, ...]:
        ids = api.spec.tls.ca_certificate_ids
        if not ids or not api.spec.tls.validate_certificate_chain:
            return ()
        assert self._ca_certificates is not None, "an API trusts CA certificates: give the rows"
        trust = []
        for ca_id in ids:
            ca = self._ca_certificates.find(ca_id)
            if ca is None:
                raise ApiNotFound(f"The API's CA certificate '{ca_id}' does not exist.", target=path)
            trust.append(ca)
        return tuple(trust)

    def _refresh_if_due(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._ttl:
            return
        with self._lock:
            if self._checking or now - self._checked_at < self._ttl:
                return  # another thread is checking; serve what we have meanwhile
            self._checking = True
        # On a thread of its own: with 10,000 APIs a reload takes the CPU of a few hundred
        # calls, and no caller should wait for it (measured: over 1 s under load, when the
        # calling thread did it). Callers keep the current snapshot until the next is built.
        threading.Thread(
            target=self._check_marker_once, args=(now,), name="resolver-refresh", daemon=True
        ).start()

    def _check_marker_once(self, now: float) -> None:
        try:
            self._check_marker(now)
        finally:
            with self._lock:
                self._checking = False

    def _check_marker(self, now: float) -> None:
        try:
            etag = self._marker.read()
            with self._lock:
                moved = etag != self._marker_etag or self._degraded
                stale = now - self._loaded_at > self._ttl * _HARD_REFRESH_FACTOR
                current, generation = self._snapshot, self._generation
            if current is not None and (moved or stale):
                with self._load_lock:
                    fresh = self._read(warm=tuple(p for p, r in current.routes.items() if r is not None))
                self._install(fresh, generation)
        except CertgateError:
            if not self._degraded:
                log.warning("storage unreachable: serving the last known configuration")
            self._degraded = True
            self._checked_at = now
            return
        if self._degraded:
            log.warning("storage reachable again: configuration refreshed")
        with self._lock:
            self._marker_etag = etag
            self._degraded = False
            self._checked_at = now
