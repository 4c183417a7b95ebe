"""The host's own settings: host.json (route prefix, functionTimeout, with the real host's
`AzureFunctionsJobHost__...` environment overrides), the body limit, the front-end limit, keys."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from devhost.keys import Keys

DEFAULT_BODY_LIMIT = 104857600  # FUNCTIONS_REQUEST_BODY_SIZE_LIMIT's default (100 MiB)
DEFAULT_FRONTEND_SECONDS = 230.0  # Azure Load Balancer's idle timeout in front of every app
DEFAULT_FUNCTION_TIMEOUT = "00:30:00"  # Flex Consumption's default functionTimeout


@dataclass(frozen=True)
class HostSettings:
    app_dir: Path
    route_prefix: str
    function_timeout: float | None  # None: unbounded ("-1")
    frontend_timeout: float
    body_limit: int
    keys: Keys
    workers: int


def load_settings(app_dir: Path, workers: int | None) -> HostSettings:
    host_json = json.loads((app_dir / "host.json").read_text(encoding="utf-8"))
    http = host_json.get("extensions", {}).get("http", {})
    # The real host's environment overrides of host.json (double underscore for each level).
    environ = os.environ
    prefix = environ.get("AzureFunctionsJobHost__extensions__http__routePrefix")
    if prefix is None:
        prefix = http.get("routePrefix", "api")
    timeout = environ.get("AzureFunctionsJobHost__functionTimeout") or host_json.get("functionTimeout")
    count = workers or int(os.environ.get("FUNCTIONS_WORKER_PROCESS_COUNT") or 1)
    if count < 1:
        raise ValueError("the worker count must be at least 1")
    return HostSettings(
        app_dir=app_dir,
        route_prefix=str(prefix),
        function_timeout=parse_timespan(str(timeout or DEFAULT_FUNCTION_TIMEOUT)),
        frontend_timeout=float(
            os.environ.get("CERTGATE_LOCAL_FRONTEND_TIMEOUT_SECONDS") or DEFAULT_FRONTEND_SECONDS
        ),
        body_limit=int(os.environ.get("FUNCTIONS_REQUEST_BODY_SIZE_LIMIT") or DEFAULT_BODY_LIMIT),
        keys=Keys(
            function_key=os.environ.get("CERTGATE_LOCAL_FUNCTION_KEY") or None,
            master_key=os.environ.get("CERTGATE_LOCAL_MASTER_KEY") or None,
        ),
        workers=count,
    )


def parse_timespan(text: str) -> float | None:
    """A .NET TimeSpan as host.json writes it: `[d.]hh:mm:ss[.fff]`; "-1" means unbounded."""
    text = text.strip()
    if text == "-1":
        return None
    days = 0
    if "." in text.split(":")[0]:
        day_text, text = text.split(".", 1)
        days = int(day_text)
    hours, minutes, seconds = text.split(":")
    return days * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
