"""Envelope encryption of stored PFX material: AES-256-GCM under a per-blob data key that a
key of the key ring wraps (RFC 3394 AES key wrap). Pure: bytes in, bytes out, no I/O.

Layout: b"CGE1" | len(kid) | kid | wrapped data key (40 bytes) | nonce (12) | ciphertext+tag.
The GCM associated data is the header plus the caller's context (certificate id and version),
so a blob copied under another certificate or version fails to open.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from shared.errors import ConfigurationError

MAGIC = b"CGE1"
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_WRAPPED_LEN = 40
_NONCE_LEN = 12


class EnvelopeError(Exception):
    """A stored envelope cannot be opened: unknown key id, tampered or foreign data."""


class KeyMissing(EnvelopeError):
    """The envelope names a key id that the ring lacks, or the ring's key of that id does not
    unwrap it (another key under the same id). Not tampering: the ring is the wrong one."""

    def __init__(self, message: str, *, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


@dataclass(frozen=True)
class KeyRing:
    """Key-encryption keys by id, oldest first; the last one wraps new data keys."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current_id(self) -> str:
        return self.keys[-1][0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.keys)

    def get(self, kid: str) -> bytes:
        for key_id, key in self.keys:
            if key_id == kid:
                return key
        raise KeyMissing(f"key id '{kid}' is not in the key ring", key_id=kid)

    def __repr__(self) -> str:  # never show key bytes, even in a traceback
        return f"KeyRing(ids={[k for k, _ in self.keys]})"


def parse_key_ring(text: str) -> KeyRing:
    """Parse 'id:base64(32 bytes),id2:...' (oldest first). Messages never echo key material."""
    entries = [e.strip() for e in text.split(",") if e.strip()]
    if not entries:
        raise ConfigurationError(
            "CERTGATE_ENCRYPTION_KEYS is empty: set it to 'keyId:<base64 of 32 random bytes>' "
            "(comma-separated, oldest first)."
        )
    keys: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries, start=1):
        kid, sep, encoded = entry.partition(":")
        if not sep or not _KID.fullmatch(kid):
            raise ConfigurationError(
                f"CERTGATE_ENCRYPTION_KEYS entry {position} must look like 'keyId:<base64>' "
                "with a key id of 1 to 32 characters A-Z a-z 0-9 _ -."
            )
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigurationError(f"CERTGATE_ENCRYPTION_KEYS key '{kid}' is not valid base64.") from exc
        if len(key) != 32:
            raise ConfigurationError(
                f"CERTGATE_ENCRYPTION_KEYS key '{kid}' must be 32 bytes (AES-256), got {len(key)}."
            )
        if any(kid == k for k, _ in keys):
            raise ConfigurationError(f"CERTGATE_ENCRYPTION_KEYS names key '{kid}' twice.")
        keys.append((kid, key))
    return KeyRing(tuple(keys))


def seal(ring: KeyRing, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt `plaintext` under a fresh data key wrapped by the ring's current key."""
    kid = ring.current_id.encode()
    data_key = AESGCM.generate_key(bit_length=256)
    header = MAGIC + bytes([len(kid)]) + kid + aes_key_wrap(ring.get(ring.current_id), data_key)
    nonce = os.urandom(_NONCE_LEN)
    return header + nonce + AESGCM(data_key).encrypt(nonce, plaintext, header + context)


def key_id_of(envelope: bytes) -> str:
    """The id of the key that wrapped this envelope's data key."""
    return _split(envelope)[1]


HEADER_PREFIX_LEN = len(MAGIC) + 1 + 32  # enough of any envelope to hold its key id


def key_id_of_header(prefix: bytes) -> str:
    """The key id from the first bytes of an envelope (at least up to the end of the id)."""
    if not prefix.startswith(MAGIC) or len(prefix) < len(MAGIC) + 1:
        raise EnvelopeError("not a certgate envelope")
    kid_end = len(MAGIC) + 1 + prefix[len(MAGIC)]
    if len(prefix) < kid_end:
        raise EnvelopeError("envelope header is truncated")
    return prefix[len(MAGIC) + 1 : kid_end].decode("ascii", errors="replace")


def open_sealed(ring: KeyRing, envelope: bytes, context: bytes) -> bytes:
    """Decrypt an envelope made by `seal` for the same `context`."""
    header, kid, wrapped, nonce, ciphertext = _split(envelope)
    try:
        data_key = aes_key_unwrap(ring.get(kid), wrapped)
    except InvalidUnwrap as exc:  # RFC 3394's integrity check: this is not the key that wrapped it
        message = f"the ring's key '{kid}' is not the key that sealed this envelope"
        raise KeyMissing(message, key_id=kid) from exc
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, header + context)
    except InvalidTag as exc:
        raise EnvelopeError("envelope failed authentication (wrong key or context)") from exc


def _split(envelope: bytes) -> tuple[bytes, str, bytes, bytes, bytes]:
    if not envelope.startswith(MAGIC) or len(envelope) < len(MAGIC) + 1:
        raise EnvelopeError("not a certgate envelope")
    kid_len = envelope[len(MAGIC)]
    kid_end = len(MAGIC) + 1 + kid_len
    wrap_end = kid_end + _WRAPPED_LEN
    nonce_end = wrap_end + _NONCE_LEN
    if len(envelope) < nonce_end + 16:
        raise EnvelopeError("envelope is truncated")
    kid = envelope[len(MAGIC) + 1 : kid_end].decode("ascii", errors="replace")
    return (
        envelope[:wrap_end],
        kid,
        envelope[kid_end:wrap_end],
        envelope[wrap_end:nonce_end],
        envelope[nonce_end:],
    )
