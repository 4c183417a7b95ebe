"""Named value rows: `NamedValue` to and from table entities. A secret value is stored only
sealed (shared/envelope.py, the PFX files' envelope), never as plaintext in an entity."""

from __future__ import annotations

import base64
import json

from shared.envelope import KeyMissing, KeyRing, open_sealed, seal
from shared.errors import KeyRingMismatch
from shared.models import NamedValue, NamedValueSpec
from shared.storage.tables import Entity, EntityTable


def _context(named_value_id: str) -> bytes:
    # Bound to the id: a sealed value copied into another row does not open there.
    return b"namedValue|" + named_value_id.encode()


class NamedValueRows:
    def __init__(self, table: EntityTable, ring: KeyRing) -> None:
        self.table = table
        self._ring = ring

    def find(self, named_value_id: str) -> NamedValue | None:
        found = self.table.find(named_value_id)
        return None if found is None else self._named_value(found[0], found[1])

    def create(self, named_value: NamedValue) -> str:
        return self.table.create(named_value.id, self._entity(named_value))

    def replace(self, named_value: NamedValue, *, etag: str) -> str:
        return self.table.replace(named_value.id, self._entity(named_value), etag=etag)

    def delete(self, named_value_id: str, *, etag: str) -> None:
        self.table.delete(named_value_id, etag=etag)

    def all(self) -> list[NamedValue]:
        return [self._named_value(r, "") for r in self.table.query()]

    def _entity(self, named_value: NamedValue) -> Entity:
        spec = named_value.spec
        entity: Entity = {
            "DisplayName": spec.display_name,
            "Secret": spec.secret,
            "Tags": json.dumps(spec.tags),
        }
        if spec.secret:
            sealed = seal(self._ring, spec.value.encode(), _context(named_value.id))
            entity["Sealed"] = base64.b64encode(sealed).decode()
        else:
            entity["Value"] = spec.value
        return entity

    def _named_value(self, entity: Entity, etag: str) -> NamedValue:
        named_value_id = str(entity["RowKey"])
        secret = bool(entity.get("Secret"))
        if secret:
            sealed = base64.b64decode(entity["Sealed"])
            try:
                value = open_sealed(self._ring, sealed, _context(named_value_id)).decode()
            except KeyMissing as exc:
                raise KeyRingMismatch(
                    f"Named value '{named_value_id}' is sealed under key id '{exc.key_id}', which "
                    "CERTGATE_ENCRYPTION_KEYS cannot open: put that key back or set the value again.",
                    target=named_value_id,
                ) from exc
        else:
            value = str(entity.get("Value", ""))
        tags = tuple(json.loads(entity.get("Tags") or "[]"))
        spec = NamedValueSpec(str(entity.get("DisplayName", named_value_id)), value, secret, tags)
        return NamedValue(named_value_id, spec, etag)
