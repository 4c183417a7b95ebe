import base64

import pytest

from shared.envelope import EnvelopeError, key_id_of, open_sealed, parse_key_ring, seal
from shared.errors import ConfigurationError


def ring(*ids: str) -> str:
    return ",".join(f"{i}:{base64.b64encode(i.encode().ljust(32, b'x')).decode()}" for i in ids)


def test_seal_opens_with_the_same_context_and_newest_key() -> None:
    keys = parse_key_ring(ring("old", "new"))
    sealed = seal(keys, b"secret material", b"cert/v1")
    assert key_id_of(sealed) == "new"
    assert b"secret material" not in sealed
    assert open_sealed(keys, sealed, b"cert/v1") == b"secret material"


def test_old_blobs_open_with_old_keys_after_rotation() -> None:
    sealed = seal(parse_key_ring(ring("old")), b"data", b"ctx")
    assert open_sealed(parse_key_ring(ring("old", "new")), sealed, b"ctx") == b"data"


def test_other_context_is_refused() -> None:
    keys = parse_key_ring(ring("k"))
    sealed = seal(keys, b"data", b"cert-a/v1")
    with pytest.raises(EnvelopeError):
        open_sealed(keys, sealed, b"cert-b/v1")


def test_tampered_envelope_is_refused() -> None:
    keys = parse_key_ring(ring("k"))
    sealed = bytearray(seal(keys, b"data", b"ctx"))
    sealed[-1] ^= 1
    with pytest.raises(EnvelopeError):
        open_sealed(keys, bytes(sealed), b"ctx")


def test_missing_key_is_refused() -> None:
    sealed = seal(parse_key_ring(ring("gone")), b"data", b"ctx")
    with pytest.raises(EnvelopeError, match="gone"):
        open_sealed(parse_key_ring(ring("other")), sealed, b"ctx")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nocolon",
        "bad id:AAAA",
        "k:not-base64!",
        "k:" + base64.b64encode(b"short").decode(),
        ring("a", "a"),
    ],
)
def test_malformed_key_rings_are_configuration_errors(text: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_key_ring(text)
    assert "CERTGATE_ENCRYPTION_KEYS" in str(info.value)


def test_key_ring_never_shows_key_bytes() -> None:
    keys = parse_key_ring(ring("visible"))
    assert "visible" in repr(keys)
    assert base64.b64encode(b"visible".ljust(32, b"x")).decode() not in repr(keys)
