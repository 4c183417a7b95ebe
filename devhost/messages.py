"""What a call sends to its worker: the HTTP leg's headers (Host rewritten, X-Forwarded-* set,
hop-by-hop fields dropped) and the invocation message of the control channel."""

from __future__ import annotations

from typing import Any

from multidict import CIMultiDict
from yarl import URL

from devhost.asgi import Scope
from devhost.routing import Match

# Hop-by-hop fields (RFC 9110 7.6.1), and what the host sets itself.
_NOT_FORWARDED = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"transfer-encoding", b"upgrade", b"host"}
    | {b"x-ms-invocation-id", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto"}
)


def leg_headers(scope: Scope, worker_uri: str, invocation_id: str) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    forwarded_for: list[str] = []
    host = ""
    # RFC 9110 7.6.1: the fields that Connection names are hop-by-hop too.
    named = {
        token.strip().lower()
        for name, value in scope["headers"]
        if name == b"connection"
        for token in value.split(b",")
    }
    for name, value in scope["headers"]:
        if name in named:
            continue
        if name == b"host":
            host = value.decode("latin-1")
        elif name == b"x-forwarded-for":
            forwarded_for.append(value.decode("latin-1"))
        if name not in _NOT_FORWARDED:
            headers.add(name.decode("latin-1"), value.decode("latin-1"))
    client = scope.get("client")
    forwarded_for.append(client[0] if client else "")
    headers["Host"] = URL(worker_uri).raw_authority
    headers["x-ms-invocation-id"] = invocation_id
    headers["X-Forwarded-For"] = ", ".join(forwarded_for)
    headers["X-Forwarded-Host"] = host
    headers["X-Forwarded-Proto"] = scope.get("scheme", "http")
    return headers


def invocation_message(match: Match, invocation_id: str, scope: Scope) -> dict[str, Any]:
    """The invocation message: the HTTP leg carries the request; this carries the route params."""
    return {
        "op": "invoke",
        "invocation_id": invocation_id,
        "function_id": match.route.function_id,
        "binding": match.route.binding,
        "http": {
            "method": scope["method"],
            "url": scope["raw_path"].decode("latin-1"),
            "headers": {},
            "query": {},
            "params": match.params,
        },
    }
