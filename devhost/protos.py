"""The worker-protocol messages that azure_functions_runtime builds, as plain classes.

The runtime only reads and sets attribute names (it gets this module as `properties["protos"]`),
so no gRPC or protobuf is needed: unset fields read as protobuf's defaults. Enum values are the
ones of FunctionRpc.proto (azure-functions-language-worker-protobuf).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar


class Message:
    """A message with the fields listed in `FIELDS` (name -> default factory's value)."""

    FIELDS: ClassVar[dict[str, Any]] = {}
    ONEOF: ClassVar[tuple[str, ...]] = ()  # the members of the `data` oneof, if any

    def __init__(self, **fields: Any) -> None:
        for name, default in self.FIELDS.items():
            value = fields.pop(name, None)
            if value is None:
                value = default.copy() if isinstance(default, (dict, list)) else default
            setattr(self, name, value)
        if fields:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(fields)}")
        self._set = [n for n in self.ONEOF if getattr(self, n) is not None]

    if TYPE_CHECKING:  # fields are set from FIELDS

        def __getattr__(self, name: str) -> Any: ...

    def WhichOneof(self, group: str) -> str | None:  # protobuf's name
        if group == "data":
            return self._set[0] if self._set else None
        if group == "rpc_data" and getattr(self, "data", None) is not None:
            return "data"
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.FIELDS)})"


def _enum_int(value: Any) -> int:
    """azure.functions passes its own enums (StringifyEnum); protobuf would store their number."""
    return int(getattr(value, "value", value) or 0)


class StatusResult(Message):
    Failure = 0
    Success = 1
    Cancelled = 2
    FIELDS: ClassVar[dict[str, Any]] = {"status": 0, "result": "", "exception": None, "logs": []}


class RpcException(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "source": "",
        "stack_trace": "",
        "message": "",
        "is_user_exception": False,
        "type": "",
    }


class WorkerMetadata(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "runtime_name": "",
        "runtime_version": "",
        "worker_version": "",
        "worker_bitness": "",
        "custom_properties": {},
    }


class WorkerInitResponse(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "worker_version": "",
        "capabilities": {},
        "result": None,
        "worker_metadata": None,
    }


class FunctionMetadataResponse(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "function_metadata_results": [],
        "result": None,
        "use_default_metadata_indexing": False,
    }


class FunctionLoadResponse(Message):
    FIELDS: ClassVar[dict[str, Any]] = {"function_id": "", "result": None, "is_dependency_downloaded": False}


class InvocationResponse(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "invocation_id": "",
        "output_data": [],
        "return_value": None,
        "result": None,
    }


class FunctionEnvironmentReloadResponse(Message):
    FIELDS: ClassVar[dict[str, Any]] = {"worker_metadata": None, "capabilities": {}, "result": None}


class BindingInfo(Message):
    in_ = 0
    out = 1
    inout = 2
    undefined = 0
    string = 1
    binary = 2
    stream = 3
    FIELDS: ClassVar[dict[str, Any]] = {"type": "", "direction": 0, "data_type": 0, "properties": {}}

    def __init__(self, **fields: Any) -> None:
        super().__init__(**fields)
        for name in ("direction", "data_type"):
            setattr(self, name, _enum_int(getattr(self, name)))


class RpcRetryOptions(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "max_retry_count": 0,
        "delay_interval": None,
        "minimum_interval": None,
        "maximum_interval": None,
        "retry_strategy": 0,
    }


class RpcFunctionMetadata(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "name": "",
        "directory": "",
        "script_file": "",
        "entry_point": "",
        "bindings": {},
        "is_proxy": False,
        "status": None,
        "language": "",
        "raw_bindings": [],
        "function_id": "",
        "managed_dependency_enabled": False,
        "retry_options": None,
        "properties": {},
    }


class RpcHttpCookie(Message):
    class SameSite:
        Lax = 1
        Strict = 2
        ExplicitNone = 3

    FIELDS: ClassVar[dict[str, Any]] = {
        "name": "",
        "value": "",
        "domain": None,
        "path": None,
        "expires": None,
        "secure": None,
        "http_only": None,
        "same_site": 0,
        "max_age": None,
    }


setattr(RpcHttpCookie.SameSite, "None", 0)  # a keyword, as protobuf names it


class RpcHttp(Message):
    FIELDS: ClassVar[dict[str, Any]] = {
        "method": "",
        "url": "",
        "headers": {},
        "body": None,
        "params": {},
        "status_code": "",
        "query": {},
        "enable_content_negotiation": False,
        "raw_body": None,
        "identities": [],
        "cookies": [],
        "nullable_headers": {},
        "nullable_params": {},
        "nullable_query": {},
    }


class TypedData(Message):
    ONEOF: ClassVar[tuple[str, ...]] = ("string", "json", "bytes", "stream", "http", "int", "double")
    FIELDS: ClassVar[dict[str, Any]] = {name: None for name in ONEOF}


class ParameterBinding(Message):
    FIELDS: ClassVar[dict[str, Any]] = {"name": "", "data": None}


class NullableString(Message):
    FIELDS: ClassVar[dict[str, Any]] = {"value": None}


class NullableBool(Message):
    FIELDS: ClassVar[dict[str, Any]] = {"value": None}


class NullableDouble(Message):
    FIELDS: ClassVar[dict[str, Any]] = {"value": None}


class NullableTimestamp(Message):
    FIELDS: ClassVar[dict[str, Any]] = {"value": None}
