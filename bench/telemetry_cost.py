"""`python -m bench.telemetry_cost`: what telemetry costs Forwarder.forward, in process.

The loop of bench/inprocess.py (sequential GETs through Forwarder.forward to a kept-alive mTLS
backend, body read to its end), on a real Azurite, run in fresh processes, alternately:
- off: no provider installed (the OpenTelemetry API's no-op instruments, as when
  APPLICATIONINSIGHTS_CONNECTION_STRING is not set);
- on: the SDK MeterProvider with a PeriodicExportingMetricReader and a TracerProvider with a
  BatchSpanProcessor, both exporting to exporters that drop what they get (the SDK's whole
  recording path, without the network).
Prints one JSON line per run and the medians of each mode.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _install_sdk() -> None:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        MetricsData,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DropMetrics(MetricExporter):
        def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> Any:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            return None

    class DropSpans(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    reader = PeriodicExportingMetricReader(DropMetrics(), export_interval_millis=1000)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DropSpans()))
    trace.set_tracer_provider(tracer_provider)


def run_one(mode: str, calls: int) -> dict[str, Any]:
    if mode == "on":
        _install_sdk()
    from shared.bodies import parse_upload
    from shared.config import load_settings
    from shared.gateway.forwarding import GatewayRequest
    from shared.models import ApiSpec
    from shared.services import build_services
    from tests.services import Azurite, app_environment
    from tests.support.pki import CA, pfx_cryptography
    from tests.support.tls_backends import EchoBackend

    root = CA.new("telemetry bench root", "ec")
    azurite = Azurite()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            trust = Path(tmp) / "root.pem"
            root.write_pem(trust)
            env = app_environment(azurite.connection_string, "tbench", REQUESTS_CA_BUNDLE=str(trust))
            services = build_services(load_settings(env))
            services.provisioner.ensure()
            data = base64.b64encode(pfx_cryptography(root.issue_client("bench client", kind="ec"), "pw"))
            services.certificates.upload(
                "bench", parse_upload({"properties": {"data": data.decode(), "password": "pw"}})
            )
            with EchoBackend(root.issue_server(), [root.cert_pem]) as backend:
                services.apis.put("bench", ApiSpec("", "bench", backend.url, "bench"))
                request = GatewayRequest("GET", "/gateway/bench/x", "", "http", "127.0.0.1", [], None, None)

                def forward() -> float:
                    started = time.perf_counter()
                    answer = services.forwarder.forward(request)
                    body = b"".join(answer.body)
                    elapsed = (time.perf_counter() - started) * 1e6
                    if answer.status != 200 or not body:
                        raise RuntimeError(f"forwarder answered {answer.status}")
                    return elapsed

                for _ in range(100):
                    forward()  # warm-up: resolve, session, connection
                samples = [forward() for _ in range(calls)]
                services.forwarder.close()
                handshakes = backend.handshakes
    finally:
        azurite.stop()
    return {
        "mode": mode,
        "n": calls,
        "median_us": round(statistics.median(samples), 1),
        "mean_us": round(statistics.fmean(samples), 1),
        "handshakes": handshakes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3, help="off/on pairs, each in fresh processes")
    parser.add_argument("--one", choices=("off", "on"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.calls)))
        return
    results: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for mode in ("off", "on"):
            out = (
                subprocess.run(
                    [sys.executable, "-m", "bench.telemetry_cost", "--one", mode, "--calls", str(args.calls)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            print(out, flush=True)
            results[mode].append(json.loads(out)["median_us"])
    off, on = statistics.median(results["off"]), statistics.median(results["on"])
    print(json.dumps({"off_median_us": off, "on_median_us": on, "cost_us": round(on - off, 1)}))


if __name__ == "__main__":
    main()
