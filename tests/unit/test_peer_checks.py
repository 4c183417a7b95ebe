"""Our own checks of the backend's leaf (shared/gateway/peer_checks.py) and the normalisation of
pins at PUT: RFC 6125 name rules, SHA-1 and SHA-256 pins, each passing case with its refusal."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from shared.bodies import normalise_thumbprint
from shared.gateway.peer_checks import CertificateRefused, PeerChecks, check_peer, matches_host
from tests.support.pki import KeyKind, self_signed


@pytest.mark.parametrize(
    ("names", "host", "expected"),
    [
        (("api.example.com",), "api.example.com", True),
        (("api.example.com",), "API.Example.com.", True),
        (("api.example.com",), "www.example.com", False),
        (("*.example.com",), "api.example.com", True),
        (("*.example.com",), "a.api.example.com", False),  # one label only (RFC 6125 6.4.3)
        (("*.example.com",), "example.com", False),
        (("*.com",), "example.com", False),
        (("a*.example.com",), "ab.example.com", False),  # partial wildcards are not honoured
        (("127.0.0.1",), "127.0.0.1", True),
        (("127.0.0.1",), "127.0.0.2", False),
        (("::1",), "[::1]", True),
        (("127.0.0.1",), "localhost", False),
        ((), "localhost", False),  # no subjectAltName: the common name is never used
    ],
)
def test_name_rules(names: tuple[str, ...], host: str, expected: bool) -> None:
    assert (
        matches_host(self_signed(names[0] if names else "localhost", hostnames=names).cert, host) is expected
    )


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_pins(kind: KeyKind) -> None:
    leaf = self_signed("pinned", kind, hostnames=("localhost",))
    der = leaf.cert.public_bytes(Encoding.DER)
    for digest in ("sha1", "sha256"):
        pin = hashlib.new(digest, der).hexdigest().upper()
        check_peer(der, "localhost", PeerChecks(pins=(pin,)))
    other = self_signed("other", kind, hostnames=("localhost",)).cert.public_bytes(Encoding.DER)
    with pytest.raises(CertificateRefused, match="not the pinned one"):
        check_peer(other, "localhost", PeerChecks(pins=(hashlib.sha256(der).hexdigest().upper(),)))
    with pytest.raises(CertificateRefused, match="does not match its host name"):
        check_peer(der, "elsewhere", PeerChecks(check_name=True))
    with pytest.raises(CertificateRefused, match="no certificate"):
        check_peer(None, "localhost", PeerChecks(check_name=True))


def test_thumbprints_are_normalised() -> None:
    sha1 = "3a:1f " * 9 + "3a:1f"
    assert normalise_thumbprint(sha1) == "3A1F" * 10
    assert normalise_thumbprint("ab" * 32) == "AB" * 32
    for bad in ("AB" * 19, "AB" * 21, "ZZ" * 20, ""):
        assert normalise_thumbprint(bad) is None
