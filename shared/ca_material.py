"""A public CA certificate from the bytes of an upload (PEM or DER): its facts and its PEM.
Pure; refuses anything holding a private key (a CA certificate resource is public data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from shared.errors import InvalidCertificate
from shared.pkcs12 import thumbprint


@dataclass(frozen=True)
class CaInfo:
    subject: str
    issuer: str
    thumbprint: str
    expiration: datetime
    is_ca: bool


@dataclass(frozen=True)
class CaMaterial:
    info: CaInfo
    pem: str


def load_ca_certificate(data: bytes) -> CaMaterial:
    """Exactly one certificate, PEM or DER; InvalidCertificate for a private key or anything else."""
    if b"PRIVATE KEY" in data:
        raise InvalidCertificate(
            "The data holds a private key: a CA certificate must be public (upload only the certificate).",
            target="properties.data",
        )
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise InvalidCertificate(
            "The data is not a PEM or DER X.509 certificate.", target="properties.data"
        ) from exc
    if len(certs) != 1:
        raise InvalidCertificate(
            f"The data holds {len(certs)} certificates: upload one CA certificate per resource.",
            target="properties.data",
        )
    return describe(certs[0])


def describe(cert: x509.Certificate) -> CaMaterial:
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    info = CaInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        thumbprint=thumbprint(cert),
        expiration=cert.not_valid_after_utc,
        is_ca=is_ca,
    )
    return CaMaterial(info, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
