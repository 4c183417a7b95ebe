"""Certificate use cases: upload (with rotation), get, list and delete with in-use protection
(guarded by a deletion intent, never by writing the certificate's row: see DeletionIntents)."""

from __future__ import annotations

import contextlib
import logging
import time

from shared.changes import ChangeFeed
from shared.conditions import NO_CONDITIONS, Conditions
from shared.envelope import EnvelopeError, KeyMissing, KeyRing, key_id_of, open_sealed, seal
from shared.errors import (
    CertificateInUse,
    ErrorDetail,
    KeyRingMismatch,
    PreconditionFailed,
    ResourceNotFound,
    StorageUnavailable,
)
from shared.identifiers import validate_id
from shared.listing import CERTIFICATE_FIELDS, certificate_values, matcher, page_after
from shared.models import Certificate, Page, Upload
from shared.odata import Value
from shared.pkcs12 import ClientCertificate, load_pfx
from shared.storage.api_rows import ApiRows
from shared.storage.blobs import BlobStore, blob_name
from shared.storage.certificate_rows import CertificateRows, new_version
from shared.storage.deletion_intents import DeletionIntents
from shared.storage.errors import EntityExists, EntityNotFound, EtagMismatch

log = logging.getLogger(__name__)
_ATTEMPTS = 8
# A delete that has held its intent this long stops before deleting the row (see DeletionIntents).
DELETE_DEADLINE_SECONDS = 60.0


def _filter_values(cert: Certificate) -> dict[str, Value]:
    info = cert.info
    return certificate_values(
        name=cert.id, subject=info.subject, thumbprint=info.thumbprint, expiration=info.expiration
    )


def envelope_context(certificate_id: str, version: str) -> bytes:
    """The AAD that binds a sealed blob to one certificate version."""
    return f"certgate/certificate/{certificate_id}/{version}".encode()


