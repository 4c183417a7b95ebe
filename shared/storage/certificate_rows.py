"""Certificate metadata rows: `Certificate` to and from table entities (no secrets in them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.models import Certificate
from shared.pkcs12 import CertificateInfo
from shared.storage.tables import Entity, EntityTable


class CertificateRows:
    def __init__(self, table: EntityTable) -> None:
        self.table = table

    def find(self, certificate_id: str) -> Certificate | None:
        found = self.table.find(certificate_id)
        return None if found is None else _certificate(found[0], found[1])

    def create(self, cert: Certificate) -> str:
        return self.table.create(cert.id, _entity(cert))

    def replace(self, cert: Certificate, *, etag: str) -> str:
        return self.table.replace(cert.id, _entity(cert), etag=etag)

    def touch(self, certificate_id: str) -> str:
        """Change the row's ETag (and nothing a client sees but the ETag) if the row exists: a
        bind does this after writing its API, so that a racing delete, which deletes by ETag,
        must look again for the APIs that use the certificate. If-Match: *, so concurrent binds
        of one certificate do not contend."""
        return self.table.merge_if_present(certificate_id, {"BindStamp": uuid.uuid4().hex})

    def delete(self, cert: Certificate) -> None:
        self.table.delete(cert.id, etag=cert.etag)

    def page(self, *, after: str | None, top: int) -> tuple[list[Certificate], bool]:
        rows, more = self.table.page(after=after, top=top)
        return [_certificate(r, "") for r in rows], more

    def all(self) -> list[Certificate]:
        return [_certificate(r, "") for r in self.table.query()]


def new_version() -> str:
    """Sortable by time, unique across instances: names the blob of one upload."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def _entity(cert: Certificate) -> Entity:
    info = cert.info
    return {
        "Version": cert.version,
        "Subject": info.subject,
        "Issuer": info.issuer,
        "Thumbprint": info.thumbprint,
        "NotBefore": info.not_before,
        "Expiration": info.expiration,
        "KeyType": info.key_type,
        "ChainLength": info.chain_length,
    }


def _certificate(entity: Entity, etag: str) -> Certificate:
    info = CertificateInfo(
        subject=entity["Subject"],
        issuer=entity["Issuer"],
        thumbprint=entity["Thumbprint"],
        not_before=_utc(entity["NotBefore"]),
        expiration=_utc(entity["Expiration"]),
        key_type=entity["KeyType"],
        chain_length=int(entity["ChainLength"]),
    )
    return Certificate(id=entity["RowKey"], version=entity["Version"], info=info, etag=etag)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
