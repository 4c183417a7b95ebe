"""Header rules of the gateway (RFC 9110 7.6): what goes to the backend and what comes back. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from shared.errors import LoopDetected

Headers = list[tuple[str, str]]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Never forwarded: the function key; what the host in front adds for the worker; what the
# HTTP client writes itself (Host, Content-Length); Expect (the body is sent whole, and
# 100-continue was the host's business with the client); and what a backend might trust to
# rewrite the URL, the method or the caller's identity (headers only a trusted proxy sets).
_REQUEST_DROPPED = frozenset(
    {
        "x-functions-key",
        "x-ms-invocation-id",
        "host",
        "content-length",
        "expect",
        "x-original-url",
        "x-rewrite-url",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "forwarded",
        "x-forwarded-prefix",
        "x-forwarded-port",
        "x-real-ip",
        "x-forwarded-proto",
        "x-forwarded-host",
    }
)
# Framing is the host's: it writes Content-Length or chunked for the streamed body itself.
_RESPONSE_DROPPED = frozenset({"content-length"})
# RFC 9110 7.6.3: a proxy adds itself to Via. Our pseudonym: a request that carries it has
# already been through a certgate gateway (an API whose backend is the gateway itself).
VIA_NAME = "certgate"
_VIA = f"1.1 {VIA_NAME}"


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


def _end_to_end(headers: Headers, dropped: frozenset[str]) -> Headers:
    listed = _connection_tokens(headers)
    return [
        (n, v)
        for n, v in headers
        if (low := n.lower()) not in HOP_BY_HOP and low not in dropped and low not in listed
    ]


def request_headers(headers: Headers, *, proto: str, host: str) -> Headers:
    """End-to-end request headers, X-Forwarded-Proto and -Host set, Via appended.
    X-Forwarded-For is kept as it arrives: the front end in front of the app (App Service's,
    or the local host) has already appended the caller's address."""
    _refuse_loops(headers)
    kept = _end_to_end(headers, _REQUEST_DROPPED)
    kept.append(("X-Forwarded-Proto", proto))
    kept.append(("X-Forwarded-Host", host))
    kept.append(("Via", _VIA))
    return kept


def response_headers(headers: Headers, *, keep_length: bool) -> Headers:
    """The backend's header lines less hop-by-hop ones, repeats and their order kept.
    `keep_length`: the body is streamed exactly as the backend framed it by Content-Length."""
    return _end_to_end(headers, frozenset() if keep_length else _RESPONSE_DROPPED)


def _refuse_loops(headers: Headers) -> None:
    for name, value in headers:
        if name.lower() == "via":
            for hop in value.split(","):
                parts = hop.split()
                if len(parts) >= 2 and parts[1] == VIA_NAME:
                    raise LoopDetected(
                        "The request has already been through this gateway (Via): an API whose "
                        "backend is the gateway itself would call itself without end."
                    )
