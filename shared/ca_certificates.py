"""CA certificate use cases: put (create or replace), get, list and delete with in-use
protection by the APIs that trust them, guarded by a deletion intent as for client certificates
(shared/storage/deletion_intents.py says why): a bind never writes a CA certificate's row."""

from __future__ import annotations

import contextlib
import logging
import time

from shared.ca_material import load_ca_certificate
from shared.changes import ChangeFeed
from shared.conditions import NO_CONDITIONS, Conditions
from shared.errors import (
    CertificateInUse,
    ErrorDetail,
    PreconditionFailed,
    ResourceNotFound,
    StorageUnavailable,
)
from shared.identifiers import validate_id
from shared.listing import CERTIFICATE_FIELDS, certificate_values, matcher, page_after
from shared.models import CaCertificate, Page
from shared.storage.api_rows import ApiRows
from shared.storage.ca_certificate_rows import CaCertificateRows
from shared.storage.deletion_intents import DeletionIntents
from shared.storage.errors import EntityExists, EntityNotFound, EtagMismatch

log = logging.getLogger(__name__)
_ATTEMPTS = 8
DELETE_DEADLINE_SECONDS = 60.0  # as shared.certificates: below the intents' lease


class CaCertificateService:
    def __init__(
        self, rows: CaCertificateRows, apis: ApiRows, intents: DeletionIntents, changes: ChangeFeed
    ) -> None:
        self._rows = rows
        self._apis = apis
        self._intents = intents
        self._changes = changes

    def put(
        self, ca_id: str, data: bytes, conditions: Conditions = NO_CONDITIONS
    ) -> tuple[CaCertificate, bool]:
        validate_id(ca_id, target="caCertificateId")
        material = load_ca_certificate(data)
        for _ in range(_ATTEMPTS):
            existing = self._rows.find(ca_id)
            conditions.check(existing.etag if existing else None)
            if existing is not None and existing.pem == material.pem:
                return self._with_usage(existing), False  # the same certificate: same ETag
            ca = CaCertificate(ca_id, material.info, material.pem)
            try:
                etag = (
                    self._rows.create(ca) if existing is None else self._rows.replace(ca, etag=existing.etag)
                )
            except (EntityExists, EtagMismatch, EntityNotFound):
                if conditions.pinned:
                    raise PreconditionFailed("The CA certificate changed during the request.") from None
                continue
            self._changes.publish()
            log.info("ca certificate %s %s", ca_id, "replaced" if existing else "created")
            return self._with_usage(CaCertificate(ca_id, ca.info, ca.pem, etag)), existing is None
        raise StorageUnavailable("The CA certificate kept changing; try again.")

    def get(self, ca_id: str) -> CaCertificate:
        return self._with_usage(self._find(ca_id))

    def etag(self, ca_id: str) -> str:
        return self._find(ca_id).etag

    def list(self, *, top: int, after: str | None, filter_text: str | None = None) -> Page:
        matches = matcher(filter_text, CERTIFICATE_FIELDS)
        found = [
            c
            for c in self._rows.all()
            if matches(
                certificate_values(
                    name=c.id,
                    subject=c.info.subject,
                    thumbprint=c.info.thumbprint,
                    expiration=c.info.expiration,
                )
            )
        ]
        page, next_token = page_after(found, lambda c: c.id, after=after, top=top)
        usage = self._apis.ca_usage()
        items = tuple(
            CaCertificate(c.id, c.info, c.pem, used_by=tuple(usage.get(c.id, ()))).to_resource() for c in page
        )
        return Page(items, len(found), next_token)

    def delete(self, ca_id: str, conditions: Conditions = NO_CONDITIONS) -> bool:
        """Delete unless an API trusts it; True when deleted, False when there was nothing."""
        validate_id(ca_id, target="caCertificateId")
        for attempt in range(_ATTEMPTS):
            ca = self._rows.find(ca_id)
            conditions.check(ca.etag if ca else None)
            if ca is None:
                return False
            started = time.monotonic()
            intent = self._claim_intent(ca_id)
            if intent is None:  # another delete of it is under way: see how it ends
                time.sleep(0.05 * (attempt + 1))
                continue
            try:
                deleted = self._delete_unused(ca, started)
            finally:
                with contextlib.suppress(EtagMismatch):
                    self._intents.delete(ca_id, etag=intent)
            if deleted:
                self._changes.publish()
                log.info("ca certificate %s deleted", ca_id)
                return True
        raise StorageUnavailable("The CA certificate kept changing during the delete; try again.")

    def _find(self, ca_id: str) -> CaCertificate:
        ca = self._rows.find(validate_id(ca_id, target="caCertificateId"))
        if ca is None:
            raise ResourceNotFound(f"CA certificate '{ca_id}' does not exist.", target=ca_id)
        return ca

    def _claim_intent(self, ca_id: str) -> str | None:
        try:
            return self._intents.create(ca_id)
        except EntityExists:
            pass
        try:
            return self._intents.take_over_if_stale(ca_id)
        except (EntityExists, EtagMismatch, EntityNotFound):
            return None

    def _delete_unused(self, ca: CaCertificate, started: float) -> bool:
        users = self._apis.using_ca_certificate(ca.id)
        if users:
            raise CertificateInUse(
                f"CA certificate '{ca.id}' is trusted by {len(users)} API(s): "
                + ", ".join(users)
                + ". Remove it from their tls.caCertificateIds first.",
                target=ca.id,
                details=tuple(
                    ErrorDetail("CertificateInUse", f"API '{u}' trusts this CA certificate.", u)
                    for u in users
                ),
            )
        if time.monotonic() - started > DELETE_DEADLINE_SECONDS:
            raise StorageUnavailable("Storage was too slow to delete the CA certificate safely; try again.")
        try:
            self._rows.delete(ca)
        except EtagMismatch:
            return False
        return True

    def _with_usage(self, ca: CaCertificate) -> CaCertificate:
        return CaCertificate(ca.id, ca.info, ca.pem, ca.etag, tuple(self._apis.using_ca_certificate(ca.id)))
