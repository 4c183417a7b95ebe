"""A stored version sealed under a key the ring lacks, against a real Azurite: the service,
the re-encryption tool and the gateway all say KeyRingMismatch and name the key id."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from shared.config import load_settings
from shared.errors import KeyRingMismatch
from shared.models import Upload
from shared.services import Services, build_services
from tests.services import PROJECT, TEST_KEY_RING
from tests.support.pki import CA, pfx_cryptography

RING_B = "b1:" + base64.b64encode(b"b" * 32).decode()
SAME_ID_OTHER_KEY = "t1:" + base64.b64encode(b"x" * 32).decode()


def with_ring(app_env: dict[str, str], ring: str) -> Services:
    built = build_services(load_settings({**app_env, "CERTGATE_ENCRYPTION_KEYS": ring}))
    built.provisioner.ensure()
    return built


@pytest.fixture(scope="module")
def issuer() -> CA:
    return CA.new("ring mismatch root")


def test_a_missing_key_id_is_named(app_env: dict[str, str], services: Services, issuer: CA) -> None:
    services.certificates.upload("sealed-a", Upload(pfx_cryptography(issuer.issue_client("a"), "pw"), "pw"))
    other = with_ring(app_env, RING_B)
    cert = other.certificates.get("sealed-a")
    with pytest.raises(KeyRingMismatch) as raised:
        other.certificates.load_material(cert)
    error = raised.value
    assert error.status == 500 and error.code == "KeyRingMismatch" and error.target == "sealed-a"
    assert "'t1'" in error.message and "does not hold" in error.message
    for key in (TEST_KEY_RING, RING_B):
        assert key.split(":", 1)[1] not in error.message
    assert b"PRIVATE KEY" in services.certificates.load_material(cert)  # the twin: ring A opens it


def test_another_key_under_the_same_id(app_env: dict[str, str], services: Services, issuer: CA) -> None:
    services.certificates.upload("sealed-b", Upload(pfx_cryptography(issuer.issue_client("b"), "pw"), "pw"))
    other = with_ring(app_env, SAME_ID_OTHER_KEY)
    with pytest.raises(KeyRingMismatch, match="another key under that id"):
        other.certificates.load_material(other.certificates.get("sealed-b"))


def test_reencryption_reseals_what_it_can_and_names_the_rest(
    app_env: dict[str, str], services: Services, issuer: CA
) -> None:
    services.certificates.upload("old-ring", Upload(pfx_cryptography(issuer.issue_client("o"), "pw"), "pw"))
    other = with_ring(app_env, RING_B)
    other.certificates.upload("new-ring", Upload(pfx_cryptography(issuer.issue_client("n"), "pw"), "pw"))
    with pytest.raises(KeyRingMismatch) as raised:
        other.certificates.reencrypt_all()
    assert [d.target for d in raised.value.details] == ["old-ring"]
    assert "'t1'" in raised.value.details[0].message and "1 already current" in raised.value.message

    tool = subprocess.run(
        [sys.executable, "-m", "shared.tools.reencrypt"],
        cwd=PROJECT,
        env={**app_env, "CERTGATE_ENCRYPTION_KEYS": RING_B, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tool.returncode == 1
    assert "KeyRingMismatch" not in tool.stdout and "Traceback" not in tool.stderr
    assert "reencrypt failed" in tool.stderr and "old-ring: " in tool.stderr and "'t1'" in tool.stderr
    # the twin: with both keys the tool re-seals the old version and succeeds
    both = subprocess.run(
        [sys.executable, "-m", "shared.tools.reencrypt"],
        cwd=PROJECT,
        env={**app_env, "CERTGATE_ENCRYPTION_KEYS": f"{TEST_KEY_RING},{RING_B}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert both.returncode == 0, both.stderr
    assert '"resealed": 1' in both.stdout


def test_an_upload_under_the_new_ring_replaces_an_unopenable_version(
    app_env: dict[str, str], services: Services, issuer: CA
) -> None:
    pfx = pfx_cryptography(issuer.issue_client("heal"), "pw")
    services.certificates.upload("heal", Upload(pfx, "pw"))
    other = with_ring(app_env, RING_B)
    replaced, created = other.certificates.upload("heal", Upload(pfx, "pw"))
    assert not created
    assert b"PRIVATE KEY" in other.certificates.load_material(replaced)
