"""The local host runs timer functions on their schedule through the real worker: the expiry
timer, on a two-second schedule, reports a certificate made to expire soon in the host's log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.models import Upload
from shared.services import Services
from tests.services import DevHost
from tests.support.pki import CA, pfx_cryptography


def test_expiry_timer_runs_on_its_schedule(
    services: Services, app_env: dict[str, str], tmp_path: Path
) -> None:
    issued = CA.new("timer root").issue_client("soon", not_after=datetime.now(UTC) + timedelta(days=3.5))
    services.certificates.upload("timer-soon", Upload(pfx_cryptography(issued, "pw"), "pw"))
    host = DevHost(
        {**app_env, "CERTGATE_EXPIRY_SCHEDULE": "*/2 * * * * *", "CERTGATE_EXPIRY_WARNING_DAYS": "30,7"},
        log_path=tmp_path / "devhost.log",
    )
    try:
        host.log_line("schedule '*/2 * * * * *'")
        line = host.log_line("certificate_id=timer-soon", timeout=20)
        assert "kind=client days_left=3 threshold=7" in line
        assert f"thumbprint_last4={issued.thumbprint[-4:]}" in line
        assert "WARNING" in line or "warning" in line.lower()
        # Later runs succeed and report nothing new: one warning line for the crossing.
        host.log_line("expiry report done: 0 warning(s)", timeout=20)
        assert "run" in host.log_line("succeeded", timeout=10)
        text = host.log_text()
        assert text.count("certificate_id=timer-soon") == 1
        assert "failed" not in text
    finally:
        host.stop()
