"""Deadlines over blocking backend calls: one thread that cuts the socket of a call whose
time is up, so that no backend (endless 1xx answers, a header a byte at a time, endless
trailers) holds a call longer than its deadline. A socket timeout alone bounds each recv,
not the call."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Protocol


class HasSocket(Protocol):
    sock: socket.socket | None


class Watch:
    """One call's deadline, moved on by `extend` (cheap: an attribute write, no lock)."""

    __slots__ = ("answered", "api", "cancelled", "deadline", "expired", "fresh", "head_seconds", "target")

    def __init__(self, deadline: float, head_seconds: float) -> None:
        self.deadline = deadline
        self.head_seconds = head_seconds  # for the answer's head, once the request is sent
        self.target: HasSocket | None = None  # the connection carrying the call
        self.expired = False
        self.cancelled = False
        self.fresh = False  # the call opened its connection (so a TLS failure is the handshake's)
        self.answered = False  # the answer's head has arrived
        self.api: str | None = None  # the API called (a telemetry attribute), None: not known

    def extend(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def cancel(self) -> None:
        self.cancelled = True

    def _cut(self) -> None:
        self.expired = True
        sock = self.target.sock if self.target is not None else None
        if sock is not None:
            # The plain socket's shutdown, not SSLSocket's (which drops its TLS state under a
            # thread that may be reading): the blocked recv returns and the call fails.
            with contextlib.suppress(OSError):  # already closed
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Watchdog:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        threading.Thread(target=self._run, name="backend-deadlines", daemon=True).start()

    def watch(self, seconds: float) -> Watch:
        """A deadline `seconds` from now, and again `seconds` for the answer's head."""
        watch = Watch(time.monotonic() + seconds, seconds)
        with self._wake:
            heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
            if self._heap[0][2] is watch:
                self._wake.notify()
        return watch

    def _run(self) -> None:
        with self._wake:
            while True:
                if not self._heap:
                    self._wake.wait()
                    continue
                due, _, watch = self._heap[0]
                now = time.monotonic()
                if due > now:
                    self._wake.wait(due - now)
                    continue
                heapq.heappop(self._heap)
                if watch.cancelled:
                    continue
                if watch.deadline > now:  # extended since it was queued
                    heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
                    continue
                watch._cut()
