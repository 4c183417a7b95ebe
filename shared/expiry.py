"""The expiry report: every client and CA certificate, its days left as a gauge, and one warning
log record per threshold crossing (or expiry), once across all instances: a row per (kind,
certificate id, thumbprint, threshold) in the meta table, inserted only if absent; the winner logs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opentelemetry import metrics

from shared.storage.api_rows import ApiRows
from shared.storage.ca_certificate_rows import CaCertificateRows
from shared.storage.certificate_rows import CertificateRows
from shared.storage.errors import EntityExists
from shared.storage.tables import EntityTable

log = logging.getLogger("certgate.expiry")
GAUGE = "certgate.certificate.days_to_expiry"
EXPIRED = "expired"


@dataclass(frozen=True)
class Reported:
    certificate_id: str
    kind: str  # "client" or "ca"
    days_left: int
    threshold: str  # a number of days, or "expired"
    thumbprint_last4: str
    used_by: tuple[str, ...]


class ExpiryService:
    def __init__(
        self,
        certificates: CertificateRows,
        ca_certificates: CaCertificateRows,
        apis: ApiRows,
        reported: EntityTable,
        thresholds: Sequence[int],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        meter: metrics.Meter | None = None,
    ) -> None:
        """`meter`: the global provider's "certgate" meter unless given (tests pass their own)."""
        self._certificates = certificates
        self._ca_certificates = ca_certificates
        self._apis = apis
        self._reported = reported
        self._thresholds = sorted(set(thresholds))  # ascending: the lowest crossed one first
        self._clock = clock
        self._gauge = (meter or metrics.get_meter("certgate")).create_gauge(GAUGE, unit="d")

    def run(self, now: datetime | None = None) -> list[Reported]:
        """One pass; returns what this instance reported (and logged)."""
        moment = now or self._clock()
        found: list[tuple[str, str, str, datetime, tuple[str, ...]]] = []
        usage = self._apis.usage()
        for cert in self._certificates.all():
            found.append(
                ("client", cert.id, cert.info.thumbprint, cert.info.expiration, tuple(usage.get(cert.id, ())))
            )
        ca_usage = self._apis.ca_usage()
        for ca in self._ca_certificates.all():
            users = tuple(ca_usage.get(ca.id, ()))
            found.append(("ca", ca.id, ca.info.thumbprint, ca.info.expiration, users))
        reported: list[Reported] = []
        for kind, cert_id, thumbprint, expiration, used_by in found:
            left = (expiration - moment) // timedelta(days=1)  # whole days, as daysToExpiry
            self._gauge.set(left, {"certificate_id": cert_id, "kind": kind})
            threshold = self._crossed(expiration, moment)
            if threshold is None:
                continue
            entry = Reported(cert_id, kind, left, threshold, thumbprint[-4:], used_by)
            if self._claim(entry, thumbprint, moment):
                _warn(entry)
                reported.append(entry)
        return reported

    def _crossed(self, expiration: datetime, now: datetime) -> str | None:
        """The lowest threshold the certificate is within, "expired", or None."""
        if expiration <= now:
            return EXPIRED
        for days in self._thresholds:
            if expiration - now <= timedelta(days=days):
                return str(days)
        return None

    def _claim(self, entry: Reported, thumbprint: str, now: datetime) -> bool:
        row_key = f"{entry.kind}:{entry.certificate_id}:{thumbprint}:{entry.threshold}"
        try:
            self._reported.create(row_key, {"ReportedAt": now, "DaysLeft": entry.days_left})
        except EntityExists:
            return False
        return True


def _warn(entry: Reported) -> None:
    used_by = ",".join(entry.used_by) or "-"
    log.warning(
        "certificate expiry: certificate_id=%s kind=%s days_left=%s threshold=%s "
        "thumbprint_last4=%s used_by=%s",
        entry.certificate_id,
        entry.kind,
        entry.days_left,
        entry.threshold,
        entry.thumbprint_last4,
        used_by,
        extra={
            "certificate_id": entry.certificate_id,
            "kind": entry.kind,
            "days_left": entry.days_left,
            "threshold": entry.threshold,
            "thumbprint_last4": entry.thumbprint_last4,
            "used_by": list(entry.used_by),
        },
    )
