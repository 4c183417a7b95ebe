"""What each list can be filtered on, and one page of the matching items, in memory.

Pure: the `$filter` fields of certificates (client and CA certificates alike) and of APIs; the
services read the (small) tables whole, filter, count and page here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from shared.models import Api
from shared.odata import Kind, Value, parse_filter

CERTIFICATE_FIELDS: Mapping[str, Kind] = {
    "name": Kind.STRING,
    "subject": Kind.STRING,
    "thumbprint": Kind.STRING,
    "expirationDate": Kind.DATETIME,
}
API_FIELDS: Mapping[str, Kind] = {
    "name": Kind.STRING,
    "path": Kind.STRING,
    "serviceUrl": Kind.STRING,
    "certificateId": Kind.STRING,
}

NAMED_VALUE_FIELDS: Mapping[str, Kind] = {"name": Kind.STRING, "displayName": Kind.STRING}


def certificate_values(*, name: str, subject: str, thumbprint: str, expiration: datetime) -> dict[str, Value]:
    return {"name": name, "subject": subject, "thumbprint": thumbprint, "expirationDate": expiration}


def api_values(api: Api) -> dict[str, Value]:
    spec = api.spec
    return {
        "name": api.id,
        "path": spec.path,
        "serviceUrl": spec.service_url,
        "certificateId": spec.certificate_id,
    }


def matcher(filter_text: str | None, fields: Mapping[str, Kind]) -> Callable[[Mapping[str, Value]], bool]:
    """The `$filter` as a predicate; without one, everything matches."""
    return (lambda _values: True) if filter_text is None else parse_filter(filter_text, fields)


def page_after[T](
    items: Sequence[T], id_of: Callable[[T], str], *, after: str | None, top: int
) -> tuple[list[T], str | None]:
    """Up to `top` of `items` (in id order) whose id sorts after `after`, and the `$skipToken`
    of the next page (the last id of this one) when more follow."""
    rest = [item for item in items if id_of(item) > after] if after else list(items)
    page = rest[:top]
    return page, id_of(page[-1]) if len(rest) > top else None
