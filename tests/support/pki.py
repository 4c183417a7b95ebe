"""A small test PKI (in the manner of trustme): roots, intermediates, client and server
certificates, RSA or EC, and PKCS#12 files written by `cryptography` and by the openssl command."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyKind = Literal["rsa", "ec"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PEM = serialization.Encoding.PEM


def new_key(kind: KeyKind = "rsa") -> PrivateKey:
    return rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()  # intermediates from the issuer up, no root

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    @property
    def chain_pem(self) -> bytes:
        return self.cert_pem + b"".join(c.public_bytes(PEM) for c in self.chain)

    @property
    def thumbprint(self) -> str:
        return hashlib.sha1(self.cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certgate tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: PrivateKey,
    not_before: datetime.datetime | None,
    not_after: datetime.datetime | None,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or _now() - datetime.timedelta(hours=1))
        .not_valid_after(not_after or _now() + datetime.timedelta(days=30))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _san(hostnames: tuple[str, ...]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


class CA:
    def __init__(self, cert: x509.Certificate, key: PrivateKey, chain: tuple[x509.Certificate, ...]) -> None:
        self.cert, self.key, self.chain = cert, key, chain  # chain: this CA and its parents, no root

    @classmethod
    def new(cls, name: str, kind: KeyKind = "rsa") -> CA:
        key = new_key(kind)
        cert = (
            _builder(_name(name), _name(name), key, None, _now() + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key, ())

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(PEM)

    def write_pem(self, path: Path) -> None:
        path.write_bytes(self.cert_pem)

    def intermediate(self, name: str, kind: KeyKind = "rsa") -> CA:
        key = new_key(kind)
        cert = (
            _builder(_name(name), self.cert.subject, key, None, None)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        return CA(cert, key, (cert, *self.chain))

    def _issue(
        self,
        cn: str,
        kind: KeyKind,
        usage: x509.ObjectIdentifier,
        hostnames: tuple[str, ...],
        not_before: datetime.datetime | None,
        not_after: datetime.datetime | None,
    ) -> Issued:
        key = new_key(kind)
        builder = (
            _builder(_name(cn), self.cert.subject, key, not_before, not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        )
        if hostnames:
            builder = builder.add_extension(_san(hostnames), critical=False)
        return Issued(builder.sign(self.key, hashes.SHA256()), key, self.chain)

    def issue_client(
        self,
        cn: str,
        kind: KeyKind = "rsa",
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> Issued:
        return self._issue(cn, kind, ExtendedKeyUsageOID.CLIENT_AUTH, (), not_before, not_after)

    def issue_server(
        self, hostnames: tuple[str, ...] = ("localhost", "127.0.0.1"), kind: KeyKind = "rsa"
    ) -> Issued:
        return self._issue(hostnames[0], kind, ExtendedKeyUsageOID.SERVER_AUTH, hostnames, None, None)


def self_signed(
    cn: str,
    kind: KeyKind = "rsa",
    hostnames: tuple[str, ...] = (),
    not_after: datetime.datetime | None = None,
    not_before: datetime.datetime | None = None,
) -> Issued:
    key = new_key(kind)
    builder = _builder(_name(cn), _name(cn), key, not_before, not_after)
    if hostnames:
        builder = builder.add_extension(_san(hostnames), critical=False)
    return Issued(builder.sign(key, hashes.SHA256()), key)


def pfx_cryptography(
    issued: Issued,
    password: str,
    encoding: Literal["aes256", "legacy", "none"] = "aes256",
    include_key: bool = True,
) -> bytes:
    """A PKCS#12 file written by `cryptography`: AES-256 (OpenSSL 3's default), legacy 3DES, or
    unencrypted (`none`, for the empty password)."""
    secret = password.encode()
    algorithm: serialization.KeySerializationEncryption
    if encoding == "none" or not secret:
        algorithm = serialization.NoEncryption()
    elif encoding == "legacy":
        algorithm = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(secret)
        )
    else:
        algorithm = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(50000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(secret)
        )
    return pkcs12.serialize_key_and_certificates(
        b"certgate-test",
        issued.key if include_key else None,
        issued.cert,
        list(issued.chain) or None,
        algorithm,
    )


def pfx_openssl(
    issued: Issued,
    password: str,
    tmp_dir: Path,
    legacy: bool = False,
    nokeys: bool = False,
    des3: bool = False,
) -> bytes:
    """A PKCS#12 file written by the `openssl pkcs12 -export` command (OpenSSL 3's defaults unless
    `legacy` (RC2/3DES, `-legacy`) or `des3`); the chain goes in with `-certfile`."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    stem = tmp_dir / f"p{os.getpid()}-{issued.thumbprint[:12]}"
    cert, key, out = stem.with_suffix(".crt"), stem.with_suffix(".key"), stem.with_suffix(".pfx")
    cert.write_bytes(issued.cert_pem)
    key.write_bytes(issued.key_pem)
    args = ["openssl", "pkcs12", "-export", "-in", str(cert), "-out", str(out), "-passout", "env:PFXPASS"]
    args += ["-nokeys"] if nokeys else ["-inkey", str(key)]
    if issued.chain:
        chain = stem.with_suffix(".chain.pem")
        chain.write_bytes(b"".join(c.public_bytes(PEM) for c in issued.chain))
        args += ["-certfile", str(chain)]
    if legacy:
        args += ["-legacy"]
    if des3:
        args += ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"]
    subprocess.run(args, check=True, capture_output=True, env={**os.environ, "PFXPASS": password})
    data = out.read_bytes()
    for path in (cert, key, out):
        path.unlink()
    return data
