"""A change counter shared by the worker processes of one host, so that a write made through
one worker is seen at once by its siblings, not after the TTL meant for other instances.

The Functions host (and the local host) runs FUNCTIONS_WORKER_PROCESS_COUNT Python workers
as its children: the counter lives in a small memory-mapped file named after the parent
process. Reading it costs no system call, so the gateway can look at it on every request.
Other instances (other machines) still learn of changes through the marker in storage.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)
_COUNTER = struct.Struct("<Q")


class ChangeBeacon:
    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            with _locked(fd):
                if os.fstat(fd).st_size < _COUNTER.size:
                    os.ftruncate(fd, _COUNTER.size)
            self._map = mmap.mmap(fd, _COUNTER.size)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    @classmethod
    def for_worker_group(cls, group: int | None = None) -> ChangeBeacon | None:
        """The beacon shared with the sibling workers (children of the same host process);
        None, with a warning, where no file can be made (siblings then wait for the TTL)."""
        try:
            return cls(path_for(os.getppid() if group is None else group))
        except OSError as exc:
            log.warning("no change beacon for sibling workers (%s): they see changes within the TTL", exc)
            return None

    def value(self) -> int:
        return int(_COUNTER.unpack_from(self._map, 0)[0])

    def bump(self) -> int:
        """Count one more change; an flock makes concurrent bumps of several workers add up."""
        with _locked(self._fd):
            value = self.value() + 1
            _COUNTER.pack_into(self._map, 0, value)
        return value

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


def path_for(group: int) -> Path:
    return Path(tempfile.gettempdir()) / f"certgate-workers-{group}.changes"


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
