"""PKCS#12 parsing: check the password, extract key, leaf and chain, describe the leaf.

Pure: bytes and a password in, a `ClientCertificate` out. The key material it returns is only
ever serialised for the envelope (`to_pem_bundle`) and for the gateway's in-memory SSLContext.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from shared.errors import (
    CertificateExpired,
    InvalidCertificate,
    InvalidPassword,
    MissingPrivateKey,
)

PrivateKey = (
    rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
)


@dataclass(frozen=True)
class CertificateInfo:
    """What certgate shows about an uploaded certificate: public facts only."""

    subject: str
    issuer: str
    thumbprint: str
    not_before: datetime
    expiration: datetime
    key_type: str
    chain_length: int


@dataclass(frozen=True)
class ClientCertificate:
    key: PrivateKey
    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    def to_pem_bundle(self) -> bytes:
        """Unencrypted PKCS#8 key followed by the leaf and chain: for the envelope only."""
        key = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        certs = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.leaf, *self.chain))
        return key + certs

    def describe(self) -> CertificateInfo:
        return CertificateInfo(
            subject=self.leaf.subject.rfc4514_string(),
            issuer=self.leaf.issuer.rfc4514_string(),
            thumbprint=thumbprint(self.leaf),
            not_before=self.leaf.not_valid_before_utc,
            expiration=self.leaf.not_valid_after_utc,
            key_type=_key_type(self.key),
            chain_length=1 + len(self.chain),
        )


def thumbprint(cert: x509.Certificate) -> str:
    """SHA-1 of the DER encoding, 40 upper-case hex digits, as Azure shows it."""
    return (
        hashlib.sha1(cert.public_bytes(serialization.Encoding.DER), usedforsecurity=False).hexdigest().upper()
    )


def load_pfx(data: bytes, password: str, *, now: datetime | None = None) -> ClientCertificate:
    """Open a PKCS#12 file with its password and check it can serve as a client certificate."""
    try:
        loaded = pkcs12.load_pkcs12(data, password.encode("utf-8") if password else None)
    except ValueError as exc:
        if not _looks_like_pkcs12(data):
            raise InvalidCertificate("The data is not a PKCS#12 (.pfx) file.", target="data") from exc
        if not password:
            # An empty password may be stored as "no password" or as an empty string.
            try:
                loaded = pkcs12.load_pkcs12(data, b"")
            except ValueError:
                raise InvalidPassword(
                    "The password does not open this PKCS#12 file.", target="password"
                ) from exc
        else:
            raise InvalidPassword("The password does not open this PKCS#12 file.", target="password") from exc
    if loaded.key is None:
        raise MissingPrivateKey("The PKCS#12 file holds no private key.", target="data")
    if loaded.cert is None:
        raise InvalidCertificate("The PKCS#12 file holds no certificate for its key.", target="data")
    leaf = loaded.cert.certificate
    key = loaded.key
    if not isinstance(
        key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)
    ):
        raise InvalidCertificate("The private key type is not supported (use RSA or EC).", target="data")
    if key.public_key() != leaf.public_key():
        raise InvalidCertificate("The private key does not match the certificate.", target="data")
    moment = now or datetime.now(UTC)
    if leaf.not_valid_after_utc <= moment:
        raise CertificateExpired(
            f"The certificate expired on {leaf.not_valid_after_utc.isoformat()}.", target="data"
        )
    others = [c.certificate for c in loaded.additional_certs]
    return ClientCertificate(key=key, leaf=leaf, chain=_order_chain(leaf, others))


def _order_chain(leaf: x509.Certificate, others: list[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """Walk issuer links from the leaf up, so the chain is sent in the order TLS expects
    (RFC 8446 4.4.2); certificates not on the path keep their file order at the end."""
    ordered: list[x509.Certificate] = []
    remaining = [c for c in others if c != leaf]
    current = leaf
    while True:
        parent = next((c for c in remaining if c.subject == current.issuer), None)
        if parent is None or current.issuer == current.subject:
            break
        ordered.append(parent)
        remaining.remove(parent)
        current = parent
    return tuple(ordered + remaining)


def _key_type(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC-{key.curve.name}"
    return "Ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "Ed448"


def _looks_like_pkcs12(data: bytes) -> bool:
    """True when `data` starts like PFX ::= SEQUENCE { version INTEGER (3), authSafe ... }
    (RFC 7292 4): tells a wrong password apart from a file that is not PKCS#12 at all."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    length_byte = data[1]
    offset = 2 if length_byte < 0x80 else 2 + (length_byte & 0x7F)
    return data[offset : offset + 3] == b"\x02\x01\x03"
