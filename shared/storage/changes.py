"""The change marker: one row whose ETag moves on every management write, so that other
instances learn of a change with one point read per TTL instead of rescanning everything."""

from __future__ import annotations

import uuid

from shared.storage.tables import EntityTable

_ROW = "generation"


class ChangeMarker:
    def __init__(self, table: EntityTable) -> None:
        self._table = table

    def bump(self) -> str:
        """Move the marker; returns its new ETag."""
        return self._table.upsert(_ROW, {"Stamp": uuid.uuid4().hex})

    def read(self) -> str:
        """The marker's current ETag ('' before the first change)."""
        found = self._table.find(_ROW)
        return "" if found is None else found[1]
