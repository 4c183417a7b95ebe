"""Concurrency invariants against a real Azurite: no API bound to a missing certificate after
racing binds and deletes; never two APIs with one path after racing PUTs; binds, unbinds and
refused deletes never move a certificate's ETag; the deletion intent's own rules."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.conditions import Conditions
from shared.errors import CertgateError, CertificateInUse, CertificateNotFound
from shared.models import ApiSpec, Upload
from shared.services import Services
from shared.storage.deletion_intents import LEASE, DeletionIntents
from shared.storage.errors import STORAGE_CALLS
from shared.storage.tables import EntityTable
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


def intents_of(services: Services) -> DeletionIntents:
    return DeletionIntents(EntityTable(services.clients.tables["certificates"], "deletion"))


def test_binds_unbinds_and_refused_deletes_keep_the_certificates_etag(services: Services) -> None:
    pfx = pfx_cryptography(CA.new("etag root").issue_client("steady"), "pw")
    cert, _ = services.certificates.upload("steady", Upload(pfx, "pw"))
    services.certificates.upload("other", Upload(pfx, "pw"))
    services.apis.put("e1", ApiSpec("", "e/1", "https://x.example", "steady"))
    services.apis.put("e2", ApiSpec("", "e/2", "https://x.example", "steady"))
    services.apis.put("e1", ApiSpec("", "e/1b", "https://x.example", "steady"))  # a change, still bound
    with pytest.raises(CertificateInUse) as refused:
        services.certificates.delete("steady", Conditions(if_match=cert.etag))
    assert [d.target for d in refused.value.details] == ["e1", "e2"]
    assert services.certificates.get("steady").etag == cert.etag
    services.apis.put("e1", ApiSpec("", "e/1b", "https://x.example", "other"))  # rebound elsewhere
    services.apis.put("e2", ApiSpec("", "e/2", "https://x.example", None))  # unbound
    assert services.certificates.get("steady").etag == cert.etag
    assert intents_of(services).table.count() == 0  # the refused delete left no intent
    # With the ETag of the upload, once unused: deleted.
    assert services.certificates.delete("steady", Conditions(if_match=cert.etag)) is True


def test_a_bind_costs_one_storage_call_more_than_a_plain_put(services: Services) -> None:
    """The bind's guard is two point reads (the intent, then the certificate)."""
    pfx = pfx_cryptography(CA.new("cost root").issue_client("cost"), "pw")
    services.certificates.upload("cost", Upload(pfx, "pw"))

    def calls(api_id: str, cert_id: str | None) -> int:
        before = STORAGE_CALLS.value
        services.apis.put(api_id, ApiSpec("", f"cost/{api_id}", "https://x.example", cert_id))
        return STORAGE_CALLS.value - before

    calls("warm", None)
    plain, bound = calls("plain", None), calls("bound", "cost")
    assert bound - plain == 3  # the certificate's read before the write, the two after it
    assert bound == 8, bound


def test_a_bind_during_a_delete_is_refused_and_a_dead_deletes_intent_expires(services: Services) -> None:
    pfx = pfx_cryptography(CA.new("intent root").issue_client("held"), "pw")
    cert, _ = services.certificates.upload("held", Upload(pfx, "pw"))
    intents = intents_of(services)
    etag = intents.create("held")  # a delete between its intent and its end
    with pytest.raises(CertificateNotFound, match="being deleted"):
        services.apis.put("h1", ApiSpec("", "h/1", "https://x.example", "held"))
    assert services.apis.get_or_none("h1") is None  # rolled back
    # The same intent, left by a delete that died LEASE ago: binds pass, a delete takes it over.
    started = datetime.now(UTC) - LEASE * 2
    intents.table.replace("held", {"Started": started}, etag=etag)
    services.apis.put("h1", ApiSpec("", "h/1", "https://x.example", "held"))
    with pytest.raises(CertificateInUse):
        services.certificates.delete("held")
    assert intents.table.count() == 0
    assert services.certificates.get("held").etag == cert.etag
    services.apis.delete("h1")
    assert services.certificates.delete("held") is True
