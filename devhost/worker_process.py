"""One worker process seen from the host: started as a direct child (shared/beacon.py keys the
siblings' change beacon on the host's pid), spoken to over a socketpair in JSON lines, every
answer awaited with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import signal
import socket
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("devhost.workers")
STARTUP_SECONDS = 60.0  # init (imports and indexes the app), metadata and loads, each
STOP_GRACE_SECONDS = 5.0  # the streaming worker ignores SIGTERM while a call is open: then SIGKILL


class WorkerGone(Exception):
    """The worker process exited (or was stopped) before it answered."""


class WorkerProcess:
    def __init__(self, app_dir: Path) -> None:
        self.app_dir = app_dir
        self.http_uri = ""
        self.functions: list[dict[str, Any]] = []
        self.open_calls = 0
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self._process.pid if self._process else 0

    async def start(self) -> None:
        """Spawn the process, then init (function_app_directory: the app), metadata, load each one."""
        ours, theirs = socket.socketpair()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "devhost.worker",
                "--control-fd",
                str(theirs.fileno()),
                "--app-dir",
                str(self.app_dir),
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        reader, self._writer = await asyncio.open_connection(sock=ours, limit=16 * 1024 * 1024)
        self._reader_task = asyncio.create_task(self._read(reader))
        init = await self.request({"op": "init", "app_dir": str(self.app_dir)}, STARTUP_SECONDS)
        self._check(init, "init")
        self.http_uri = init["capabilities"].get("HttpUri", "")
        if not self.http_uri:
            raise RuntimeError(
                "the worker reports no HttpUri: function_app.py must import the HTTP streams extension"
            )
        metadata = await self.request({"op": "metadata"}, STARTUP_SECONDS)
        self._check(metadata, "metadata")
        self.functions = metadata["functions"]
        for function in self.functions:
            self._check(
                await self.request({"op": "load", "function_id": function["function_id"]}, STARTUP_SECONDS),
                "load",
            )
        log.info("worker %s ready: %s function(s), HTTP on %s", self.pid, len(self.functions), self.http_uri)

    @staticmethod
    def _check(answer: dict[str, Any], what: str) -> None:
        if not answer.get("ok"):
            raise RuntimeError(f"worker {what} failed: {answer.get('error')}")

    async def request(self, message: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """Send one message; its answer, or TimeoutError after `timeout` s, or WorkerGone."""
        if self._writer is None or self._reader_task is None or self._reader_task.done():
            raise WorkerGone(f"worker {self.pid} is not running")
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        try:
            self._writer.write(json.dumps({**message, "id": number}, separators=(",", ":")).encode() + b"\n")
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiting.pop(number, None)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                answer = json.loads(line)
                future = self._waiting.get(answer.get("id"))
                if future is not None and not future.done():
                    future.set_result(answer)
        except (OSError, ValueError) as exc:
            log.warning("worker %s: control channel broken: %s", self.pid, exc)
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(WorkerGone(f"worker {self.pid} exited"))

    async def wait(self) -> int:
        assert self._process is not None
        code = await self._process.wait()
        if self._reader_task is not None:
            await self._reader_task
        return code

    def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after the grace period; closing the channel also makes it exit."""
        if self._process is None or self._process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._process.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("worker %s still running %s s after SIGTERM: killed", self.pid, STOP_GRACE_SECONDS)
            self.kill()
            await self._process.wait()
        if self._writer is not None:
            self._writer.close()
