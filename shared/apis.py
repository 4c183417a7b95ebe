"""API use cases: create or replace with a unique path and a checked binding; get; list; delete.

Guarantees rest on single-entity conditional writes:
- a path belongs to one API: its reservation row is created atomically, then confirmed by
  ETag after the API row is written; whoever loses the confirmation rolls back;
- an API is never left bound to a deleted certificate: after writing the API row, the bind
  reads the certificate's deletion intent, then the certificate, and rolls back if a delete is
  under way or the certificate is gone (the argument: DeletionIntents). It writes nothing of
  the certificate's, so binds never move its ETag. The CA certificates of tls.caCertificateIds
  are guarded the same way, with their own deletion intents.
"""

from __future__ import annotations

import contextlib
import logging

from shared.changes import ChangeFeed
from shared.conditions import NO_CONDITIONS, Conditions
from shared.errors import (
    CertificateNotFound,
    PathInUse,
    PreconditionFailed,
    ResourceNotFound,
    StorageUnavailable,
)
from shared.identifiers import validate_id
from shared.listing import API_FIELDS, api_values, matcher, page_after
from shared.models import Api, ApiSpec, Page
from shared.storage.api_rows import ApiRows, PathReservation
from shared.storage.ca_certificate_rows import CaCertificateRows
from shared.storage.certificate_rows import CertificateRows
from shared.storage.deletion_intents import DeletionIntents
from shared.storage.errors import EntityExists, EntityNotFound, EtagMismatch

log = logging.getLogger(__name__)
_ATTEMPTS = 8


class _LostRace(Exception):
    """Someone else changed the row we were about to write: read again."""


