"""`python -m devhost.worker --control-fd N`: one Python worker process, as the Functions host
starts it. A shim that drives azure_functions_runtime's own coroutines (init, metadata, load,
invocation) with the messages the host sends as JSON lines over the inherited control socket.

It never serves HTTP itself: with the HTTP streams extension, the runtime starts its own
uvicorn server (the `HttpUri` capability) and the host sends each call's HTTP leg there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

from azure_functions_runtime import handle_event

from devhost import incoming, protos
from devhost.logs import log_in_batches

log = logging.getLogger("devhost.worker")
WORKER_HOST = "127.0.0.1"
LISTEN_DEADLINE_SECONDS = 20.0


class Shim:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._properties: dict[str, Any] = {"host": WORKER_HOST, "protos": protos}

    def _envelope(self, **request: Any) -> incoming.Envelope:
        return incoming.Envelope(incoming.StreamingMessage(**request), self._properties)

    def send(self, message: dict[str, Any]) -> None:
        self._writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    async def handle(self, message: dict[str, Any]) -> None:
        try:
            await self._handle(message)
        except Exception as exc:  # the host waits for an answer to every message: give one
            log.exception("%s failed", message.get("op"))
            self.send({"id": message["id"], "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        await self._writer.drain()

    async def _handle(self, message: dict[str, Any]) -> None:
        op = message["op"]
        if op == "init":
            self.send({"id": message["id"], **await self._init(message["app_dir"])})
        elif op == "metadata":
            self.send({"id": message["id"], **await self._metadata()})
        elif op == "load":
            request = incoming.FunctionLoadRequest(function_id=message["function_id"])
            response = await handle_event.function_load_request(self._envelope(function_load_request=request))
            self.send({"id": message["id"], **_status(response.result)})
        elif op == "invoke":
            self.send({"id": message["id"], **await self._invoke(message)})

    async def _init(self, app_dir: str) -> dict[str, Any]:
        request = incoming.WorkerInitRequest(function_app_directory=app_dir, worker_directory=app_dir)
        response = await handle_event.worker_init_request(self._envelope(worker_init_request=request))
        answer = {**_status(response.result), "capabilities": dict(response.capabilities)}
        uri = response.capabilities.get("HttpUri")
        if answer["ok"] and uri:
            await _wait_listening(uri)
            # uvicorn configured its loggers when it started: one access line per call is the
            # gateway's job, not the worker's server's.
            logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
        return answer

    async def _metadata(self) -> dict[str, Any]:
        response = await handle_event.functions_metadata_request(
            self._envelope(functions_metadata_request=True)
        )
        functions = [
            {"name": f.name, "function_id": f.function_id, "raw_bindings": list(f.raw_bindings)}
            for f in response.function_metadata_results or ()
        ]
        return {**_status(response.result), "functions": functions}

    async def _invoke(self, message: dict[str, Any]) -> dict[str, Any]:
        http = message.get("http")
        if http is not None:
            data = protos.TypedData(
                http=protos.RpcHttp(
                    method=http["method"],
                    url=http["url"],
                    headers=http["headers"],
                    params=http["params"],
                    query=http["query"],
                    body=protos.TypedData(bytes=b""),
                )
            )
        else:
            data = protos.TypedData(json=message.get("json", "{}"))
        request = incoming.InvocationRequest(
            invocation_id=message["invocation_id"],
            function_id=message["function_id"],
            input_data=[protos.ParameterBinding(name=message["binding"], data=data)],
        )
        response = await handle_event.invocation_request(self._envelope(invocation_request=request))
        return _status(response.result)


def _status(result: protos.StatusResult) -> dict[str, Any]:
    ok = result.status == protos.StatusResult.Success
    return {"ok": ok, "error": None if ok or result.exception is None else result.exception.message}


async def _wait_listening(uri: str) -> None:
    """The runtime answers init before its server has bound: wait (bounded) until it accepts."""
    parts = urlsplit(uri)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LISTEN_DEADLINE_SECONDS
    while True:
        try:
            _, writer = await asyncio.open_connection(parts.hostname, parts.port)
        except OSError:
            if loop.time() > deadline:
                raise TimeoutError(f"the worker's HTTP server did not listen on {uri}") from None
            await asyncio.sleep(0.02)
            continue
        writer.close()
        return


async def serve(control_fd: int) -> None:
    sock = socket.socket(fileno=control_fd)
    reader, writer = await asyncio.open_connection(sock=sock, limit=16 * 1024 * 1024)
    shim = Shim(writer)
    tasks: set[asyncio.Task[None]] = set()
    while line := await reader.readline():
        task = asyncio.create_task(shim.handle(json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    # The control channel closed: the host is gone (killed, so it could not stop us). Exit now,
    # rather than wait for the worker's server, which would keep open calls alive.
    log.info("the host closed the control channel: exiting")
    logging.shutdown()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="devhost.worker")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--app-dir", required=True)
    args = parser.parse_args()
    log_in_batches()
    os.chdir(args.app_dir)
    sys.path.insert(0, args.app_dir)
    asyncio.run(serve(args.control_fd))


if __name__ == "__main__":
    main()
