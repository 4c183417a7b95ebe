"""The read-only certificate facts: SHA-256 thumbprint, subjectAltNames, days left and warnings,
computed when read; a row stored before they were recorded shows what it knows."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.models import Certificate
from shared.pkcs12 import CertificateInfo, ClientCertificate, subject_alternative_names
from tests.support.pki import CA, Issued, new_key, self_signed


def describe(issued: Issued) -> CertificateInfo:
    return ClientCertificate(issued.key, issued.cert, issued.chain).describe()


def properties(info: CertificateInfo, now: datetime) -> dict[str, object]:
    resource = Certificate("c", "v1", info).to_resource(now=now)
    return resource["properties"]  # type: ignore[no-any-return]


def test_client_certificate_from_a_ca() -> None:
    issued = CA.new("facts root").issue_client("facts client", "ec")
    info = describe(issued)
    der = issued.cert.public_bytes(serialization.Encoding.DER)
    assert info.thumbprint_sha256 == hashlib.sha256(der).hexdigest().upper()
    assert len(info.thumbprint_sha256) == 64
    assert info.subject_alternative_names == () and info.client_auth and not info.self_signed
    props = properties(info, issued.cert.not_valid_after_utc - timedelta(days=100, hours=1))
    assert props["daysToExpiry"] == 100 and props["warnings"] == []
    assert props["subjectAlternativeNames"] == [] and props["thumbprintSha256"] == info.thumbprint_sha256


def test_server_only_usage_and_self_signed() -> None:
    server = CA.new("facts root 2").issue_server(("api.example", "10.0.0.1", "::1"))
    info = describe(server)
    assert info.subject_alternative_names == ("DNS:api.example", "IP:10.0.0.1", "IP:::1")
    assert properties(info, info.expiration - timedelta(days=99))["warnings"] == ["NotClientAuth"]
    own = describe(self_signed("facts self"))  # no extended key usage: every use allowed
    assert own.self_signed and own.client_auth
    assert properties(own, own.expiration - timedelta(days=99))["warnings"] == ["SelfSigned"]


def test_expires_soon_is_computed_when_read() -> None:
    info = describe(self_signed("soon", not_after=datetime.now(UTC) + timedelta(days=300)))
    end = info.expiration
    assert properties(info, end - timedelta(days=31))["warnings"] == ["SelfSigned"]
    assert properties(info, end - timedelta(days=30))["warnings"] == ["ExpiresSoon", "SelfSigned"]
    assert properties(info, end - timedelta(days=29, hours=23))["daysToExpiry"] == 29
    assert properties(info, end - timedelta(seconds=1))["daysToExpiry"] == 0
    assert properties(info, end + timedelta(hours=1))["daysToExpiry"] == -1


def test_a_row_stored_before_the_facts_still_reads() -> None:
    known = describe(self_signed("old row"))
    old = replace(
        known, thumbprint_sha256=None, subject_alternative_names=None, client_auth=None, self_signed=None
    )
    props = properties(old, known.expiration - timedelta(days=10))
    assert "thumbprintSha256" not in props and "subjectAlternativeNames" not in props
    assert props["warnings"] == ["ExpiresSoon"] and props["daysToExpiry"] == 10


def test_every_kind_of_alternative_name() -> None:
    key = new_key("ec")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "names")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("*.example"),
                    x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
                    x509.RFC822Name("ops@example"),
                    x509.UniformResourceIdentifier("spiffe://example/gw"),
                    x509.DirectoryName(name),
                    x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]), critical=False)
        .sign(key, hashes.SHA256())
    )
    assert subject_alternative_names(cert) == (
        "DNS:*.example",
        "IP:192.0.2.1",
        "email:ops@example",
        "URI:spiffe://example/gw",
        "DirName:CN=names",
        "RID:1.2.3.4",
    )
    assert describe(Issued(cert, key)).client_auth  # anyExtendedKeyUsage allows client auth
