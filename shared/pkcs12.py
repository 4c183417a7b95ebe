"""PKCS#12 parsing: check the password, extract key, leaf and chain, describe the leaf.

Pure: bytes and a password in, a `ClientCertificate` out. The key material it returns is only
ever serialised for the envelope (`to_pem_bundle`) and for the gateway's in-memory SSLContext.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import exceptions, x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from shared.errors import (
    CertgateError,
    CertificateExpired,
    InvalidCertificate,
    InvalidPassword,
    MissingPrivateKey,
)
from shared.pkcs12_der import MalformedPfx, authenticated_safes, pfx_without_mac

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
    # None on rows stored before these were recorded: unknown, never guessed
    thumbprint_sha256: str | None = None
    subject_alternative_names: tuple[str, ...] | None = None
    client_auth: bool | None = None  # False when an extended key usage leaves out TLS client auth
    self_signed: bool | None = None


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
            thumbprint_sha256=hashlib.sha256(self.leaf.public_bytes(serialization.Encoding.DER))
            .hexdigest()
            .upper(),
            subject_alternative_names=subject_alternative_names(self.leaf),
            client_auth=_allows_client_auth(self.leaf),
            self_signed=_self_signed(self.leaf),
        )


def thumbprint(cert: x509.Certificate) -> str:
    """SHA-1 of the DER encoding, 40 upper-case hex digits, as Azure shows it."""
    return (
        hashlib.sha1(cert.public_bytes(serialization.Encoding.DER), usedforsecurity=False).hexdigest().upper()
    )


def load_pfx(data: bytes, password: str, *, now: datetime | None = None) -> ClientCertificate:
    """Open a PKCS#12 file with its password and check it can serve as a client certificate."""
    if "\x00" in password:
        # PKCS#12 passwords are NUL-terminated (RFC 7292 B.1), and OpenSSL's Rust binding
        # panics on one instead of raising: no file opens with it.
        raise InvalidPassword("The password must not contain a NUL character.", target="password")
    loaded = _open(data, password)
    if loaded is None:
        raise _refusal(data, password)
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


def subject_alternative_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The subjectAltName entries as OpenSSL prints their kinds: `DNS:x`, `IP:1.2.3.4`,
    `email:x`, `URI:x`, `DirName:<RFC 4514>`, `RID:<oid>`, `othername:<oid>`."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(_general_name(n) for n in names)


def _general_name(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"DirName:{name.value.rfc4514_string()}"
    if isinstance(name, x509.RegisteredID):
        return f"RID:{name.value.dotted_string}"
    if isinstance(name, x509.OtherName):
        return f"othername:{name.type_id.dotted_string}"
    return str(name)  # pragma: no cover - the list above is every GeneralName kind


def _allows_client_auth(cert: x509.Certificate) -> bool:
    """No extended key usage allows every use (RFC 5280 4.2.1.12); anyExtendedKeyUsage too."""
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in usages or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages


def _self_signed(cert: x509.Certificate) -> bool:
    """Issued by its own subject and signed by its own key."""
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, exceptions.InvalidSignature, exceptions.UnsupportedAlgorithm):
        return False
    return True


# A password no upload gives: a part that opens with the given password but not with this one
# depends on the password, so the given one is right.
_PROBE = "certgate probe 4f1c9e2a"
# Parts tried one by one when a file does not open; a real file has two or three.
_MAX_PARTS = 8


def _open(data: bytes, password: str) -> pkcs12.PKCS12KeyAndCertificates | None:
    """The file opened with `password`, or None. An empty password may have been written as
    "no password" or as an empty string: both are tried."""
    candidates = [password.encode("utf-8")] if password else [None, b""]
    for candidate in candidates:
        try:
            return pkcs12.load_pkcs12(data, candidate)
        except ValueError:
            continue
    return None


def _refusal(data: bytes, password: str) -> CertgateError:
    """Why a file did not open. OpenSSL says "Invalid password or PKCS12 data" for both, so:
    a structure that does not add up (a truncated file always) is `InvalidCertificate`; so is
    a file one of whose parts opens with this password, but not with another, without the MAC
    (the password is right, the file is damaged). Else `InvalidPassword`. When nothing but the
    MAC depends on the password (contents not encrypted), a damaged MAC reads as a wrong password."""
    if not _looks_like_pkcs12(data):
        return InvalidCertificate("The data is not a PKCS#12 (.pfx) file.", target="data")
    try:
        safes = authenticated_safes(data)
    except MalformedPfx as exc:
        return InvalidCertificate(f"The PKCS#12 file is truncated or damaged: {exc}.", target="data")
    for safe in safes[:_MAX_PARTS]:
        part = pfx_without_mac((safe,))
        if _open(part, password) is not None and _open(part, _PROBE) is None:
            return InvalidCertificate(
                "The PKCS#12 file is damaged: the password opens it, but its contents do not check out.",
                target="data",
            )
    return InvalidPassword("The password does not open this PKCS#12 file.", target="password")


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
