"""Certificate metadata rows: `Certificate` to and from table entities (no secrets in them)."""

from __future__ import annotations

import json
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
        **_optional(info),
    }


# A table string property holds at most 64 KiB; a longer list of names is not recorded.
_MAX_NAMES_JSON = 30_000


def _optional(info: CertificateInfo) -> Entity:
    """The facts added after the first rows were written: a row without them still reads."""
    values: Entity = {}
    if info.thumbprint_sha256 is not None:
        values["ThumbprintSha256"] = info.thumbprint_sha256
    if info.subject_alternative_names is not None:
        names = json.dumps(list(info.subject_alternative_names), ensure_ascii=False)
        if len(names) <= _MAX_NAMES_JSON:
            values["SubjectAlternativeNames"] = names
    if info.client_auth is not None:
        values["ClientAuth"] = info.client_auth
    if info.self_signed is not None:
        values["SelfSigned"] = info.self_signed
    return values


def _certificate(entity: Entity, etag: str) -> Certificate:
    info = CertificateInfo(
        subject=entity["Subject"],
        issuer=entity["Issuer"],
        thumbprint=entity["Thumbprint"],
        not_before=_utc(entity["NotBefore"]),
        expiration=_utc(entity["Expiration"]),
        key_type=entity["KeyType"],
        chain_length=int(entity["ChainLength"]),
        thumbprint_sha256=entity.get("ThumbprintSha256"),
        subject_alternative_names=_names(entity.get("SubjectAlternativeNames")),
        client_auth=entity.get("ClientAuth"),
        self_signed=entity.get("SelfSigned"),
    )
    return Certificate(id=entity["RowKey"], version=entity["Version"], info=info, etag=etag)


def _names(stored: str | None) -> tuple[str, ...] | None:
    return None if stored is None else tuple(json.loads(stored))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
