"""Conditional requests (If-Match / If-None-Match) as APIM applies them. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import PreconditionFailed


@dataclass(frozen=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None

    @property
    def pinned(self) -> bool:
        """True when the caller named a version: a lost race must then answer 412, not retry."""
        return self.if_match is not None or self.if_none_match is not None

    def check(self, current_etag: str | None) -> None:
        """Raise PreconditionFailed unless the resource's state (None: missing) satisfies them."""
        if self.if_match is not None:
            if current_etag is None:
                raise PreconditionFailed("If-Match was given but the resource does not exist.")
            if not _matches(self.if_match, current_etag):
                raise PreconditionFailed("The resource has changed: its ETag does not match If-Match.")
        none_match = self.if_none_match
        if none_match is not None and current_etag is not None and _matches(none_match, current_etag):
            raise PreconditionFailed("The resource already exists (If-None-Match).")


def _matches(header: str, etag: str) -> bool:
    candidates = [c.strip() for c in header.split(",")]
    return "*" in candidates or etag in candidates


NO_CONDITIONS = Conditions()
