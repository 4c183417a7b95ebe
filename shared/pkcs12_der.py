"""The outer BER/DER structure of a PKCS#12 file (RFC 7292 4), read without its password.

Pure bytes in, bytes out: it tells a truncated or mangled file from a whole one, and splits the
AuthenticatedSafe into its parts so that each can be opened on its own. It decrypts nothing.
"""

from __future__ import annotations

from typing import NamedTuple

_SEQUENCE, _INTEGER, _OCTET_STRING, _OID, _CONTEXT_0 = 0x30, 0x02, 0x04, 0x06, 0xA0
_ID_DATA = bytes.fromhex("2a864886f70d010701")  # 1.2.840.113549.1.7.1
_CONSTRUCTED = 0x20
_MAX_DEPTH = 32


class MalformedPfx(ValueError):
    """The bytes are not a whole PKCS#12 structure: truncated, padded or with a broken field."""


class _Element(NamedTuple):
    tag: int
    at: int  # first byte of the element
    content: int  # first byte of its content
    content_end: int  # end of its content (before an end-of-contents marker)
    end: int  # end of the element


def authenticated_safes(data: bytes) -> tuple[bytes, ...]:
    """The ContentInfo parts of PFX ::= SEQUENCE {version 3, authSafe ContentInfo (data),
    macData OPTIONAL}, each as its own encoding. Raises `MalformedPfx` unless every length, at
    every constructed level, adds up exactly to the file: a truncated file always fails here."""
    pfx = _element(data, 0, len(data))
    if pfx.tag != _SEQUENCE or pfx.end != len(data):
        raise MalformedPfx("the outer SEQUENCE does not span the file")
    fields = _children(data, pfx, 0)
    if len(fields) not in (2, 3) or _value(data, fields[0], _INTEGER) != b"\x03":
        raise MalformedPfx("not a version 3 PFX")
    if len(fields) == 3 and fields[2].tag != _SEQUENCE:
        raise MalformedPfx("macData is not a SEQUENCE")
    info = _children(data, fields[1], 1) if fields[1].tag == _SEQUENCE else []
    if len(info) != 2 or _value(data, info[0], _OID) != _ID_DATA or info[1].tag != _CONTEXT_0:
        raise MalformedPfx("authSafe is not a data ContentInfo")
    wrapped = _children(data, info[1], 2)
    if len(wrapped) != 1:
        raise MalformedPfx("authSafe content is not one OCTET STRING")
    safe = _octets(data, wrapped[0], 3)
    top = _element(safe, 0, len(safe))
    if top.tag != _SEQUENCE or top.end != len(safe):
        raise MalformedPfx("AuthenticatedSafe is not a SEQUENCE")
    parts = _children(safe, top, 4)
    if not parts or any(p.tag != _SEQUENCE for p in parts):
        raise MalformedPfx("AuthenticatedSafe holds no ContentInfo")
    return tuple(safe[p.at : p.end] for p in parts)


def pfx_without_mac(safes: tuple[bytes, ...]) -> bytes:
    """A DER PFX holding `safes` and no macData: OpenSSL then checks no MAC, so each part
    opens or fails on its own encryption alone."""
    authenticated = _der(_SEQUENCE, b"".join(safes))
    content_info = _der(
        _SEQUENCE, _der(_OID, _ID_DATA) + _der(_CONTEXT_0, _der(_OCTET_STRING, authenticated))
    )
    return _der(_SEQUENCE, _der(_INTEGER, b"\x03") + content_info)


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(raw))) + raw + content


def _element(buf: bytes, at: int, limit: int) -> _Element:
    """The element at `at`; an indefinite length (BER, which some Windows and Java exports
    write) ends after its end-of-contents octets."""
    if at + 2 > limit:
        raise MalformedPfx(f"the element at byte {at} is cut short")
    tag, first = buf[at], buf[at + 1]
    if tag & 0x1F == 0x1F:
        raise MalformedPfx(f"unexpected high tag number at byte {at}")
    start = at + 2
    if first == 0x80:
        if not tag & _CONSTRUCTED:
            raise MalformedPfx(f"indefinite length on a primitive element at byte {at}")
        end = start
        while True:
            if end + 2 > limit:
                raise MalformedPfx(f"the element at byte {at} has no end-of-contents")
            if buf[end : end + 2] == b"\x00\x00":
                break
            end = _element(buf, end, limit).end
        return _Element(tag, at, start, end, end + 2)
    size = first
    if first & 0x80:
        count = first & 0x7F
        if count > 4 or start + count > limit:
            raise MalformedPfx(f"bad length at byte {at}")
        size = int.from_bytes(buf[start : start + count], "big")
        start += count
    if start + size > limit:
        raise MalformedPfx(f"the element at byte {at} runs past its container")
    return _Element(tag, at, start, start + size, start + size)


def _children(buf: bytes, parent: _Element, depth: int) -> list[_Element]:
    """The elements inside `parent`, each constructed one checked down to its leaves."""
    if depth > _MAX_DEPTH:
        raise MalformedPfx("nested too deeply")
    found = []
    at = parent.content
    while at < parent.content_end:
        child = _element(buf, at, parent.content_end)
        if child.tag & _CONSTRUCTED:
            _children(buf, child, depth + 1)
        found.append(child)
        at = child.end
    return found


def _value(buf: bytes, element: _Element, tag: int) -> bytes | None:
    return buf[element.content : element.content_end] if element.tag == tag else None


def _octets(buf: bytes, element: _Element, depth: int) -> bytes:
    """An OCTET STRING's bytes, primitive (DER) or constructed from segments (BER)."""
    if element.tag == _OCTET_STRING:
        return buf[element.content : element.content_end]
    if element.tag != _OCTET_STRING | _CONSTRUCTED:
        raise MalformedPfx("authSafe content is not an OCTET STRING")
    return b"".join(_octets(buf, child, depth + 1) for child in _children(buf, element, depth))
