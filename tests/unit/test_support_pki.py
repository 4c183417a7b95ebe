"""The test PKI itself: certificates verify as issued, validity bounds are what was asked for, and
every PKCS#12 variant (cryptography's and the openssl command's) loads back as written."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from tests.support.pki import CA, Issued, KeyKind, new_key, pfx_cryptography, pfx_openssl, self_signed

KINDS: list[KeyKind] = ["rsa", "ec"]
PASSWORDS = ["pw", "pässwörd ✓", ""]


@pytest.fixture(scope="module", params=KINDS)
def root(request: pytest.FixtureRequest) -> CA:
    return CA.new(f"support root {request.param}", request.param)


@pytest.fixture(scope="module")
def intermediate(root: CA) -> CA:
    return root.intermediate("support intermediate")


def verify_client(root: CA, issued: Issued, at: datetime | None = None) -> None:
    """RFC 5280 path validation by cryptography's verifier, stricter than OpenSSL's. Its web PKI
    profile wants a SAN on every leaf; client certificates here carry none (OpenSSL and the
    backends never ask for one), so that one requirement is relaxed."""
    leaf_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store([root.cert]))
        .time(at or datetime.now(UTC))
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=leaf_policy)
        .build_client_verifier()
    )
    verifier.verify(issued.cert, list(issued.chain))


def verify_server(root: CA, issued: Issued, name: x509.DNSName | x509.IPAddress) -> None:
    store = Store([root.cert])
    verifier = PolicyBuilder().store(store).time(datetime.now(UTC)).build_server_verifier(name)
    verifier.verify(issued.cert, list(issued.chain))


@pytest.mark.parametrize("kind", KINDS)
def test_new_key(kind: KeyKind) -> None:
    key = new_key(kind)
    if kind == "rsa":
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)


def test_issued_properties(intermediate: CA) -> None:
    issued = intermediate.issue_client("props")
    der = issued.cert.public_bytes(serialization.Encoding.DER)
    assert issued.thumbprint == hashlib.sha1(der).hexdigest().upper()
    assert re.fullmatch("[0-9A-F]{40}", issued.thumbprint)
    assert issued.subject == "CN=props,O=certgate tests"
    assert x509.load_pem_x509_certificate(issued.cert_pem) == issued.cert
    key = serialization.load_pem_private_key(issued.key_pem, None)
    assert key.public_key() == issued.key.public_key()
    assert x509.load_pem_x509_certificates(issued.chain_pem) == [issued.cert, intermediate.cert]


def test_client_certificate(root: CA) -> None:
    issued = root.issue_client("client")
    eku = issued.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert issued.chain == ()
    issued.cert.verify_directly_issued_by(root.cert)
    verify_client(root, issued)


def test_server_certificate_names_host_and_address(root: CA) -> None:
    issued = root.issue_server()
    san = issued.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    eku = issued.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    verify_server(root, issued, x509.DNSName("localhost"))
    verify_server(root, issued, x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    with pytest.raises(VerificationError):  # the refusal twin: a name it does not carry
        verify_server(root, issued, x509.DNSName("other.example"))


def test_intermediates_chain_up_to_the_root(root: CA) -> None:
    first = root.intermediate("i1")
    second = first.intermediate("i2")
    assert first.chain == (first.cert,) and second.chain == (second.cert, first.cert)
    issued = second.issue_client("deep")
    assert issued.chain == second.chain
    verify_client(root, issued)  # no path length limit stops a second intermediate
    with pytest.raises(VerificationError):  # without the intermediates there is no path
        verify_client(root, Issued(issued.cert, issued.key))


def test_foreign_root_does_not_verify(root: CA) -> None:
    with pytest.raises(VerificationError):
        verify_client(CA.new("foreign"), root.issue_client("c"))


def test_expired_certificate_needs_only_a_past_not_after(root: CA) -> None:
    now = datetime.now(UTC)
    expired = root.issue_client("expired", not_after=now - timedelta(days=2))
    assert expired.cert.not_valid_after_utc < now
    assert expired.cert.not_valid_before_utc < expired.cert.not_valid_after_utc
    with pytest.raises(VerificationError):
        verify_client(root, expired)
    verify_client(root, expired, at=now - timedelta(days=3))  # valid in its own past


def test_expired_self_signed() -> None:
    now = datetime.now(UTC)
    old = self_signed("old", not_before=now - timedelta(days=9), not_after=now - timedelta(seconds=1))
    assert old.cert.not_valid_before_utc < old.cert.not_valid_after_utc < now


def test_not_yet_valid(root: CA) -> None:
    start = datetime.now(UTC) + timedelta(days=100)
    future = root.issue_client("future", not_before=start)
    assert future.cert.not_valid_before_utc == start.replace(microsecond=0)
    assert future.cert.not_valid_after_utc > future.cert.not_valid_before_utc
    with pytest.raises(VerificationError):
        verify_client(root, future)


def test_empty_validity_is_refused(root: CA) -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="empty validity"):
        root.issue_client("never", not_before=now, not_after=now - timedelta(days=1))


@pytest.mark.parametrize("kind", KINDS)
def test_self_signed(kind: KeyKind) -> None:
    issued = self_signed("me", kind, hostnames=("localhost", "127.0.0.1"))
    assert issued.cert.issuer == issued.cert.subject and issued.chain == ()
    issued.cert.verify_directly_issued_by(issued.cert)
    san = issued.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    with pytest.raises(x509.ExtensionNotFound):  # no EKU: usable as client and as server
        issued.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


def test_write_pem(root: CA, tmp_path: Path) -> None:
    path = tmp_path / "root.pem"
    root.write_pem(path)
    assert path.read_bytes() == root.cert_pem
    assert x509.load_pem_x509_certificate(path.read_bytes()) == root.cert


# --- PKCS#12 -------------------------------------------------------------------------------


def load(data: bytes, password: str) -> pkcs12.PKCS12KeyAndCertificates:
    return pkcs12.load_pkcs12(data, password.encode() or None)


def assert_round_trip(data: bytes, password: str, issued: Issued) -> None:
    loaded = load(data, password)
    assert loaded.key is not None and loaded.key.public_key() == issued.key.public_key()
    assert loaded.cert is not None and loaded.cert.certificate == issued.cert
    assert [c.certificate for c in loaded.additional_certs] == list(issued.chain)


def openssl_info(data: bytes, password: str, tmp_path: Path) -> str:
    """What `openssl pkcs12 -info` says of the file's algorithms (-legacy reads every variant)."""
    path = tmp_path / "info.pfx"
    path.write_bytes(data)
    done = subprocess.run(
        ["openssl", "pkcs12", "-info", "-noout", "-legacy", "-in", str(path), "-passin", "env:PFXPASS"],
        capture_output=True,
        env={**os.environ, "PFXPASS": password},
        check=True,
    )
    return done.stderr.decode()  # openssl writes the -info lines to stderr


