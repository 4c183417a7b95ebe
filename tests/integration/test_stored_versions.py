"""The /health scan against a real Azurite: which stored versions the key ring can open, from
the blob listing's metadata; reused until the marker moves or the TTL passes."""

from __future__ import annotations

import base64

from shared.config import load_settings
from shared.envelope import parse_key_ring, seal
from shared.health import StoredVersions
from shared.models import Upload
from shared.services import Services
from shared.storage.blobs import BlobStore
from shared.storage.errors import STORAGE_CALLS
from tests.services import TEST_KEY_RING
from tests.support.pki import CA, pfx_cryptography

RING_A = parse_key_ring(TEST_KEY_RING)
RING_B = parse_key_ring("b1:" + base64.b64encode(b"b" * 32).decode())


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_counts_what_the_ring_can_open(app_env: dict[str, str], services: Services) -> None:
    issuer = CA.new("scan root")
    for name in ("one", "two"):
        services.certificates.upload(name, Upload(pfx_cryptography(issuer.issue_client(name), "pw"), "pw"))
    blobs = BlobStore(services.clients.container)
    under_a = StoredVersions().report(blobs, RING_A, "e1")
    assert {k: v for k, v in under_a.items() if k != "checkedAt"} == {
        "total": 2,
        "openable": 2,
        "unopenable": 0,
        "missingKeyIds": [],
    }
    under_b = StoredVersions().report(blobs, RING_B, "e1")
    assert (under_b["openable"], under_b["unopenable"], under_b["missingKeyIds"]) == (0, 2, ["t1"])
    assert load_settings(app_env).key_ring.ids == ("t1",)


def test_a_blob_without_metadata_is_read_by_its_header_only(services: Services) -> None:
    services.clients.container.upload_blob("bare/v1", seal(RING_B, b"x" * 5000, b"ctx"))
    services.clients.container.upload_blob("junk/v1", b"not an envelope")
    report = StoredVersions().report(BlobStore(services.clients.container), RING_A, "e")
    assert (report["total"], report["unopenable"], report["missingKeyIds"]) == (2, 2, ["b1"])


def test_the_scan_is_reused_until_the_marker_moves_or_the_ttl_passes(services: Services) -> None:
    clock = Clock()
    scan = StoredVersions(ttl=60, clock=clock)
    blobs = BlobStore(services.clients.container)
    first = scan.report(blobs, RING_A, "e1")
    before = STORAGE_CALLS.value
    clock.now = 59
    assert scan.report(blobs, RING_A, "e1") is first
    assert STORAGE_CALLS.value == before  # no storage call while cached
    assert scan.report(blobs, RING_A, "e2") is not first  # a write moved the marker
    second = scan.report(blobs, RING_A, "e2")
    clock.now = 200
    assert scan.report(blobs, RING_A, "e2") is not second  # too old
    third = scan.report(blobs, RING_A, "e2")
    assert scan.report(blobs, RING_B, "e2") is not third  # another ring: counted again
