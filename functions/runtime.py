"""Process-wide state of the function app: settings validated at import (a missing or bad key
ring stops the app at start-up), services built on first use, shared changes with the host's
other worker processes."""

from __future__ import annotations

from shared.config import load_settings
from shared.services import LazyServices
from shared.telemetry import configure

SETTINGS = load_settings()
configure(SETTINGS.applicationinsights_connection_string)  # nothing exported when not set
SERVICES = LazyServices(SETTINGS, sibling_workers=True)
