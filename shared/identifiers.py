"""Validation of resource identifiers and API paths: pure, checked before any storage call."""

from __future__ import annotations

import re

from shared.errors import InvalidIdentifier, InvalidPath

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


def validate_id(value: str, *, target: str) -> str:
    """Return `value` if it is a valid certificateId / apiId, else raise InvalidIdentifier."""
    if not _ID.fullmatch(value):
        raise InvalidIdentifier(
            f"'{target}' must be 1 to 80 characters of A-Z a-z 0-9 - _ . starting with a letter or digit.",
            target=target,
        )
    return value


def validate_api_path(value: str) -> str:
    """An API path: one or more segments of A-Z a-z 0-9 - _ . ~, no '.' or '..' segment."""
    segments = value.split("/")
    if not value or any(not _SEGMENT.fullmatch(s) or s in (".", "..") for s in segments):
        raise InvalidPath(
            "'path' must be one or more '/'-separated segments of A-Z a-z 0-9 - _ . ~, with no "
            "empty, '.' or '..' segment and no leading or trailing '/'.",
            target="path",
        )
    return value
