"""An API's backend credentials on a forwarded call: `{{namedValueId}}` replaced by the values
read with the route, the client's same-named header or query parameter replaced. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, unquote_plus

from shared.gateway.headers import Headers
from shared.models import NAMED_VALUE_REFERENCE, BackendCredentials


def substitute(text: str, values: Mapping[str, str]) -> str:
    """`text` with every `{{id}}` replaced (the resolver read every id the credentials name)."""
    return NAMED_VALUE_REFERENCE.sub(lambda m: values[m.group(1)], text)


def credential_headers(
    headers: Headers, credentials: BackendCredentials, values: Mapping[str, str]
) -> Headers:
    """Header names compare case-insensitively (RFC 9110 5.1): every client line of a set name goes."""
    names = {name.lower() for name, _ in credentials.header}
    if credentials.authorization is not None:
        names.add("authorization")
    if not names:
        return headers
    kept = [(n, v) for n, v in headers if n.lower() not in names]
    if credentials.authorization is not None:
        auth = credentials.authorization
        kept.append(("Authorization", f"{auth.scheme} {substitute(auth.parameter, values)}"))
    kept += [(name, substitute(v, values)) for name, texts in credentials.header for v in texts]
    return kept


def credential_query(raw_query: str, credentials: BackendCredentials, values: Mapping[str, str]) -> str:
    """The client's parameters of another name stay byte for byte; names compare decoded and
    case-sensitively (as most backends read them); ours are appended, percent-encoded."""
    if not credentials.query:
        return raw_query
    names = {name for name, _ in credentials.query}
    kept = [p for p in raw_query.split("&") if p and unquote_plus(p.split("=", 1)[0]) not in names]
    kept += [
        f"{quote(name, safe='')}={quote(substitute(v, values), safe='')}"
        for name, texts in credentials.query
        for v in texts
    ]
    return "&".join(kept)
