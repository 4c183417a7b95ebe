"""Change notification: this worker's caches hear of a write at once, its sibling workers
through the beacon (at their next request), other instances through the change marker in
storage (read by the gateway's resolver once per TTL)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from shared.beacon import ChangeBeacon
from shared.errors import CertgateError
from shared.storage.changes import ChangeMarker

log = logging.getLogger(__name__)


class ChangeFeed:
    def __init__(self, marker: ChangeMarker, beacon: ChangeBeacon | None = None) -> None:
        self.marker = marker
        self.beacon = beacon
        self._listeners: list[Callable[[str | None], None]] = []

    def subscribe(self, listener: Callable[[str | None], None]) -> None:
        """`listener(marker_etag)` runs after every write of this instance; the ETag is the
        marker's new one (None when the bump failed), so the listener need not reload twice."""
        self._listeners.append(listener)

    def publish(self) -> None:
        try:
            etag: str | None = self.marker.bump()
        except CertgateError:
            # The write itself succeeded; other instances fall back to their hard refresh.
            log.warning("could not bump the change marker; other instances may lag")
            etag = None
        if self.beacon is not None:
            self.beacon.bump()  # after the marker: a sibling that reads it sees the write
        for listener in self._listeners:
            listener(etag)
