"""Deletion intents: one row per certificate while a delete of it is under way, in a partition
of its own, so that guarding a delete against binds never writes the certificate's row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.storage.tables import EntityTable

# An intent older than this was left by a delete that died: binds ignore it, the next delete
# of the certificate takes it over. A delete that is still alive gives up long before (see
# shared.certificates.DELETE_DEADLINE_SECONDS), so a live intent is never taken for a dead one.
LEASE = timedelta(minutes=5)


class DeletionIntents:
    """Why a delete racing a bind never leaves an API bound to a missing certificate C.

    A delete D: (d1) inserts C's intent I (conditional: one delete at a time), (d2) queries the
    APIs bound to C, 409 if any, else (d3) deletes C's row by ETag (If-Match honoured), then
    (d4) removes I, on every outcome. A bind B: (b1) writes its API row A, then (b2) point-reads
    I, then (b3) point-reads C; unless b2 found no live I and b3 found C, it rolls A back (400
    CertificateNotFound). Each step is one single-entity operation, atomic and strongly
    consistent in Table Storage, so all the steps of all callers fall in one order. Suppose B
    keeps A and D deletes C; where does b2 fall against D's d1..d4, while I exists?
    - before d1: then b1 < d1 < d2, so D's query sees A and D answers 409, never reaching d3;
    - between d1 and d4: b2 finds I (only D removes it, and no other delete can insert one);
    - after d4: then d3 < b3, so b3 finds C gone (or a new C, uploaded since: not missing).
    Each case contradicts the supposition. I must be read before C: in the other order, D could
    delete C and remove I between B's two reads. A delete refused with 409 never writes C, and a
    bind only reads it: C's ETag moves only when C itself is uploaded again.

    A dead delete's intent would refuse binds for ever; so an intent expires after LEASE, and a
    live delete stops before d3 once DELETE_DEADLINE_SECONDS have passed since d1: its intent is
    never taken for a dead one while it may still reach d3 (the storage clients' timeouts bound
    how late a request can land to about a minute; clocks are NTP-synchronised).
    """

    def __init__(self, table: EntityTable) -> None:
        self.table = table

    def create(self, certificate_id: str) -> str:
        """Insert the intent; EntityExists when another delete holds it. Returns its ETag."""
        return self.table.create(certificate_id, {"Started": datetime.now(UTC)})

    def take_over_if_stale(self, certificate_id: str) -> str | None:
        """The ETag of the intent, taken over, when the one there is older than LEASE (or gone
        meanwhile: then a fresh one); None when a live delete holds it."""
        found = self.table.find(certificate_id)
        if found is None:
            return self.create(certificate_id)
        entity, etag = found
        if not _stale(entity):
            return None
        return self.table.replace(certificate_id, {"Started": datetime.now(UTC)}, etag=etag)

    def is_live(self, certificate_id: str) -> bool:
        """True while a delete (not a dead one) holds the intent: one point read."""
        found = self.table.find(certificate_id)
        return found is not None and not _stale(found[0])

    def delete(self, certificate_id: str, *, etag: str) -> None:
        """Drop our own intent (by ETag: never one a later delete took over)."""
        self.table.delete(certificate_id, etag=etag)


def _stale(entity: dict[str, object]) -> bool:
    started = entity.get("Started")
    if not isinstance(started, datetime):
        return True
    moment = started if started.tzinfo else started.replace(tzinfo=UTC)
    return datetime.now(UTC) - moment > LEASE
