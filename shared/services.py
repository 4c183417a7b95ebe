"""The composition root: builds the process-wide services from the settings, once."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from shared.apis import ApiService
from shared.beacon import ChangeBeacon
from shared.ca_certificates import CaCertificateService
from shared.certificates import CertificateService
from shared.changes import ChangeFeed
from shared.config import Settings
from shared.expiry import ExpiryService
from shared.gateway.forwarding import Forwarder
from shared.gateway.resolver import Resolver
from shared.gateway.sessions import SessionPool
from shared.named_values import NamedValueService
from shared.storage.api_rows import ApiRows, PathReservation
from shared.storage.blobs import BlobStore
from shared.storage.ca_certificate_rows import CaCertificateRows
from shared.storage.certificate_rows import CertificateRows
from shared.storage.changes import ChangeMarker
from shared.storage.clients import Provisioner, StorageClients, build_clients
from shared.storage.deletion_intents import DeletionIntents
from shared.storage.named_value_rows import NamedValueRows
from shared.storage.tables import EntityTable


@dataclass
class Services:
    settings: Settings
    provisioner: Provisioner
    certificates: CertificateService
    ca_certificates: CaCertificateService
    apis: ApiService
    named_values: NamedValueService
    resolver: Resolver
    forwarder: Forwarder
    clients: StorageClients
    marker: ChangeMarker
    expiry: ExpiryService


def build_services(settings: Settings, *, beacon: ChangeBeacon | None = None) -> Services:
    """`beacon`: shared with sibling worker processes of the same host (None: no siblings)."""
    clients = build_clients(settings.storage)
    tables = clients.tables
    cert_rows = CertificateRows(EntityTable(tables["certificates"], "certificate"))
    api_rows = ApiRows(EntityTable(tables["apis"], "api"))
    paths = PathReservation(EntityTable(tables["paths"], "path"))
    # A partition of its own in the certificates table: no table to provision, none in lists.
    intents = DeletionIntents(EntityTable(tables["certificates"], "deletion"))
    changes = ChangeFeed(ChangeMarker(EntityTable(tables["meta"], "meta")), beacon)
    # CA certificates and their deletion intents: partitions of their own, likewise.
    ca_rows = CaCertificateRows(EntityTable(tables["certificates"], "caCertificate"))
    ca_intents = DeletionIntents(EntityTable(tables["certificates"], "caDeletion"))
    certificates = CertificateService(
        cert_rows, api_rows, BlobStore(clients.container), settings.key_ring, changes, intents
    )
    # A partition of its own in the APIs table (the credentials that refer to them live there).
    named_value_rows = NamedValueRows(EntityTable(tables["apis"], "namedValue"), settings.key_ring)
    named_values = NamedValueService(named_value_rows, changes, api_rows.named_value_usage)
    resolver = Resolver(
        paths,
        api_rows,
        cert_rows,
        changes.marker,
        ttl=settings.config_ttl_seconds,
        beacon=beacon,
        ca_certificates=ca_rows,
    )
    resolver.named_value_rows = named_value_rows
    changes.subscribe(resolver.invalidate)
    pool = SessionPool(certificates.load_material, ca_file=settings.backend_ca_file)
    forwarder = Forwarder(
        resolver,
        pool,
        timeout=settings.backend_timeout_seconds,
        idle_timeout=settings.backend_idle_timeout_seconds,
        max_body_bytes=settings.max_gateway_body_bytes,
    )
    return Services(
        settings=settings,
        provisioner=Provisioner(clients),
        certificates=certificates,
        ca_certificates=CaCertificateService(ca_rows, api_rows, ca_intents, changes),
        apis=ApiService(
            api_rows, paths, cert_rows, changes, intents, ca_certificates=ca_rows, ca_intents=ca_intents
        ),
        named_values=named_values,
        resolver=resolver,
        forwarder=forwarder,
        clients=clients,
        marker=changes.marker,
        # What the expiry timer reported: a partition of its own in the meta table.
        expiry=ExpiryService(
            cert_rows,
            ca_rows,
            api_rows,
            EntityTable(tables["meta"], "expiryReported"),
            settings.expiry_warning_days,
        ),
    )


class LazyServices:
    """Built on first use (no network or file at import); tables are provisioned once.
    `sibling_workers`: share a change beacon with the other workers of this host."""

    def __init__(self, settings: Settings, *, sibling_workers: bool = False) -> None:
        self.settings = settings
        self._sibling_workers = sibling_workers
        self._services: Services | None = None
        self._lock = threading.Lock()

    def get(self) -> Services:
        services = self._services
        if services is None:
            with self._lock:
                if self._services is None:
                    beacon = ChangeBeacon.for_worker_group() if self._sibling_workers else None
                    self._services = build_services(self.settings, beacon=beacon)
                services = self._services
        services.provisioner.ensure()
        return services