class CertificateService:
    def __init__(
        self,
        rows: CertificateRows,
        apis: ApiRows,
        blobs: BlobStore,
        ring: KeyRing,
        changes: ChangeFeed,
        intents: DeletionIntents,
    ) -> None:
        self._rows = rows
        self._apis = apis
        self._intents = intents
        self._blobs = blobs
        self._ring = ring
        self._changes = changes
        self._mismatches_logged: set[tuple[str, str, str]] = set()

    def upload(
        self, certificate_id: str, upload: Upload, conditions: Conditions = NO_CONDITIONS
    ) -> tuple[Certificate, bool]:
        """Create or replace; returns the certificate and whether it was created. The new
        blob is written before the row points at it, so no reader sees a row without its blob."""
        validate_id(certificate_id, target="certificateId")
        material = load_pfx(upload.data, upload.password)
        for _ in range(_ATTEMPTS):
            existing = self._rows.find(certificate_id)
            conditions.check(existing.etag if existing else None)
            if existing is not None and self._same_material(existing, material):
                return existing, False  # re-running a pipeline is a no-op: same ETag, no blob
            cert = Certificate(certificate_id, new_version(), material.describe())
            name = blob_name(certificate_id, cert.version)
            sealed = seal(
                self._ring, material.to_pem_bundle(), envelope_context(certificate_id, cert.version)
            )
            self._blobs.create(name, sealed, key_id=self._ring.current_id)
            try:
                if existing is None:
                    etag = self._rows.create(cert)
                else:
                    etag = self._rows.replace(cert, etag=existing.etag)
            except (EntityExists, EtagMismatch, EntityNotFound):
                self._blobs.delete(name)
                if conditions.pinned:
                    raise PreconditionFailed("The certificate changed during the upload.") from None
                continue
            except BaseException:
                self._blobs.delete(name)
                raise
            if existing is not None:
                self._blobs.delete(blob_name(certificate_id, existing.version))
            self._changes.publish()
            log.info(
                "certificate %s %s, thumbprint ...%s",
                certificate_id,
                "replaced" if existing else "created",
                cert.info.thumbprint[-4:],
            )
            return self._with_usage(Certificate(cert.id, cert.version, cert.info, etag)), existing is None
        raise StorageUnavailable("The certificate kept changing during the upload; try again.")

    def get(self, certificate_id: str) -> Certificate:
        cert = self.get_or_none(certificate_id)
        if cert is None:
            raise ResourceNotFound(f"Certificate '{certificate_id}' does not exist.", target=certificate_id)
        return self._with_usage(cert)

    def get_or_none(self, certificate_id: str) -> Certificate | None:
        return self._rows.find(validate_id(certificate_id, target="certificateId"))

    def list(self, *, top: int, after: str | None, filter_text: str | None = None) -> Page:
        """One page of the certificates that match `filter_text` (`$filter`); `count` is
        every match across pages."""
        matches = matcher(filter_text, CERTIFICATE_FIELDS)
        found = [c for c in self._rows.all() if matches(_filter_values(c))]
        certs, next_token = page_after(found, lambda c: c.id, after=after, top=top)
        usage = self._apis.usage()
        items = tuple(
            Certificate(c.id, c.version, c.info, used_by=tuple(usage.get(c.id, ()))).to_resource()
            for c in certs
        )
        return Page(items, len(found), next_token)

    def etag(self, certificate_id: str) -> str:
        """The certificate's ETag (HEAD): one point read; ResourceNotFound when missing."""
        cert = self.get_or_none(certificate_id)
        if cert is None:
            raise ResourceNotFound(f"Certificate '{certificate_id}' does not exist.", target=certificate_id)
        return cert.etag

    def delete(self, certificate_id: str, conditions: Conditions = NO_CONDITIONS) -> bool:
        """Delete unless an API uses it; True when deleted, False when there was nothing. Refused
        (409) or not, the certificate's row is written only by the delete itself."""
        validate_id(certificate_id, target="certificateId")
        for attempt in range(_ATTEMPTS):
            cert = self._rows.find(certificate_id)
            conditions.check(cert.etag if cert else None)
            if cert is None:
                return False
            started = time.monotonic()
            intent = self._claim_intent(certificate_id)
            if intent is None:  # another delete of it is under way: see how it ends
                time.sleep(0.05 * (attempt + 1))
                continue
            try:
                deleted = self._delete_unused(cert, started)
            finally:
                with contextlib.suppress(EtagMismatch):  # taken over as stale: no longer ours
                    self._intents.delete(certificate_id, etag=intent)
            if not deleted:
                continue  # replaced meanwhile: look again (If-Match is checked again)
            for name in self._blobs.names(f"{certificate_id}/"):
                self._blobs.delete(name)
            self._changes.publish()
            log.info("certificate %s deleted", certificate_id)
            return True
        raise StorageUnavailable("The certificate kept changing during the delete; try again.")

    def _claim_intent(self, certificate_id: str) -> str | None:
        try:
            return self._intents.create(certificate_id)
        except EntityExists:
            pass
        try:
            return self._intents.take_over_if_stale(certificate_id)
        except (EntityExists, EtagMismatch, EntityNotFound):
            return None

    def _delete_unused(self, cert: Certificate, started: float) -> bool:
        """With our intent held: 409 if an API uses `cert`, else delete its row by ETag;
        False when it was replaced meanwhile."""
        users = self._apis.using_certificate(cert.id)
        if users:
            raise CertificateInUse(
                f"Certificate '{cert.id}' is used by {len(users)} API(s): "
                + ", ".join(users)
                + ". Unbind them first.",
                target=cert.id,
                details=tuple(
                    ErrorDetail("CertificateInUse", f"API '{u}' uses this certificate.", u) for u in users
                ),
            )
        if time.monotonic() - started > DELETE_DEADLINE_SECONDS:
            raise StorageUnavailable("Storage was too slow to delete the certificate safely; try again.")
        try:
            self._rows.delete(cert)
        except EtagMismatch:
            return False
        return True

    def load_material(self, cert: Certificate) -> bytes:
        """The decrypted PEM bundle (key and chain) of one certificate version."""
        sealed, _ = self._blobs.read(blob_name(cert.id, cert.version))
        return self._open(cert.id, cert.version, sealed)

    def _open(self, certificate_id: str, version: str, sealed: bytes) -> bytes:
        try:
            return open_sealed(self._ring, sealed, envelope_context(certificate_id, version))
        except KeyMissing as exc:
            # Once per version and worker as an error (the gateway logs each failed call anyway).
            seen = (certificate_id, version, exc.key_id)
            level = logging.DEBUG if seen in self._mismatches_logged else logging.ERROR
            self._mismatches_logged.add(seen)
            log.log(
                level,
                "certificate %s version %s is sealed under key id %s, which the key ring cannot "
                "open (ring holds %s)",
                certificate_id,
                version,
                exc.key_id,
                ", ".join(self._ring.ids),
            )
            why = (
                "holds another key under that id"
                if exc.key_id in self._ring.ids
                else "does not hold that key id"
            )
            raise KeyRingMismatch(
                f"Certificate '{certificate_id}' is sealed under key id '{exc.key_id}' and "
                f"CERTGATE_ENCRYPTION_KEYS {why}: put that key back in the ring (oldest first) "
                "or upload the certificate again.",
                target=certificate_id,
            ) from exc

    def reencrypt_all(self) -> tuple[int, int]:
        """Re-seal every stored version under the ring's newest key; (re-sealed, already current).
        Versions the ring cannot open are left as they are and, once the rest is done, reported
        together: KeyRingMismatch with one detail per version."""
        resealed = current = 0
        unopenable: list[ErrorDetail] = []
        for cert in self._rows.all():
            name = blob_name(cert.id, cert.version)
            try:
                sealed, etag = self._blobs.read(name)
            except EntityNotFound:
                continue  # replaced or deleted meanwhile
            if key_id_of(sealed) == self._ring.current_id:
                current += 1
                continue
            try:
                plain = self._open(cert.id, cert.version, sealed)
            except KeyRingMismatch as exc:
                unopenable.append(ErrorDetail(exc.code, exc.message, cert.id))
                continue
            fresh = seal(self._ring, plain, envelope_context(cert.id, cert.version))
            try:
                self._blobs.overwrite(name, fresh, key_id=self._ring.current_id, etag=etag)
            except (EtagMismatch, EntityNotFound):
                continue  # changed meanwhile: whoever changed it wrote with the newest key
            resealed += 1
            log.info(
                "certificate %s version %s re-sealed under key %s",
                cert.id,
                cert.version,
                self._ring.current_id,
            )
        if unopenable:
            raise KeyRingMismatch(
                f"{len(unopenable)} stored certificate version(s) are sealed under key ids that "
                f"CERTGATE_ENCRYPTION_KEYS does not hold; {resealed} re-sealed, {current} already "
                "current. Put the missing keys back in the ring and run again.",
                details=tuple(unopenable),
            )
        return resealed, current

    def _same_material(self, existing: Certificate, material: ClientCertificate) -> bool:
        if existing.info.thumbprint != material.describe().thumbprint:
            return False
        try:
            return self.load_material(existing) == material.to_pem_bundle()
        except (EntityNotFound, EnvelopeError, KeyRingMismatch):
            return False  # unreadable here: the upload replaces it with a blob this ring opens

    def _with_usage(self, cert: Certificate) -> Certificate:
        users = tuple(self._apis.using_certificate(cert.id))
        return Certificate(cert.id, cert.version, cert.info, cert.etag, users)
