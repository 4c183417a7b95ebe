"""certgate's metrics and spans, through the OpenTelemetry API.

The instruments are made once, at import, on the API's global meter and tracer: until a provider
is installed they are no-ops (proxies), and they bind to the provider `configure` (or a test)
installs later. The hot path only calls `.add()` / `.record()` / one span.

Exported only when APPLICATIONINSIGHTS_CONNECTION_STRING is set (read by shared/config.py): then
`configure` sets up azure-monitor-opentelemetry for metrics and traces, with every library
auto-instrumentation off (requests/urllib3 spans would carry backend URLs with their query,
`code=` and credentials included; Azure SDK spans, storage URLs) and its log export off (the
Functions host already ships the worker's log lines to Application Insights).

Never in telemetry: a body, a header value, a query string, a key, a password. Attributes are
the API id, an HTTP status, a contract error code and the last four characters of a thumbprint.
"""

from __future__ import annotations

import logging
import threading

from opentelemetry import metrics, trace

log = logging.getLogger(__name__)

_meter = metrics.get_meter("certgate")
TRACER = trace.get_tracer("certgate")

GATEWAY_REQUESTS = _meter.create_counter(
    "certgate.gateway.requests", unit="{request}", description="Gateway calls, by API and HTTP status"
)
GATEWAY_DURATION = _meter.create_histogram(
    "certgate.gateway.duration",
    unit="ms",
    description="Gateway call latency to the backend answer's head, by API",
)
GATEWAY_ERRORS = _meter.create_counter(
    "certgate.gateway.errors",
    unit="{error}",
    description="Failed gateway calls, by API and contract error code",
)
BACKEND_HANDSHAKES = _meter.create_counter(
    "certgate.backend.handshakes", unit="{connection}", description="New backend TLS connections"
)
BACKEND_SESSIONS = _meter.create_counter(
    "certgate.backend.sessions", unit="{session}", description="Backend sessions (connection pools) built"
)
CONFIG_RELOADS = _meter.create_counter(
    "certgate.config.reloads", unit="{reload}", description="Gateway configuration snapshots loaded"
)
STORAGE_CALLS = _meter.create_counter(
    "certgate.storage.calls", unit="{call}", description="Table and blob storage calls"
)

_configured = False
_lock = threading.Lock()


def configure(connection_string: str | None) -> bool:
    """Export to Application Insights when a connection string is given; else nothing (the
    instruments stay no-ops). Once per process; True when exporting."""
    global _configured
    if not connection_string:
        return False
    with _lock:
        if _configured:
            return True
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(
            connection_string=connection_string,
            disable_logging=True,
            enable_live_metrics=False,
            enable_performance_counters=False,
            instrumentation_options={
                name: {"enabled": False}
                for name in (
                    "azure_sdk",
                    "django",
                    "fastapi",
                    "flask",
                    "httpx",
                    "httpx2",
                    "psycopg2",
                    "requests",
                    "urllib",
                    "urllib3",
                )
            },
        )
        _configured = True
    log.info("telemetry: exporting metrics and traces to Application Insights")
    return True
