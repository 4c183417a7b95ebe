"""Gateway URL handling: which API a request path names, and where it goes. Pure.

The query string and the rest of the path travel byte for byte (percent-encoding intact);
only dot segments, raw or encoded, are refused so the forwarded path never climbs above the
API's base path (RFC 3986 5.2.4 would let a backend resolve them).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple
from urllib.parse import unquote, unquote_to_bytes

from shared.errors import InvalidPath

_UNRESERVED_ESCAPE = re.compile(r"%(2[DdEe]|5[Ff]|7[Ee]|3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])")
PREFIX = "/gateway"


class GatewayTarget(NamedTuple):
    segments: tuple[str, ...]  # normalised, for matching API paths
    raw_path: str  # after /gateway, as the client sent it (starts with '/' or is empty)
    raw_query: str  # without the `code` parameter
    scheme: str  # of the URL the app was called on, for X-Forwarded-Proto
    host: str  # likewise, for X-Forwarded-Host


def parse_gateway_target(path: str, query: str, *, scheme: str, host: str) -> GatewayTarget:
    """`path` and `query` as the client sent them (percent-encoding intact)."""
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        raise InvalidPath("Gateway paths start with /gateway/.", target="path")
    raw_path = path[len(PREFIX) :]
    _refuse_dot_segments(raw_path)
    segments = tuple(_normalise(s) for s in raw_path.split("/") if s)
    return GatewayTarget(segments, raw_path, strip_code(query), scheme or "https", host)


def candidate_paths(segments: tuple[str, ...]) -> list[str]:
    """Whole-segment prefixes, longest first: the longest registered one wins."""
    return ["/".join(segments[:n]) for n in range(len(segments), 0, -1)]


def backend_url(service_url: str, api_path: str, target: GatewayTarget) -> str:
    """`serviceUrl` plus what follows the API's path, plus the query."""
    rest = _after_prefix(target.raw_path, api_path.count("/") + 1)
    url = service_url if not rest else service_url.rstrip("/") + rest
    return f"{url}?{target.raw_query}" if target.raw_query else url


def strip_code(query: str) -> str:
    """Remove the function-key parameter `code` in every spelling the Functions host takes as
    the key (ASP.NET Core decodes query names and matches them case-insensitively: `CODE`,
    `%63ode`, `c%6Fde`); everything else stays byte for byte."""
    if not query:
        return query
    kept = [p for p in query.split("&") if unquote(p.split("=", 1)[0].replace("+", " ")).lower() != "code"]
    return "&".join(kept)


def _after_prefix(raw_path: str, segment_count: int) -> str:
    """The raw remainder after `segment_count` non-empty segments (keeps a trailing '/')."""
    position, seen = 0, 0
    while seen < segment_count:
        while raw_path.startswith("/", position):
            position += 1
        end = raw_path.find("/", position)
        position = len(raw_path) if end == -1 else end
        seen += 1
    return raw_path[position:]


def _normalise(segment: str) -> str:
    """Decode only escapes of unreserved characters (RFC 3986 6.2.2.2) for matching."""
    return _UNRESERVED_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), segment)


# What some server or framework behind a backend reads as a dot: IIS's %u escapes, overlong
# UTF-8 forms of '.' (which lenient decoders accept), and dots that NFKC folds to '.'
# (fullwidth U+FF0E, one-dot leader U+2024, small full stop U+FE52).
_PERCENT_U = re.compile(r"%u([0-9A-Fa-f]{4})")
_OVERLONG_DOT = re.compile(rb"\xc0\xae|\xe0\x80\xae|\xf0\x80\x80\xae")
# Where servers cut a segment short: path parameters (Tomcat's `..;x`), NUL, whitespace.
_SEGMENT_END = re.compile(r"[;\x00]")


def _dot_segment(segment: str) -> bool:
    """'.', '..', '...' and every disguise of them: what a backend may resolve upwards."""
    head = _SEGMENT_END.split(segment, 1)[0]
    head = unicodedata.normalize("NFKC", head).strip()
    return bool(head) and set(head) == {"."}


def _decoded(raw_path: str) -> str:
    text = raw_path
    for _ in range(3):  # double-encoded dots (%252e) are dots to a backend that decodes twice
        text = _PERCENT_U.sub(lambda m: chr(int(m.group(1), 16)), text)
        data = _OVERLONG_DOT.sub(b".", unquote_to_bytes(text))
        text = data.decode("utf-8", errors="replace")
    return text


def _refuse_dot_segments(raw_path: str) -> None:
    if raw_path.isascii() and "%" not in raw_path and "." not in raw_path:
        return  # the common case: nothing that could decode to a dot
    for segment in re.split(r"[/\\]", _decoded(raw_path)):
        if _dot_segment(segment):
            raise InvalidPath(
                "The request path holds a '.' or '..' segment (raw or percent-encoded); "
                "it is refused so the call cannot leave the API's base path.",
                target="path",
            )
