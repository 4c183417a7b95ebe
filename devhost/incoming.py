"""The requests the worker shim hands to azure_functions_runtime's coroutines (the host's side
of the worker protocol), built on the plain message class of devhost/protos.py."""

from __future__ import annotations

from typing import Any, ClassVar

from devhost.protos import Message


class WorkerInitRequest(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "host_version": "",
        "capabilities": {},
        "log_categories": {},
        "worker_directory": "",
        "function_app_directory": "",
    }


class FunctionLoadRequest(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "function_id": "",
        "metadata": None,
        "managed_dependency_enabled": False,
    }


class RpcTraceContext(Message):
    FIELDS: ClassVar[dict[str, Any]] = {"trace_parent": "", "trace_state": "", "attributes": {}}


class RetryContext(Message):
    FIELDS: ClassVar[dict[str, Any]] = {"retry_count": 0, "max_retry_count": 0, "exception": None}


class InvocationRequest(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "invocation_id": "",
        "function_id": "",
        "input_data": [],
        "trigger_metadata": {},
        "trace_context": None,
        "retry_context": None,
    }

    def __init__(self, **fields: Any) -> None:
        super().__init__(**fields)
        if getattr(self, "trace_context") is None:  # noqa: B009 - set from FIELDS
            setattr(self, "trace_context", RpcTraceContext())  # noqa: B010
        if getattr(self, "retry_context") is None:  # noqa: B009
            setattr(self, "retry_context", RetryContext())  # noqa: B010


class StreamingMessage(Message):
    """The envelope: `request` carries one of the requests as its attribute."""

    FIELDS: ClassVar[dict[str, Any]] = {
        "request_id": "",
        "worker_init_request": None,
        "functions_metadata_request": None,
        "function_load_request": None,
        "invocation_request": None,
    }


class Envelope:
    """What handle_event's coroutines take: `.request` (the message) and `.properties`."""

    def __init__(self, request: StreamingMessage, properties: dict[str, Any]) -> None:
        self.request = request
        self.properties = properties
