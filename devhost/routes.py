"""The route table of the registered functions: route templates, methods and auth levels
taken from `app.get_functions()` (which may be called only once per app)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import azure.functions as func


@dataclass(frozen=True)
class Route:
    name: str
    template: str
    methods: frozenset[str]
    auth_level: str  # "anonymous" | "function" | "admin"
    pattern: re.Pattern[str]
    handler: Callable[..., Any]
    param_name: str  # the HttpRequest parameter of the user function
    literal_segments: int


def build_routes(app: func.FunctionApp) -> list[Route]:
    routes = []
    seen: set[tuple[str, str]] = set()
    for function in app.get_functions():
        trigger: Any = function.get_trigger()
        template = str(trigger.route or function.get_function_name())
        methods = frozenset(str(getattr(m, "value", m)).upper() for m in (trigger.methods or ()))
        for method in methods:
            if (template, method) in seen:
                raise ValueError(f"route {method} {template} is registered twice")
            seen.add((template, method))
        level = trigger.auth_level
        routes.append(
            Route(
                name=str(function.get_function_name()),
                template=template,
                methods=methods,
                auth_level=str(getattr(level, "value", level) or "function").lower(),
                pattern=_compile(template),
                handler=function.get_user_function(),
                param_name=trigger.name,
                literal_segments=sum(1 for s in template.split("/") if s and "{" not in s),
            )
        )
    # ASP.NET routing prefers literal segments over parameters, and catch-alls last.
    return sorted(routes, key=lambda r: (-r.literal_segments, "{*" in r.template))


def match(routes: list[Route], path: str) -> tuple[list[Route], dict[str, str]]:
    """The routes whose template matches `path` (raw, percent-encoded), most specific first,
    with the route parameters of the first (decoded, as the Functions host gives them)."""
    found: list[Route] = []
    params: dict[str, str] = {}
    for route in routes:
        m = route.pattern.fullmatch(path.strip("/"))
        if m:
            if not found:
                params = {k: unquote(v) for k, v in m.groupdict().items() if v is not None}
            found.append(route)
    return found, params


def _compile(template: str) -> re.Pattern[str]:
    parts = []
    for segment in template.strip("/").split("/"):
        token = re.fullmatch(r"\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\?)?\}", segment)
        if token is None:
            parts.append(("/", f"(?i:{re.escape(segment)})"))  # literals: case-insensitive, as in ASP.NET
        elif token.group(1):
            parts.append(("/?", f"(?P<{token.group(2)}>.*)"))
        elif token.group(3):
            parts.append(("/?", f"(?P<{token.group(2)}>[^/]*)"))
        else:
            parts.append(("/", f"(?P<{token.group(2)}>[^/]+)"))
    pattern = ""
    for index, (sep, body) in enumerate(parts):
        pattern += body if index == 0 else (f"(?:/{body})?" if sep == "/?" else f"/{body}")
    return re.compile(pattern)
