"""A damaged PKCS#12 file is `InvalidCertificate`; `InvalidPassword` only for a whole file whose
password is wrong. Files by `cryptography` and by `openssl pkcs12 -export`, RSA and EC."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shared.errors import CertgateError, InvalidCertificate, InvalidPassword
from shared.pkcs12 import load_pfx
from shared.pkcs12_der import MalformedPfx, authenticated_safes, pfx_without_mac
from tests.support.pki import CA, Issued, KeyKind, pfx_cryptography, pfx_openssl

Maker = Callable[[Issued, str, Path], bytes]
ENCRYPTED: dict[str, Maker] = {
    "cryptography-aes256": lambda i, pw, _: pfx_cryptography(i, pw),
    "cryptography-legacy": lambda i, pw, _: pfx_cryptography(i, pw, encoding="legacy"),
    "openssl-default": lambda i, pw, tmp: pfx_openssl(i, pw, tmp),
    "openssl-legacy": lambda i, pw, tmp: pfx_openssl(i, pw, tmp, legacy=True),
    "openssl-empty-password": lambda i, _, tmp: pfx_openssl(i, "", tmp),
}


@pytest.fixture(scope="module")
def ca() -> CA:
    return CA.new("pkcs12 damage root").intermediate("pkcs12 damage intermediate")


def password_of(maker: str) -> str:
    return "" if maker == "openssl-empty-password" else "pässwörd"


def spread(size: int, count: int) -> list[int]:
    """`count` offsets over the whole file, and the last bytes (the MAC) each."""
    return sorted({*range(0, size, max(1, size // count)), *range(max(0, size - 12), size)})


def outcome(data: bytes, password: str, thumbprint: str) -> str:
    try:
        loaded = load_pfx(data, password)
    except CertgateError as exc:
        return exc.code
    # a flip the parser does not notice must still give the very same certificate
    return "same" if loaded.describe().thumbprint == thumbprint else "other"


@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("maker", sorted(ENCRYPTED))
def test_truncated_and_flipped(ca: CA, tmp_path: Path, kind: KeyKind, maker: str) -> None:
    issued = ca.issue_client("damaged", kind)
    password = password_of(maker)
    data = ENCRYPTED[maker](issued, password, tmp_path)
    assert outcome(data, password, issued.thumbprint) == "same"
    for cut in spread(len(data), 40):
        assert outcome(data[:cut], password, issued.thumbprint) == "InvalidCertificate", cut
    for offset in spread(len(data), 30):
        flipped = bytearray(data)
        flipped[offset] ^= 0x10
        assert outcome(bytes(flipped), password, issued.thumbprint) in ("InvalidCertificate", "same"), offset


@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("maker", sorted(ENCRYPTED))
def test_wrong_password_on_a_whole_file(ca: CA, tmp_path: Path, kind: KeyKind, maker: str) -> None:
    issued = ca.issue_client("whole", kind)
    data = ENCRYPTED[maker](issued, password_of(maker), tmp_path)
    for wrong in ("wrong", "pässwörd ", "", "x" * 300):
        if wrong != password_of(maker):
            with pytest.raises(InvalidPassword):
                load_pfx(data, wrong)


def test_unencrypted_contents(ca: CA) -> None:
    """`cryptography` writes no encryption under an empty password: only the MAC depends on the
    password, so a damaged MAC cannot be told from a wrong password; truncation still can."""
    issued = ca.issue_client("plain")
    data = pfx_cryptography(issued, "")
    for cut in spread(len(data), 40):
        assert outcome(data[:cut], "", issued.thumbprint) == "InvalidCertificate", cut
    for offset in spread(len(data), 20):
        flipped = bytearray(data)
        flipped[offset] ^= 0x01
        assert outcome(bytes(flipped), "", issued.thumbprint) in (
            "InvalidCertificate",
            "InvalidPassword",
            "same",
        )
    with pytest.raises(InvalidPassword):
        load_pfx(data, "not the empty one")


def test_trailing_bytes_and_nul_password(ca: CA) -> None:
    data = pfx_cryptography(ca.issue_client("t"), "pw")
    with pytest.raises(InvalidCertificate):
        load_pfx(data + b"\x00", "wrong")
    with pytest.raises(InvalidPassword):  # OpenSSL's binding panics on a NUL: refused first
        load_pfx(data, "p\x00w")


def test_parts_open_without_the_mac(ca: CA, tmp_path: Path) -> None:
    issued = ca.issue_client("parts")
    data = pfx_openssl(issued, "pw", tmp_path)
    safes = authenticated_safes(data)
    assert len(safes) == 2  # certificates (encrypted), key (shrouded)
    assert load_pfx(pfx_without_mac(safes), "pw").describe().thumbprint == issued.thumbprint
    with pytest.raises(MalformedPfx):
        authenticated_safes(data + b"\x00")
    with pytest.raises(MalformedPfx):
        authenticated_safes(data[:-1])


def _indefinite(element: bytes) -> bytes:
    """The same element with an indefinite (BER) length."""
    header = 2 + (element[1] & 0x7F if element[1] & 0x80 else 0)
    return bytes((element[0], 0x80)) + element[header:] + b"\x00\x00"


def test_ber_indefinite_lengths(ca: CA) -> None:
    """Some Windows and Java exports write BER: an indefinite outer SEQUENCE still reads."""
    data = pfx_cryptography(ca.issue_client("ber"), "pw")
    ber = _indefinite(data)
    assert authenticated_safes(ber) == authenticated_safes(data)
    with pytest.raises(MalformedPfx):
        authenticated_safes(ber[:-1])
