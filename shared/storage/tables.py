"""A thin typed face over one TableClient: conditional writes by ETag, pages by RowKey."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableClient, UpdateMode

from shared.storage.errors import EntityNotFound, storage_errors

Entity = dict[str, Any]


class EntityTable:
    """One partition of one table. Every write is single-entity and conditional: Azurite's
    batch transactions have ignored If-Match in some versions, so no guarantee rests on them."""

    def __init__(self, client: TableClient, partition: str) -> None:
        self._client = client
        self._partition = partition

    def find(self, row_key: str) -> tuple[Entity, str] | None:
        """The entity and its ETag, or None when it does not exist."""
        try:
            with storage_errors(f"read {self._client.table_name}"):
                entity = self._client.get_entity(self._partition, row_key)
        except EntityNotFound:
            return None
        return dict(entity), str(entity.metadata["etag"])

    def create(self, row_key: str, values: Entity) -> str:
        """Insert; EntityExists when the row is there. Returns the new ETag."""
        with storage_errors(f"create in {self._client.table_name}"):
            meta = self._client.create_entity(self._entity(row_key, values))
        return str(meta["etag"])

    def replace(self, row_key: str, values: Entity, *, etag: str) -> str:
        """Replace only if unchanged since `etag` was read: EtagMismatch otherwise,
        EntityNotFound when it was deleted meanwhile."""
        with storage_errors(f"update in {self._client.table_name}"):
            meta = self._client.update_entity(
                self._entity(row_key, values),
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        return str(meta["etag"])

    def upsert(self, row_key: str, values: Entity) -> str:
        with storage_errors(f"upsert in {self._client.table_name}"):
            meta = self._client.upsert_entity(self._entity(row_key, values), mode=UpdateMode.REPLACE)
        return str(meta["etag"])

    def delete(self, row_key: str, *, etag: str) -> None:
        """Delete only if unchanged since `etag`; a row already gone is not an error."""
        with storage_errors(f"delete in {self._client.table_name}"):
            self._client.delete_entity(
                self._partition, row_key, etag=etag, match_condition=MatchConditions.IfNotModified
            )

    def query(
        self, condition: str = "", parameters: dict[str, Any] | None = None, select: list[str] | None = None
    ) -> Iterator[Entity]:
        """Entities of the partition matching an OData `condition`, in RowKey order."""
        query = "PartitionKey eq @pk" + (
            f" and ( {condition} )" if condition else ""
        )  # spaces: the SDK substitutes @names split by blanks
        with storage_errors(f"query {self._client.table_name}"):
            for entity in self._client.query_entities(
                query, parameters={"pk": self._partition, **(parameters or {})}, select=select
            ):
                yield dict(entity)

    def page(self, *, after: str | None, top: int) -> tuple[list[Entity], bool]:
        """Up to `top` entities with RowKey > `after` in RowKey (ordinal) order, and whether
        more follow."""
        condition, params = ("RowKey gt @after", {"after": after}) if after else ("", {})
        rows: list[Entity] = []
        for entity in self.query(condition, params):
            if len(rows) == top:
                return rows, True
            rows.append(entity)
        return rows, False

    def count(self) -> int:
        return sum(1 for _ in self.query(select=["RowKey"]))

    def _entity(self, row_key: str, values: Entity) -> Entity:
        return {"PartitionKey": self._partition, "RowKey": row_key, **values}
