"""Function and admin keys, checked as the Functions host checks them: the `x-functions-key`
header, else the `code` query parameter (its name in any case or percent-encoding, its value
percent-decoded, repeated values joined with "," as ASP.NET Core's StringValues does)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class Keys:
    function_key: str | None
    master_key: str | None

    @property
    def enforced(self) -> bool:
        return bool(self.function_key or self.master_key)

    def allows(self, auth_level: str, header: str | None, query: bytes) -> bool:
        """Anonymous routes are open; a function-level route takes the function or the master
        key; an admin-level route only the master key (none set: closed, as Azure always has one)."""
        if not self.enforced or auth_level == "anonymous":
            return True
        given = header if header else _code(query)
        if given is None:
            return False
        accepted = [self.master_key] if auth_level == "admin" else [self.function_key, self.master_key]
        # Compare with every key, so the time does not say which one (or whether any) is set.
        results = [hmac.compare_digest(given.encode(), key.encode()) for key in accepted if key]
        return any(results)


def _code(query: bytes) -> str | None:
    values = []
    for field in query.decode("latin-1").split("&"):
        name, _, value = field.partition("=")
        if unquote_plus(name).lower() == "code":
            values.append(unquote_plus(value))
    return ",".join(values) if values else None


def header_value(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """A header's value (ASGI names are lower-case), repeated lines joined with ","."""
    values = [v.decode("latin-1") for n, v in headers if n == name]
    return ",".join(values) if values else None
