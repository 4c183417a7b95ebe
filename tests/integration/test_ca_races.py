"""Races between an API's PUT that trusts a CA certificate (tls.caCertificateIds) and that CA
certificate's delete, against a real Azurite: never an API trusting a missing CA certificate, and
a trusting PUT never moves the CA certificate's ETag."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shared.models import ApiSpec, TlsSettings
from shared.services import Services
from tests.integration.test_races import ROUNDS, attempt
from tests.support.pki import CA


def trusting(n: int, i: int, ca_id: str) -> ApiSpec:
    return ApiSpec("", f"ca{n}/{i}", "https://x.example", None, TlsSettings(ca_certificate_ids=(ca_id,)))


def test_trust_delete_races_never_leave_an_api_trusting_a_missing_ca(services: Services) -> None:
    pem = CA.new("race corp").cert_pem
    outcomes: set[str] = set()
    with ThreadPoolExecutor(max_workers=5) as pool:
        for n in range(ROUNDS):
            ca_id = f"carace{n}"
            etag = services.ca_certificates.put(ca_id, pem)[0].etag
            puts = [
                pool.submit(attempt, services.apis.put, f"caapi{n}-{i}", trusting(n, i, ca_id))
                for i in range(3)
            ]
            deletes = [pool.submit(attempt, services.ca_certificates.delete, ca_id) for _ in range(2)]
            results = [f.result() for f in puts + deletes]
            outcomes.update(results)
            ca = services.ca_certificates.get(ca_id) if ca_id in _ids(services) else None
            trusting_apis = [
                a
                for a in (services.apis.get_or_none(f"caapi{n}-{i}") for i in range(3))
                if a is not None and ca_id in a.spec.tls.ca_certificate_ids
            ]
            assert ca is not None or not trusting_apis, (n, results, trusting_apis)
            assert ca is None or ca.etag == etag  # neither the PUTs nor a refused delete wrote it
    assert "ok" in outcomes
    assert outcomes & {"CertificateInUse", "CertificateNotFound"}


def _ids(services: Services) -> set[str]:
    page = services.ca_certificates.list(top=1000, after=None)
    return {item["name"] for item in page.items}
