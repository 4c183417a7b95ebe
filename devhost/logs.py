"""The local host's logging: request threads append records to a deque, and one thread writes
them out in batches, as the Functions worker ships logs off the request thread. Kept cheap
because the gateway logs a line per call: no lock, no wake-up and no write per record."""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from collections import deque

_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"  # process: which worker
FLUSH_SECONDS = 0.1


class _Batch(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self._records: deque[logging.LogRecord] = deque()
        self._written = threading.Event()
        self.setFormatter(_Formatter(_FORMAT))

    def handle(self, record: logging.LogRecord) -> bool:  # no handler lock: deque.append is atomic
        self._records.append(record)
        if record.levelno >= logging.WARNING:
            self._written.set()  # warnings and errors are written at once
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    def run(self) -> None:
        while True:
            self._written.wait(FLUSH_SECONDS)
            self._written.clear()
            self.flush()

    def flush(self) -> None:
        lines = []
        while self._records:
            record = self._records.popleft()
            try:
                lines.append(self.format(record))
            except Exception:  # a record that cannot be formatted says so, as logging does
                self.handleError(record)
        if lines:
            sys.stderr.write("\n".join(lines) + "\n")
            sys.stderr.flush()


class _Formatter(logging.Formatter):
    """The default format, with the date-time text made once a second."""

    _second = -1
    _text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = second
        return f"{self._text},{int(record.msecs):03d}"


def log_in_batches() -> None:
    # What no format here shows, recorded for no one (the logging HOWTO's "Optimization").
    logging._srcfile = None  # the caller's file and line: a stack walk
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = _Batch()
    threading.Thread(target=handler.run, name="log-writer", daemon=True).start()
    atexit.register(handler.flush)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("azure").setLevel(logging.WARNING)
