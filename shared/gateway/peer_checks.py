"""The checks certgate makes itself on the backend's leaf certificate, right after the
handshake and before any request byte: the pin (tls.serverCertificateThumbprints) and the
name when the chain is not validated (OpenSSL checks names only when it verifies the chain)."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from cryptography import x509


class CertificateRefused(Exception):
    """The backend's certificate failed one of our checks; the message says which."""


@dataclass(frozen=True)
class PeerChecks:
    pins: tuple[str, ...] = ()  # normalised upper-case hex, SHA-1 or SHA-256
    check_name: bool = False  # True only when OpenSSL does not (chain not validated)

    def __bool__(self) -> bool:
        return bool(self.pins) or self.check_name


def check_peer(der: bytes | None, host: str, checks: PeerChecks) -> None:
    """Raise CertificateRefused unless the leaf `der` passes `checks` for `host`."""
    if der is None:
        raise CertificateRefused("The backend presented no certificate.")
    if checks.pins:
        sha1 = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
        sha256 = hashlib.sha256(der).hexdigest().upper()
        if sha1 not in checks.pins and sha256 not in checks.pins:
            raise CertificateRefused(
                "The backend's certificate is not the pinned one: its thumbprint (SHA-1 "
                f"{sha1}, SHA-256 {sha256}) is not in tls.serverCertificateThumbprints."
            )
    if checks.check_name and not matches_host(x509.load_der_x509_certificate(der), host):
        raise CertificateRefused(
            f"The backend's certificate does not match its host name ({host!r} is not in its subjectAltName)."
        )


def matches_host(cert: x509.Certificate, host: str) -> bool:
    """RFC 6125 against the subjectAltName only (no common-name fallback, 6.4.4): an IP
    address matches an iPAddress entry; a DNS name a dNSName, where `*` may stand for the
    whole left-most label and matches exactly one label (6.4.3)."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return address in sans.get_values_for_type(x509.IPAddress)
    wanted = host.rstrip(".").lower().split(".")
    return any(_dns_match(name, wanted) for name in sans.get_values_for_type(x509.DNSName))


def _dns_match(pattern: str, wanted: list[str]) -> bool:
    labels = pattern.rstrip(".").lower().split(".")
    if len(labels) != len(wanted):
        return False
    first, *rest = labels
    if rest != wanted[1:]:
        return False
    if first == "*":
        return len(labels) > 2  # never `*.com`: at least two labels after the wildcard
    return "*" not in first and first == wanted[0]
