"""A throw-away test PKI made with `cryptography`: root CA, server and client certificates, PFX."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEM = serialization.Encoding.PEM
PFX_PASSWORD = "bench-pfx-password"


@dataclass(frozen=True)
class Pki:
    ca_pem: Path
    server_pem: Path
    server_key: Path
    client_pem: Path
    client_key: Path
    client_pfx: Path  # PKCS#12 of the client key, certificate and root, with PFX_PASSWORD

    def client_pem_bundle(self) -> bytes:
        return self.client_key.read_bytes() + self.client_pem.read_bytes()


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
    eku: list[x509.ObjectIdentifier] | None = None,
    san: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(directory: Path) -> Pki:
    ca_key = _key()
    ca_name = _name("certgate bench root")
    ca_cert = _issue("certgate bench root", ca_key, ca_name, ca_key, ca=True)
    server_key = _key()
    server_cert = _issue(
        "localhost",
        server_key,
        ca_name,
        ca_key,
        ca=False,
        eku=[ExtendedKeyUsageOID.SERVER_AUTH],
        san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client_key = _key()
    client_cert = _issue(
        "certgate bench client", client_key, ca_name, ca_key, ca=False, eku=[ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    pki = Pki(
        ca_pem=directory / "ca.pem",
        server_pem=directory / "server.pem",
        server_key=directory / "server.key",
        client_pem=directory / "client.pem",
        client_key=directory / "client.key",
        client_pfx=directory / "client.pfx",
    )
    pki.ca_pem.write_bytes(ca_cert.public_bytes(PEM))
    pki.server_pem.write_bytes(server_cert.public_bytes(PEM) + ca_cert.public_bytes(PEM))
    pki.server_key.write_bytes(_key_pem(server_key))
    pki.client_pem.write_bytes(client_cert.public_bytes(PEM))
    pki.client_key.write_bytes(_key_pem(client_key))
    pki.client_pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"bench-client",
            client_key,
            client_cert,
            [ca_cert],
            serialization.BestAvailableEncryption(PFX_PASSWORD.encode()),
        )
    )
    for path in (pki.server_key, pki.client_key):
        path.chmod(0o600)
    return pki
