"""Change notification: this instance's caches hear of a write at once, other instances
through the change marker in storage (read by the gateway's resolver once per TTL)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from shared.errors import CertgateError
from shared.storage.changes import ChangeMarker

log = logging.getLogger(__name__)


class ChangeFeed:
    def __init__(self, marker: ChangeMarker) -> None:
        self.marker = marker
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def publish(self) -> None:
        for listener in self._listeners:
            listener()
        try:
            self.marker.bump()
        except CertgateError:
            # The write itself succeeded; other instances fall back to their hard refresh.
            log.warning("could not bump the change marker; other instances may lag")
