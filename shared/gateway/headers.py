"""Header rules of the gateway (RFC 9110 7.6.1): what goes to the backend and what comes back."""

from __future__ import annotations

from collections.abc import Iterable

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
# Never forwarded: the function key, and what the HTTP client recomputes itself.
_REQUEST_DROPPED = frozenset({"x-functions-key", "host", "content-length"})
_RESPONSE_DROPPED = frozenset({"content-length"})


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
    """End-to-end request headers with X-Forwarded-Proto and -Host set. X-Forwarded-For is
    kept as it arrives: the front end in front of the app (App Service's, or the local host)
    has already appended the caller's address, and a second append would name it twice."""
    kept = [
        (n, v)
        for n, v in _end_to_end(headers, _REQUEST_DROPPED)
        if n.lower() not in ("x-forwarded-proto", "x-forwarded-host")
    ]
    kept.append(("X-Forwarded-Proto", proto))
    kept.append(("X-Forwarded-Host", host))
    return kept


def response_headers(headers: Headers) -> Headers:
    """The backend's headers less hop-by-hop ones; the body is returned whole, so its length
    is recomputed by the host."""
    return _end_to_end(headers, _RESPONSE_DROPPED)


def for_the_worker(headers: Headers) -> tuple[dict[str, str], Headers]:
    """Response headers as the Functions worker carries them: one value per name, repeats
    joined with ", " (RFC 9110 5.3) under the first spelling of the name; and, apart,
    `Set-Cookie` fields, which the worker sends one by one as cookies."""
    merged: dict[str, tuple[str, str]] = {}
    cookies: Headers = []
    for name, value in headers:
        low = name.lower()
        if low == "set-cookie":
            cookies.append((name, value))
        elif low in merged:
            first, prior = merged[low]
            merged[low] = (first, f"{prior}, {value}")
        else:
            merged[low] = (name, value)
    return dict(merged.values()), cookies
