"""The expiry report against a real Azurite: thresholds, expiry, once per crossing, two
instances racing to report once, and the days-to-expiry gauge."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from shared.config import load_settings
from shared.expiry import ExpiryService
from shared.models import ApiSpec, Upload
from shared.services import Services, build_services
from tests.support.pki import CA, pfx_cryptography


def _upload(services: Services, ca: CA, cert_id: str, days: float) -> str:
    issued = ca.issue_client(cert_id, not_after=datetime.now(UTC) + timedelta(days=days))
    services.certificates.upload(cert_id, Upload(pfx_cryptography(issued, "pw"), "pw"))
    return issued.thumbprint


def _service(services: Services, reader: InMemoryMetricReader | None = None) -> ExpiryService:
    meter = MeterProvider(metric_readers=[reader]).get_meter("certgate") if reader else None
    expiry = services.expiry
    return ExpiryService(
        expiry._certificates,
        expiry._ca_certificates,
        expiry._apis,
        expiry._reported,
        [30, 14, 7, 1],
        meter=meter,
    )


def test_thresholds_expired_and_once_per_crossing(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    ca = CA.new("expiry root")
    thumb = _upload(services, ca, "soon", 5.5)  # within 7 days
    _upload(services, ca, "month", 20.5)  # within 30
    _upload(services, ca, "far", 90)  # none
    services.apis.put("orders", ApiSpec("", "orders", "https://orders.example/api", "soon"))
    services.ca_certificates.put("root", ca.cert_pem)  # a year left
    expiry = _service(services)
    with caplog.at_level(logging.WARNING, logger="certgate.expiry"):
        first = expiry.run()
    assert {(r.certificate_id, r.kind, r.threshold, r.days_left) for r in first} == {
        ("soon", "client", "7", 5),
        ("month", "client", "30", 20),
    }
    soon = next(r for r in first if r.certificate_id == "soon")
    assert soon.used_by == ("orders",) and soon.thumbprint_last4 == thumb[-4:]
    records = [r for r in caplog.records if r.name == "certgate.expiry"]
    assert len(records) == 2 and all(r.levelno == logging.WARNING for r in records)
    line = next(r.getMessage() for r in records if getattr(r, "certificate_id", "") == "soon")
    assert f"certificate_id=soon kind=client days_left=5 threshold=7 thumbprint_last4={thumb[-4:]}" in line
    assert "used_by=orders" in line
    # Run again the same day: nothing new.
    assert expiry.run() == []
    # Four days on: "soon" crossed 1 day; "month" crossed nothing new (still within 30, above 14).
    later = expiry.run(datetime.now(UTC) + timedelta(days=4.6))
    assert {(r.certificate_id, r.threshold) for r in later} == {("soon", "1")}
    # Past expiry of "soon" and the CA near its end: expired, the CA within 7 days.
    gone = expiry.run(datetime.now(UTC) + timedelta(days=360))
    assert {(r.certificate_id, r.kind, r.threshold) for r in gone} == {
        ("soon", "client", "expired"),
        ("month", "client", "expired"),
        ("far", "client", "expired"),
        ("root", "ca", "7"),
    }
    assert next(r for r in gone if r.certificate_id == "soon").days_left < 0
    assert expiry.run(datetime.now(UTC) + timedelta(days=361)) == []


def test_a_replaced_certificate_is_reported_again(services: Services) -> None:
    ca = CA.new("rotation root")
    _upload(services, ca, "rot", 10)
    expiry = _service(services)
    assert [r.threshold for r in expiry.run()] == ["14"]
    _upload(services, ca, "rot", 12)  # a new thumbprint: a new crossing
    assert [r.threshold for r in expiry.run()] == ["14"]


def test_two_instances_report_once(app_env: dict[str, str], services: Services) -> None:
    ca = CA.new("race root")
    for n in range(4):
        _upload(services, ca, f"race{n}", 3 + n)
    others = [build_services(load_settings(app_env)) for _ in range(2)]
    results: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)

    def run(n: int) -> None:
        barrier.wait()
        results[n] = [r.certificate_id for r in others[n].expiry.run()]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results[0] + results[1]) == [f"race{n}" for n in range(4)]
    for other in others:
        other.forwarder.close()


def test_days_to_expiry_gauge(services: Services) -> None:
    ca = CA.new("gauge root")
    _upload(services, ca, "g1", 9.5)
    services.ca_certificates.put("groot", ca.cert_pem)
    reader = InMemoryMetricReader()
    _service(services, reader).run()
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        (p.attributes["certificate_id"], p.attributes["kind"]): p.value
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "certgate.certificate.days_to_expiry"
        for p in m.data.data_points
    }
    assert points[("g1", "client")] == 9
    assert points[("groot", "ca")] in (364, 365)
    metric = next(m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)
    assert metric.unit == "d"