class ApiService:
    def __init__(
        self,
        apis: ApiRows,
        paths: PathReservation,
        certificates: CertificateRows,
        changes: ChangeFeed,
        intents: DeletionIntents,
        *,
        ca_certificates: CaCertificateRows,
        ca_intents: DeletionIntents,
    ) -> None:
        self._ca_certificates = ca_certificates
        self._ca_intents = ca_intents
        self._apis = apis
        self._paths = paths
        self._certificates = certificates
        self._intents = intents
        self._changes = changes

    def put(self, api_id: str, spec: ApiSpec, conditions: Conditions = NO_CONDITIONS) -> tuple[Api, bool]:
        """Create or replace; returns the API and whether it was created."""
        validate_id(api_id, target="apiId")
        for _ in range(_ATTEMPTS):
            existing = self._apis.find(api_id)
            conditions.check(existing.etag if existing else None)
            try:
                api = self._write(api_id, spec, existing)
            except _LostRace:
                if conditions.pinned:
                    raise PreconditionFailed("The API changed during the request.") from None
                continue
            if existing is not None and existing.spec.path != spec.path:
                self._release(existing.spec.path, api_id)
            self._changes.publish()
            log.info("api %s %s at path %s", api_id, "replaced" if existing else "created", spec.path)
            return api, existing is None
        raise StorageUnavailable("The API kept changing during the request; try again.")

    def get(self, api_id: str) -> Api:
        api = self.get_or_none(api_id)
        if api is None:
            raise ResourceNotFound(f"API '{api_id}' does not exist.", target=api_id)
        return api

    def etag(self, api_id: str) -> str:
        """The API's ETag (HEAD, of the API and of its policy): one point read."""
        return self.get(api_id).etag

    def get_or_none(self, api_id: str) -> Api | None:
        return self._apis.find(validate_id(api_id, target="apiId"))

    def list(self, *, top: int, after: str | None, filter_text: str | None = None) -> Page:
        """One page of the APIs that match `filter_text` (`$filter`); `count` is every match
        across pages."""
        matches = matcher(filter_text, API_FIELDS)
        found = [a for a in self._apis.all() if matches(api_values(a))]
        apis, next_token = page_after(found, lambda a: a.id, after=after, top=top)
        return Page(tuple(a.to_resource() for a in apis), len(found), next_token)

    def delete(self, api_id: str, conditions: Conditions = NO_CONDITIONS) -> bool:
        validate_id(api_id, target="apiId")
        for _ in range(_ATTEMPTS):
            api = self._apis.find(api_id)
            conditions.check(api.etag if api else None)
            if api is None:
                return False
            try:
                self._apis.delete(api_id, etag=api.etag)
            except EtagMismatch:
                continue
            self._release(api.spec.path, api_id)
            self._changes.publish()
            log.info("api %s deleted", api_id)
            return True
        raise StorageUnavailable("The API kept changing during the delete; try again.")

    def _write(self, api_id: str, spec: ApiSpec, existing: Api | None) -> Api:
        if spec.certificate_id is not None and self._certificates.find(spec.certificate_id) is None:
            raise CertificateNotFound(
                f"Certificate '{spec.certificate_id}' does not exist.", target="certificateId"
            )
        for ca_id in spec.tls.ca_certificate_ids:
            if self._ca_certificates.find(ca_id) is None:
                raise CertificateNotFound(
                    f"CA certificate '{ca_id}' does not exist.", target="tls.caCertificateIds"
                )
        reservation_etag = self._reserve(spec.path, api_id)
        api = Api(api_id, spec)
        try:
            etag = self._apis.create(api) if existing is None else self._apis.replace(api, etag=existing.etag)
        except (EntityExists, EtagMismatch, EntityNotFound):
            self._release(spec.path, api_id, keep_if=existing)
            raise _LostRace from None
        written = Api(api_id, spec, etag)
        try:
            self._paths.claim(spec.path, api_id, etag=reservation_etag, confirmed=True)
        except (EtagMismatch, EntityNotFound):
            self._roll_back(written, existing)
            raise PathInUse(
                f"Path '{spec.path}' was taken by another API meanwhile.", target="path"
            ) from None
        if spec.certificate_id is not None:
            self._confirm_binding(written, existing, spec.certificate_id)
        for ca_id in spec.tls.ca_certificate_ids:
            self._confirm_trust(written, existing, ca_id)
        return written

    def _reserve(self, path: str, api_id: str) -> str:
        """Reserve `path` for `api_id`; returns the reservation's ETag for the confirmation."""
        for _ in range(_ATTEMPTS):
            try:
                return self._paths.create(path, api_id)
            except EntityExists:
                pass
            found = self._paths.find(path)
            if found is None:
                continue
            owner, _, etag = found
            if owner != api_id:
                holder = self._apis.find(owner)
                if holder is not None and holder.spec.path == path:
                    raise PathInUse(f"Path '{path}' is used by API '{owner}'.", target="path")
            # Ours already, or a stale claim (its API is gone or moved): take it by ETag.
            try:
                return self._paths.claim(path, api_id, etag=etag, confirmed=False)
            except (EtagMismatch, EntityNotFound):
                continue
        raise StorageUnavailable(f"Path '{path}' kept changing; try again.")

    def _confirm_binding(self, written: Api, existing: Api | None, certificate_id: str) -> None:
        """Two point reads, the intent first (DeletionIntents says why that order)."""
        if self._intents.is_live(certificate_id):
            problem = "is being deleted"
        elif self._certificates.find(certificate_id) is None:
            problem = "was deleted meanwhile"
        else:
            return
        self._roll_back(written, existing)
        raise CertificateNotFound(f"Certificate '{certificate_id}' {problem}.", target="certificateId")

    def _confirm_trust(self, written: Api, existing: Api | None, ca_id: str) -> None:
        """As _confirm_binding, for one CA certificate of tls.caCertificateIds."""
        if self._ca_intents.is_live(ca_id):
            problem = "is being deleted"
        elif self._ca_certificates.find(ca_id) is None:
            problem = "was deleted meanwhile"
        else:
            return
        self._roll_back(written, existing)
        raise CertificateNotFound(f"CA certificate '{ca_id}' {problem}.", target="tls.caCertificateIds")

    def _roll_back(self, written: Api, existing: Api | None) -> None:
        try:
            if existing is None:
                self._apis.delete(written.id, etag=written.etag)
            else:
                self._apis.replace(existing, etag=written.etag)
        except (EtagMismatch, EntityNotFound):
            log.warning("api %s changed again before its failed write was rolled back", written.id)
        if existing is None or existing.spec.path != written.spec.path:
            self._release(written.spec.path, written.id)

    def _release(self, path: str, api_id: str, keep_if: Api | None = None) -> None:
        """Drop `api_id`'s claim on `path` (unless `keep_if` is an API that still holds it)."""
        if keep_if is not None and keep_if.spec.path == path:
            return
        found = self._paths.find(path)
        if found is None or found[0] != api_id:
            return
        with contextlib.suppress(EtagMismatch):  # re-claimed meanwhile: no longer ours
            self._paths.delete(path, etag=found[2])
