"""PKCS#12 parsing: every encoding we accept, and each refusal with its own error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.errors import CertificateExpired, InvalidCertificate, InvalidPassword, MissingPrivateKey
from shared.pkcs12 import load_pfx
from tests.support.pki import CA, Issued, KeyKind, pfx_cryptography, pfx_openssl, self_signed


@pytest.fixture(scope="module")
def ca() -> CA:
    return CA.new("pkcs12 unit root")


@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("encoding", ["aes256", "legacy"])
@pytest.mark.parametrize("password", ["pw", "pässwörd ✓", ""])
def test_cryptography_files(ca: CA, kind: KeyKind, encoding: str, password: str) -> None:
    issued = ca.issue_client("c", kind)
    loaded = load_pfx(pfx_cryptography(issued, password, encoding=encoding), password)  # type: ignore[arg-type]
    info = loaded.describe()
    assert info.thumbprint == issued.thumbprint and info.subject == issued.subject
    assert info.key_type == ("RSA-2048" if kind == "rsa" else "EC-secp256r1")
    assert loaded.key.public_key() == issued.key.public_key()


@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize(("legacy", "des3"), [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("password", ["pw", "pässwörd", ""])
def test_openssl_files(
    ca: CA, tmp_path: Path, kind: KeyKind, legacy: bool, des3: bool, password: str
) -> None:
    issued = ca.issue_client("o", kind)
    loaded = load_pfx(pfx_openssl(issued, password, tmp_path, legacy=legacy, des3=des3), password)
    assert loaded.describe().thumbprint == issued.thumbprint


def test_chain_is_kept_in_order(ca: CA, tmp_path: Path) -> None:
    inner = ca.intermediate("i1").intermediate("i2")
    issued = inner.issue_client("leaf")
    loaded = load_pfx(pfx_openssl(issued, "pw", tmp_path), "pw")
    assert loaded.chain == issued.chain and len(loaded.chain) == 2
    bundle = loaded.to_pem_bundle()
    assert bundle.count(b"BEGIN CERTIFICATE") == 3 and bundle.startswith(b"-----BEGIN PRIVATE KEY")


def test_wrong_password(ca: CA) -> None:
    with pytest.raises(InvalidPassword):
        load_pfx(pfx_cryptography(ca.issue_client("w"), "right"), "wrong")
    with pytest.raises(InvalidPassword):
        load_pfx(pfx_cryptography(ca.issue_client("w"), "right"), "")


@pytest.mark.parametrize("data", [b"", b"garbage", b"0\x03\x02\x01\x05", b"-----BEGIN CERTIFICATE-----"])
def test_not_pkcs12(data: bytes) -> None:
    with pytest.raises(InvalidCertificate):
        load_pfx(data, "pw")


def test_no_private_key(ca: CA, tmp_path: Path) -> None:
    issued = ca.issue_client("n")
    with pytest.raises(MissingPrivateKey):
        load_pfx(pfx_openssl(issued, "pw", tmp_path, nokeys=True), "pw")
    with pytest.raises(MissingPrivateKey):
        load_pfx(pfx_cryptography(issued, "pw", include_key=False), "pw")


def test_expired() -> None:
    old: Issued = self_signed(
        "old",
        not_before=datetime.now(UTC) - timedelta(days=9),
        not_after=datetime.now(UTC) - timedelta(seconds=1),
    )
    with pytest.raises(CertificateExpired):
        load_pfx(pfx_cryptography(old, "pw"), "pw")


def test_self_signed_accepted() -> None:
    issued = self_signed("me", "ec")
    assert load_pfx(pfx_cryptography(issued, "pw"), "pw").describe().issuer == issued.subject
