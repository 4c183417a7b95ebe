"""A small test PKI (in the manner of trustme): roots, intermediates, client and server
certificates, RSA or EC, and PKCS#12 files written by `cryptography` and by the openssl command."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import subprocess
import tempfile
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
    start, end = _validity(not_before, not_after)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _validity(
    not_before: datetime.datetime | None, not_after: datetime.datetime | None
) -> tuple[datetime.datetime, datetime.datetime]:
    """Fill in the missing bound so the period is never empty: an expired certificate needs only
    `not_after` in the past, a not-yet-valid one only `not_before` in the future."""
    month = datetime.timedelta(days=30)
    if not_before is None:
        # an hour back tolerates clock skew between the test and the code under test
        not_before = _now() - datetime.timedelta(hours=1)
        if not_after is not None and not_after <= not_before:
            not_before = not_after - month
    if not_after is None:
        not_after = max(_now(), not_before) + month
    if not_after <= not_before:
        raise ValueError(f"empty validity period: {not_before} .. {not_after}")
    return not_before, not_after


def _ca_start() -> datetime.datetime:
    # CAs reach a year back so that back-dated (expired) leaves still nest inside their issuers
    return _now() - datetime.timedelta(days=365)


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
            _builder(_name(name), _name(name), key, _ca_start(), _now() + datetime.timedelta(days=365))
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
            _builder(_name(name), self.cert.subject, key, _ca_start(), _now() + datetime.timedelta(days=180))
            # no path length limit: an intermediate may issue further intermediates
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
    """A PKCS#12 file written by `cryptography`: AES-256 (OpenSSL 3's default), legacy 3DES/SHA-1,
    or unencrypted (`none`). `cryptography` cannot encrypt under an empty password, so "" always
    gives an unencrypted file; `none` ignores the password and the file then opens only with ""
    (its MAC is keyed with the empty password). Without the key, `load_pkcs12` puts the leaf in
    `additional_certs`, not `cert`."""
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
    """A PKCS#12 file written by `openssl pkcs12 -export`: OpenSSL 3's defaults (PBES2/AES-256,
    SHA-256 MAC), `legacy` (RC2-40 certificates, 3DES key, SHA-1 MAC) or `des3` (3DES for both);
    the chain goes in with `-certfile`. Unlike `cryptography`, an empty password still encrypts."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    # a private directory per call: parallel calls for one certificate must not share file names
    with tempfile.TemporaryDirectory(dir=tmp_dir) as work:
        cert, key, out = Path(work) / "leaf.crt", Path(work) / "leaf.key", Path(work) / "out.pfx"
        cert.write_bytes(issued.cert_pem)
        key.write_bytes(issued.key_pem)
        # the password goes through the environment, not argv where any process could read it
        args = ["openssl", "pkcs12", "-export", "-in", str(cert), "-out", str(out), "-passout", "env:PFXPASS"]
        args += ["-nokeys"] if nokeys else ["-inkey", str(key)]
        if issued.chain:
            chain = Path(work) / "chain.pem"
            chain.write_bytes(b"".join(c.public_bytes(PEM) for c in issued.chain))
            args += ["-certfile", str(chain)]
        if legacy:
            args += ["-legacy"]
        if des3:
            args += ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"]
        done = subprocess.run(args, capture_output=True, env={**os.environ, "PFXPASS": password}, check=False)
        if done.returncode != 0:  # CalledProcessError would hide openssl's reason
            raise RuntimeError(f"{' '.join(args[:3])} failed: {done.stderr.decode(errors='replace')}")
        return out.read_bytes()
