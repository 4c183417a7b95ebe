"""The host's route table, built from the worker's own index (the raw bindings of each function's
httpTrigger), and matched as ASP.NET Core routing does: literal segments case-insensitive,
`{name}` parameters, `{name?}` optional ones, `{*name}` catch-alls; parameters percent-decoded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "TRACE"})
_TOKEN = re.compile(r"\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\?)?\}")


@dataclass(frozen=True)
class Route:
    name: str
    function_id: str
    template: str
    methods: frozenset[str]
    auth_level: str  # "anonymous" | "function" | "admin"
    binding: str  # the name of the function's httpTrigger parameter
    pattern: re.Pattern[str]
    literal_segments: int


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


class RouteTable:
    def __init__(self, routes: Iterable[Route]) -> None:
        # ASP.NET routing prefers literal segments over parameters, and catch-alls last.
        self.routes = sorted(routes, key=lambda r: (-r.literal_segments, "{*" in r.template))
        self.timers: list[tuple[str, str, dict[str, Any]]] = []

    def match(self, raw_path: str, method: str) -> Match | int:
        """The route for `method` on `raw_path` (percent-encoded), else 404 or 405."""
        found = False
        for route in self.routes:
            m = route.pattern.fullmatch(raw_path[1:] if raw_path.startswith("/") else raw_path)
            if m is None:
                continue
            found = True
            if method in route.methods:
                return Match(route, {k: unquote(v) for k, v in m.groupdict().items() if v is not None})
        return 405 if found else 404


def build_table(functions: list[dict[str, Any]], route_prefix: str) -> RouteTable:
    """`functions`: the worker's metadata answer (name, function_id, raw_bindings as JSON)."""
    routes = []
    for function in functions:
        for raw in function["raw_bindings"]:
            binding = json.loads(raw)
            if binding.get("type") != "httpTrigger":
                continue
            template = "/".join(
                p for p in (route_prefix.strip("/"), binding.get("route") or function["name"]) if p
            )
            methods = frozenset(str(m).upper() for m in binding.get("methods") or ()) or ALL_METHODS
            routes.append(
                Route(
                    name=function["name"],
                    function_id=function["function_id"],
                    template=template,
                    methods=methods,
                    auth_level=str(binding.get("authLevel") or "function").lower(),
                    binding=binding["name"],
                    pattern=_compile(template),
                    literal_segments=sum(1 for s in template.split("/") if s and "{" not in s),
                )
            )
    return RouteTable(routes)


def _compile(template: str) -> re.Pattern[str]:
    parts = []
    for segment in template.strip("/").split("/"):
        token = _TOKEN.fullmatch(segment)
        if token is None:
            parts.append(("/", f"(?i:{re.escape(segment)})"))
        elif token.group(1):
            parts.append(("/?", f"(?P<{token.group(2)}>.*)"))
        elif token.group(3):
            parts.append(("/?", f"(?P<{token.group(2)}>[^/]*)"))
        else:
            parts.append(("/", f"(?P<{token.group(2)}>[^/]+)"))
    pattern = ""
    for index, (sep, body) in enumerate(parts):
        pattern += body if index == 0 else (f"(?:/{body})?" if sep == "/?" else f"/{body}")
    # A trailing slash is ignored, as ASP.NET Core does, except that a catch-all keeps it.
    return re.compile(
        pattern if template.endswith("}") and "{*" in template.rsplit("/", 1)[-1] else pattern + "/?"
    )