@pytest.mark.parametrize("password", ["pw", "pässwörd ✓"])
@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("aes256", ["MAC: sha256", "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"]),
        ("legacy", ["MAC: sha1", "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC"]),
    ],
)
def test_cryptography_pfx(
    intermediate: CA, tmp_path: Path, encoding: str, expected: list[str], password: str
) -> None:
    issued = intermediate.issue_client("crypto")
    data = pfx_cryptography(issued, password, encoding)  # type: ignore[arg-type]
    assert_round_trip(data, password, issued)
    info = openssl_info(data, password, tmp_path)
    assert all(e in info for e in expected), info
    with pytest.raises(ValueError):
        load(data, "wrong")


@pytest.mark.parametrize("encoding", ["none", "aes256"])
def test_cryptography_pfx_empty_password_is_unencrypted(
    intermediate: CA, tmp_path: Path, encoding: str
) -> None:
    issued = intermediate.issue_client("open")
    data = pfx_cryptography(issued, "", encoding)  # type: ignore[arg-type]
    assert_round_trip(data, "", issued)
    assert pkcs12.load_pkcs12(data, b"").cert is not None  # b"" and None both open it
    assert "Shrouded Keybag" not in openssl_info(data, "", tmp_path)  # the key is stored in clear


def test_cryptography_pfx_without_key(root: CA) -> None:
    issued = root.issue_client("nokey")
    loaded = load(pfx_cryptography(issued, "pw", include_key=False), "pw")
    assert loaded.key is None and loaded.cert is None  # without a key the leaf is just one more cert
    assert [c.certificate for c in loaded.additional_certs] == [issued.cert]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize(
    ("legacy", "des3", "expected"),
    [
        (False, False, ["MAC: sha256", "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC"]),
        (True, False, ["MAC: sha1", "PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC"]),
        (False, True, ["MAC: sha1", "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC"]),
    ],
    ids=["default", "legacy", "des3"],
)
def test_openssl_pfx(
    intermediate: CA, tmp_path: Path, legacy: bool, des3: bool, expected: list[str], password: str
) -> None:
    issued = intermediate.issue_client("ossl")
    data = pfx_openssl(issued, password, tmp_path, legacy=legacy, des3=des3)
    assert_round_trip(data, password, issued)
    info = openssl_info(data, password, tmp_path)
    assert all(e in info for e in expected), info
    assert "Shrouded Keybag" in info  # openssl encrypts the key even under the empty password
    assert sorted(p.name for p in tmp_path.iterdir()) == ["info.pfx"]  # no PEM left behind


@pytest.mark.parametrize("legacy", [False, True])
def test_openssl_pfx_without_key(root: CA, tmp_path: Path, legacy: bool) -> None:
    issued = root.issue_client("nokeys")
    loaded = load(pfx_openssl(issued, "pw", tmp_path, nokeys=True, legacy=legacy), "pw")
    assert loaded.key is None and loaded.cert is None
    assert [c.certificate for c in loaded.additional_certs] == [issued.cert]


def test_openssl_pfx_keeps_a_two_level_chain(root: CA, tmp_path: Path) -> None:
    issued = root.intermediate("i1").intermediate("i2").issue_client("deep")
    assert_round_trip(pfx_openssl(issued, "pw", tmp_path), "pw", issued)


def test_openssl_failure_says_why(root: CA, tmp_path: Path) -> None:
    other = root.issue_client("other")
    mismatched = Issued(root.issue_client("c").cert, other.key)  # key of another certificate
    with pytest.raises(RuntimeError, match=r"openssl pkcs12 -export failed: .*key"):
        pfx_openssl(mismatched, "pw", tmp_path)
