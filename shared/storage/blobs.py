"""The blob container of sealed PFX material: one blob per certificate version."""

from __future__ import annotations

from azure.core import MatchConditions
from azure.storage.blob import ContainerClient

from shared.storage.errors import EntityNotFound, storage_errors


def blob_name(certificate_id: str, version: str) -> str:
    return f"{certificate_id}/{version}"


class BlobStore:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def create(self, name: str, data: bytes, *, key_id: str) -> None:
        """Write a new blob; never overwrites (each version has its own name)."""
        with storage_errors("write blob"):
            self._container.upload_blob(name, data, overwrite=False, metadata={"keyid": key_id})

    def overwrite(self, name: str, data: bytes, *, key_id: str, etag: str) -> None:
        """Replace a blob only if unchanged since `etag` (used by re-encryption)."""
        with storage_errors("rewrite blob"):
            self._container.upload_blob(
                name,
                data,
                overwrite=True,
                metadata={"keyid": key_id},
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )

    def read(self, name: str) -> tuple[bytes, str]:
        """The blob's bytes and ETag; EntityNotFound when missing."""
        with storage_errors("read blob"):
            downloader = self._container.download_blob(name)
            return downloader.readall(), str(downloader.properties.etag)

    def read_head(self, name: str, length: int) -> bytes:
        """The blob's first `length` bytes (one ranged read); EntityNotFound when missing."""
        with storage_errors("read blob header"):
            return self._container.download_blob(name, offset=0, length=length).readall()

    def key_ids(self) -> dict[str, str | None]:
        """Every blob's name and the key id its metadata records (None when it records none):
        the listing carries the metadata, so this is one call per 5,000 blobs and reads no blob."""
        with storage_errors("list blobs"):
            return {
                b.name: (b.metadata or {}).get("keyid")
                for b in self._container.list_blobs(include=["metadata"])
            }

    def delete(self, name: str) -> None:
        """Delete; a blob already gone is not an error."""
        try:
            with storage_errors("delete blob"):
                self._container.delete_blob(name)
        except EntityNotFound:
            pass

    def names(self, prefix: str = "") -> list[str]:
        with storage_errors("list blobs"):
            return [b.name for b in self._container.list_blobs(name_starts_with=prefix or None)]
