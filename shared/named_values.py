"""Named value use cases: put (a secret one sealed at rest), get, list, delete unless an API's
credentials refer to it. Every write publishes a change, so the gateway's routes see it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from shared.changes import ChangeFeed
from shared.conditions import NO_CONDITIONS, Conditions
from shared.errors import (
    ErrorDetail,
    NamedValueInUse,
    NamedValueNotFound,
    ResourceNotFound,
    StorageUnavailable,
)
from shared.identifiers import validate_id
from shared.listing import NAMED_VALUE_FIELDS, matcher, page_after
from shared.models import NamedValue, NamedValueSpec, Page
from shared.odata import Value
from shared.storage.errors import EntityExists, EntityNotFound, EtagMismatch
from shared.storage.named_value_rows import NamedValueRows

log = logging.getLogger(__name__)
_ATTEMPTS = 8
# apiId -> the named value ids its credentials refer to (the API rows, read when asked)
Usage = Callable[[], Mapping[str, frozenset[str]]]


class NamedValueService:
    def __init__(self, rows: NamedValueRows, changes: ChangeFeed, usage: Usage) -> None:
        self._rows = rows
        self._changes = changes
        self._usage = usage

    def put(
        self, named_value_id: str, spec: NamedValueSpec, conditions: Conditions = NO_CONDITIONS
    ) -> tuple[NamedValue, bool]:
        """Create or replace; returns the named value and whether it was created."""
        validate_id(named_value_id, target="namedValueId")
        for _ in range(_ATTEMPTS):
            existing = self._rows.find(named_value_id)
            conditions.check(existing.etag if existing else None)
            wanted = NamedValue(named_value_id, spec)
            try:
                if existing is None:
                    etag = self._rows.create(wanted)
                else:
                    etag = self._rows.replace(wanted, etag=existing.etag)
            except (EntityExists, EtagMismatch, EntityNotFound):
                if conditions.pinned:
                    raise StorageUnavailable("The named value changed during the request.") from None
                continue
            self._changes.publish()
            log.info(
                "named value %s %s (secret: %s)",
                named_value_id,
                "replaced" if existing else "created",
                spec.secret,
            )
            return NamedValue(named_value_id, spec, etag), existing is None
        raise StorageUnavailable("The named value kept changing during the request; try again.")

    def get(self, named_value_id: str) -> NamedValue:
        found = self._rows.find(validate_id(named_value_id, target="namedValueId"))
        if found is None:
            raise ResourceNotFound(f"Named value '{named_value_id}' does not exist.", target=named_value_id)
        return found

    def etag(self, named_value_id: str) -> str:
        return self.get(named_value_id).etag

    def require(self, ids: frozenset[str]) -> None:
        """400 NamedValueNotFound unless every one of `ids` exists (an API's PUT; point reads).
        A delete racing the PUT is not guarded: the gateway then answers 404 for that API."""
        for named_value_id in sorted(ids):
            if self._rows.find(named_value_id) is None:
                raise NamedValueNotFound(
                    f"Named value '{named_value_id}' does not exist.", target="credentials"
                )

    def list(self, *, top: int, after: str | None, filter_text: str | None = None) -> Page:
        matches = matcher(filter_text, NAMED_VALUE_FIELDS)
        found = [n for n in self._rows.all() if matches(_values(n))]
        page, next_token = page_after(found, lambda n: n.id, after=after, top=top)
        return Page(tuple(n.to_resource() for n in page), len(found), next_token)

    def delete(self, named_value_id: str, conditions: Conditions = NO_CONDITIONS) -> bool:
        """Delete unless an API refers to it (409 NamedValueInUse, one detail per API)."""
        validate_id(named_value_id, target="namedValueId")
        for _ in range(_ATTEMPTS):
            found = self._rows.find(named_value_id)
            conditions.check(found.etag if found else None)
            if found is None:
                return False
            users = sorted(a for a, refs in self._usage().items() if named_value_id in refs)
            if users:
                raise NamedValueInUse(
                    f"Named value '{named_value_id}' is used by {len(users)} API(s).",
                    target=named_value_id,
                    details=tuple(
                        ErrorDetail("NamedValueInUse", f"API '{a}' refers to it.", target=a) for a in users
                    ),
                )
            try:
                self._rows.delete(named_value_id, etag=found.etag)
            except EtagMismatch:
                continue
            self._changes.publish()
            log.info("named value %s deleted", named_value_id)
            return True
        raise StorageUnavailable("The named value kept changing during the delete; try again.")


def _values(named_value: NamedValue) -> dict[str, Value]:
    return {"name": named_value.id, "displayName": named_value.spec.display_name}
