"""Concurrency invariants against a real Azurite: no API bound to a missing certificate after
racing binds and deletes; never two APIs with one path after racing PUTs."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.errors import CertgateError
from shared.models import ApiSpec, Upload
from shared.services import Services
from tests.support.pki import CA, pfx_cryptography

ROUNDS = 12


def attempt(action: Callable[..., Any], *args: Any) -> str:
    try:
        action(*args)
    except CertgateError as exc:
        return exc.code
    return "ok"


def test_bind_delete_races_never_leave_a_dangling_binding(services: Services) -> None:
    pfx = pfx_cryptography(CA.new("race root").issue_client("racer"), "pw")
    outcomes: set[str] = set()
    with ThreadPoolExecutor(max_workers=5) as pool:
        for n in range(ROUNDS):
            cert_id = f"race{n}"
            services.certificates.upload(cert_id, Upload(pfx, "pw"))
            binds = [
                pool.submit(
                    attempt,
                    services.apis.put,
                    f"api{n}-{i}",
                    ApiSpec("", f"r{n}/{i}", "https://x.example", cert_id),
                )
                for i in range(3)
            ]
            deletes = [pool.submit(attempt, services.certificates.delete, cert_id) for _ in range(2)]
            results = [f.result() for f in binds + deletes]
            outcomes.update(results)
            cert_exists = services.certificates.get_or_none(cert_id) is not None
            bound = [
                a
                for a in (services.apis.get_or_none(f"api{n}-{i}") for i in range(3))
                if a is not None and a.spec.certificate_id == cert_id
            ]
            assert cert_exists or not bound, (n, results, bound)
    # the race was real: binds and deletes both won somewhere, and lost somewhere
    assert "ok" in outcomes
    assert outcomes & {"CertificateInUse", "CertificateNotFound"}


def test_same_path_puts_give_one_owner(services: Services) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        for n in range(ROUNDS):
            path = f"shared/{n}"
            futures = [
                pool.submit(
                    attempt, services.apis.put, f"p{n}-{i}", ApiSpec("", path, "https://x.example", None)
                )
                for i in range(6)
            ]
            results = [f.result() for f in futures]
            owners = [
                a
                for a in (services.apis.get_or_none(f"p{n}-{i}") for i in range(6))
                if a is not None and a.spec.path == path
            ]
            assert len(owners) == 1, (n, results)
            assert results.count("ok") == 1 and results.count("PathInUse") == 5, results


def test_concurrent_binds_of_one_certificate_all_succeed(services: Services) -> None:
    pfx = pfx_cryptography(CA.new("busy root").issue_client("busy"), "pw")
    services.certificates.upload("busy", Upload(pfx, "pw"))
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(
                lambda i: attempt(
                    services.apis.put, f"busy{i}", ApiSpec("", f"busy/{i}", "https://x.example", "busy")
                ),
                range(48),
            )
        )
    assert results == ["ok"] * 48
    assert services.certificates.get("busy").used_by == tuple(sorted(f"busy{i}" for i in range(48)))
