"""FUNCTIONS_WORKER_PROCESS_COUNT worker processes: started together, each restarted when it
dies (logged), calls given to the ready worker with the fewest open calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.worker_process import WorkerGone, WorkerProcess

log = logging.getLogger("devhost.workers")
RESTART_DELAY_SECONDS = 0.5  # a worker that dies at once is not restarted in a tight loop
READY_SECONDS = 60.0  # how long a call waits for a worker while all are (re)starting


class WorkerPool:
    def __init__(self, app_dir: Path, count: int) -> None:
        self._app_dir = app_dir
        self._count = count
        self.ready: list[WorkerProcess] = []
        self._all: set[WorkerProcess] = set()
        self._changed = asyncio.Event()
        self._stopping = False
        self._slots: list[asyncio.Task[None]] = []
        self.functions: list[dict[str, Any]] = []
        self.restarts = 0
        self._turn = 0
        # Set by the server: Ctrl-C reaches the workers too (one process group), and a worker
        # that exits because the host is stopping is not restarted.
        self.host_stopping: Callable[[], bool] = lambda: False

    async def start(self) -> None:
        """Start every worker; returns once all are ready (the first failure raises)."""
        first = [WorkerProcess(self._app_dir) for _ in range(self._count)]
        try:
            await asyncio.gather(*(worker.start() for worker in first))
        except BaseException:
            await asyncio.gather(*(worker.stop() for worker in first), return_exceptions=True)
            raise
        self.functions = first[0].functions
        self._slots = [asyncio.create_task(self._keep(worker)) for worker in first]

    async def _keep(self, worker: WorkerProcess) -> None:
        """One slot: serve with `worker` while it lives, then restart it, until the pool stops."""
        while True:
            self._all.add(worker)
            self.ready.append(worker)
            self._changed.set()
            code = await worker.wait()
            self.ready.remove(worker)
            self._all.discard(worker)
            await asyncio.sleep(RESTART_DELAY_SECONDS)
            if self._stopping or self.host_stopping():
                return
            log.warning("worker %s exited with code %s: restarting it", worker.pid, code)
            while not self._stopping:
                self.restarts += 1
                worker = WorkerProcess(self._app_dir)
                self._all.add(worker)
                try:
                    await worker.start()
                    break
                except (WorkerGone, RuntimeError, TimeoutError, OSError) as exc:
                    log.error("worker %s did not start: %s", worker.pid, exc)
                    await worker.stop()
                    self._all.discard(worker)
                    await asyncio.sleep(RESTART_DELAY_SECONDS)
            if self._stopping:
                await worker.stop()
                return

    async def pick(self) -> WorkerProcess:
        """A ready worker with the fewest open calls; waits (bounded) while none is ready."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_SECONDS
        while not self.ready:
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("no worker process became ready")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        # Round robin among the least busy, as the Functions host spreads invocations over workers.
        self._turn += 1
        ready = self.ready[self._turn % len(self.ready) :] + self.ready[: self._turn % len(self.ready)]
        return min(ready, key=lambda w: w.open_calls)

    async def stop(self) -> None:
        self._stopping = True
        await asyncio.gather(*(worker.stop() for worker in list(self._all)), return_exceptions=True)
        for slot in self._slots:
            slot.cancel()
        await asyncio.gather(*self._slots, return_exceptions=True)
