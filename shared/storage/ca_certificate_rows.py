"""CA certificate rows: public certificates (PEM) and their facts, in a table partition."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.ca_material import CaInfo
from shared.models import CaCertificate
from shared.storage.tables import Entity, EntityTable


class CaCertificateRows:
    def __init__(self, table: EntityTable) -> None:
        self.table = table

    def find(self, ca_id: str) -> CaCertificate | None:
        found = self.table.find(ca_id)
        return None if found is None else _ca(found[0], found[1])

    def create(self, ca: CaCertificate) -> str:
        return self.table.create(ca.id, _entity(ca))

    def replace(self, ca: CaCertificate, *, etag: str) -> str:
        return self.table.replace(ca.id, _entity(ca), etag=etag)

    def delete(self, ca: CaCertificate) -> None:
        self.table.delete(ca.id, etag=ca.etag)

    def all(self) -> list[CaCertificate]:
        return [_ca(r, "") for r in self.table.query()]


def _entity(ca: CaCertificate) -> Entity:
    info = ca.info
    return {
        "Subject": info.subject,
        "Issuer": info.issuer,
        "Thumbprint": info.thumbprint,
        "Expiration": info.expiration,
        "IsCa": info.is_ca,
        "Pem": ca.pem,
    }


def _ca(entity: Entity, etag: str) -> CaCertificate:
    expiration: datetime = entity["Expiration"]
    info = CaInfo(
        subject=entity["Subject"],
        issuer=entity["Issuer"],
        thumbprint=entity["Thumbprint"],
        expiration=expiration if expiration.tzinfo else expiration.replace(tzinfo=UTC),
        is_ca=bool(entity.get("IsCa")),
    )
    return CaCertificate(entity["RowKey"], info, entity["Pem"], etag)
