"""The metrics and spans certgate records, read from the OpenTelemetry SDK through in-memory
readers and exporters, for calls through the Forwarder against a real mTLS backend on a real
Azurite; and nothing secret in any of it (query, header values, body, PFX password)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from shared import telemetry
from shared.bodies import parse_upload
from shared.config import load_settings
from shared.errors import BackendUnreachable
from shared.gateway.forwarding import GatewayRequest
from shared.models import ApiSpec
from shared.services import Services, build_services
from tests.conftest import unique_prefix
from tests.services import Azurite, app_environment
from tests.support.pki import CA, pfx_cryptography
from tests.support.tls_backends import EchoBackend, closed_port

PASSWORD = "SECRET4"


@pytest.fixture(scope="module")
def exported() -> tuple[InMemoryMetricReader, InMemorySpanExporter]:
    """The SDK providers, installed once for this test process (the API allows one each)."""
    reader = InMemoryMetricReader()
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    trace.set_tracer_provider(tracer_provider)
    return reader, spans


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[CA, Path]:
    root = CA.new("telemetry root", "ec")
    path = tmp_path_factory.mktemp("trust") / "root.pem"
    root.write_pem(path)
    return root, path


@pytest.fixture
def gateway(azurite: Azurite, pki: tuple[CA, Path], exported: Any) -> Iterator[Services]:
    root, trust = pki
    env = app_environment(
        azurite.connection_string,
        unique_prefix(),
        REQUESTS_CA_BUNDLE=str(trust),
        CERTGATE_BACKEND_TIMEOUT_SECONDS="2",
    )
    services = build_services(load_settings(env))
    services.provisioner.ensure()
    client = root.issue_client("telemetry client", kind="ec")
    data = base64.b64encode(pfx_cryptography(client, PASSWORD)).decode()
    services.certificates.upload("tel", parse_upload({"properties": {"data": data, "password": PASSWORD}}))
    yield services
    services.forwarder.close()


@pytest.fixture
def echo(gateway: Services, pki: tuple[CA, Path]) -> Iterator[EchoBackend]:
    root, _ = pki
    with EchoBackend(root.issue_server(), [root.cert_pem]) as server:
        gateway.apis.put("orders", ApiSpec("", "orders", server.url, "tel"))
        yield server


def forward(
    gateway: Services,
    path: str,
    *,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
) -> tuple[int, bytes]:
    request = GatewayRequest(
        "POST" if body is not None else "GET",
        path,
        query,
        "https",
        "gw.test",
        headers or [],
        None if body is None else [body],
        None if body is None else len(body),
    )
    answer = gateway.forwarder.forward(request)
    return answer.status, b"".join(answer.body)


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """Metric name: [(attributes, value: the sum, or the histogram's count)]."""
    out: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = point.count  # type: ignore[attr-defined]
                    out.setdefault(metric.name, []).append((dict(point.attributes or {}), value))
    return out


def value(found: dict[str, list[tuple[dict[str, Any], Any]]], name: str, **attributes: Any) -> Any:
    return sum(v for attrs, v in found.get(name, []) if attrs == attributes)


def test_gateway_calls_record_requests_latency_handshakes_sessions_and_a_span(
    gateway: Services, echo: EchoBackend, exported: Any
) -> None:
    reader, spans = exported
    before = points(reader)
    spans.clear()
    for _ in range(3):
        assert forward(gateway, "/gateway/orders/x")[0] == 200
    assert forward(gateway, "/gateway/orders/x", headers=[("X-Echo-Status", "418")])[0] == 418
    after = points(reader)

    def delta(name: str, **attributes: Any) -> Any:
        return value(after, name, **attributes) - value(before, name, **attributes)

    assert delta("certgate.gateway.requests", api="orders", status=200) == 3
    assert delta("certgate.gateway.requests", api="orders", status=418) == 1
    assert delta("certgate.gateway.duration", api="orders") == 4  # histogram count
    assert delta("certgate.backend.handshakes", api="orders") == 1  # kept alive after the first
    assert delta("certgate.backend.sessions", api="orders") == 1
    assert delta("certgate.config.reloads") >= 1
    assert delta("certgate.storage.calls") >= 1
    assert value(after, "certgate.gateway.errors", api="orders", code="BackendUnreachable") == value(
        before, "certgate.gateway.errors", api="orders", code="BackendUnreachable"
    )

    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == ["gateway orders"] * 4
    thumb = gateway.certificates.get("tel").info.thumbprint[-4:]
    assert dict(finished[0].attributes or {}) == {
        "certgate.api": "orders",
        "certgate.certificate.thumbprint_last4": thumb,
        "http.response.status_code": 200,
    }
    assert finished[3].attributes["http.response.status_code"] == 418  # type: ignore[index]
    assert all(s.status.status_code != StatusCode.ERROR for s in finished)


def test_a_failing_backend_records_the_error_code_and_an_error_span(gateway: Services, exported: Any) -> None:
    reader, spans = exported
    gateway.apis.put("down", ApiSpec("", "down", f"https://127.0.0.1:{closed_port()}", "tel"))
    before = points(reader)
    spans.clear()
    with pytest.raises(BackendUnreachable) as raised:
        forward(gateway, "/gateway/down/x")
    after = points(reader)
    code, status = raised.value.code, raised.value.status
    assert (
        value(after, "certgate.gateway.errors", api="down", code=code)
        - value(before, "certgate.gateway.errors", api="down", code=code)
        == 1
    )
    assert (
        value(after, "certgate.gateway.requests", api="down", status=status)
        - value(before, "certgate.gateway.requests", api="down", status=status)
        == 1
    )
    (span,) = spans.get_finished_spans()
    assert span.name == "gateway down"
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == code  # the contract code, not the exception's message
    assert span.attributes["http.response.status_code"] == status  # type: ignore[index]
    assert span.events == ()  # no exception recorded: its message could carry a URL

    # an unknown API is counted too, under "unknown" (no span: there is no API to name it by)
    with pytest.raises(Exception) as unknown:
        forward(gateway, "/gateway/nowhere/x")
    code = unknown.value.code  # type: ignore[attr-defined]
    assert value(points(reader), "certgate.gateway.errors", api="unknown", code=code) >= 1


def test_no_query_header_value_body_or_password_reaches_what_is_exported(
    gateway: Services, echo: EchoBackend, exported: Any
) -> None:
    reader, spans = exported
    spans.clear()
    status, data = forward(
        gateway,
        "/gateway/orders/secret-path",
        query="code=SECRET1&x=1",
        headers=[("Authorization", "Bearer SECRET2")],
        body=b"SECRET3",
    )
    assert status == 200
    echoed = json.loads(data)
    assert echoed["body_len"] == 7  # the call carried them all to the backend
    dumped = [span.to_json() for span in spans.get_finished_spans()]
    data_points = reader.get_metrics_data()
    assert data_points is not None
    dumped.append(data_points.to_json())
    text = "\n".join(dumped)
    assert "gateway orders" in text and "certgate.gateway.requests" in text
    for secret in ("SECRET1", "SECRET2", "SECRET3", PASSWORD, "code=", "Bearer"):
        assert secret not in text, secret


def test_nothing_is_configured_without_a_connection_string() -> None:
    assert telemetry.configure(None) is False
    assert telemetry.configure("") is False


def test_with_a_connection_string_no_library_is_auto_instrumented(tmp_path: Path) -> None:
    """requests/urllib3 spans would carry backend URLs (query included), Azure SDK spans the
    storage URLs: configure() leaves every library as it is (run in a process of its own)."""
    script = """
import sys, requests, urllib3
from opentelemetry import metrics, trace
from shared import telemetry
assert telemetry.configure(
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
)
assert type(metrics.get_meter_provider()).__module__.startswith("opentelemetry.sdk")
assert type(trace.get_tracer_provider()).__module__.startswith("opentelemetry.sdk")
wrapped = [
    name for name, f in (
        ("requests", requests.Session.send),
        ("urllib3", urllib3.connectionpool.HTTPConnectionPool.urlopen),
        ("urllib", __import__("urllib.request").request.OpenerDirector.open),
    ) if hasattr(f, "__wrapped__")
]
import azure.core.settings
assert azure.core.settings.settings.tracing_implementation() is None, "azure sdk tracing"
assert not wrapped, wrapped
print("ok")
"""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
