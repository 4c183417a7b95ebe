"""SDK clients built once per process from the settings: connection string or identity."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient
from requests.adapters import HTTPAdapter

from shared.config import StorageSettings
from shared.storage.errors import EntityExists, storage_errors

TABLES = ("certificates", "apis", "paths", "meta")

# Fail fast and retry little: a management call or a gateway miss should answer 503 in seconds,
# not after the SDK's default minute of back-off.
_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.2,
    "retry_backoff_max": 1,
    "connection_timeout": 5,
    "read_timeout": 20,
}


@dataclass
class StorageClients:
    tables: dict[str, TableClient]
    container: ContainerClient


def _transport() -> RequestsTransport:
    """The SDK's default pool keeps 10 connections: fewer than the request threads, so busy
    moments would open and drop connections. One pool per client, as large as the threads."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=64)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=False)


def build_clients(settings: StorageSettings) -> StorageClients:
    """Connection string where one is set (Azurite); else identity-based URIs, as the
    Functions host does for `AzureWebJobsStorage__blobServiceUri` / `__tableServiceUri`."""
    if settings.connection_string:
        connection = settings.connection_string
        table_service = TableServiceClient.from_connection_string(
            connection, transport=_transport(), **_CLIENT_OPTIONS
        )
        blob_service = BlobServiceClient.from_connection_string(
            connection, transport=_transport(), **_CLIENT_OPTIONS
        )
    else:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential(managed_identity_client_id=settings.client_id)
        table_service = TableServiceClient(
            str(settings.table_service_uri), credential=credential, transport=_transport(), **_CLIENT_OPTIONS
        )
        blob_service = BlobServiceClient(
            str(settings.blob_service_uri), credential=credential, transport=_transport(), **_CLIENT_OPTIONS
        )
    tables = {name: table_service.get_table_client(settings.table_prefix + name) for name in TABLES}
    return StorageClients(tables, blob_service.get_container_client(settings.blob_container))


class Provisioner:
    """Creates the tables and the container once per process, on first use."""

    def __init__(self, clients: StorageClients) -> None:
        self._clients = clients
        self._done = False
        self._lock = threading.Lock()

    def ensure(self) -> None:
        if self._done:
            return
        with self._lock:
            if self._done:
                return
            for table in self._clients.tables.values():
                _create_if_missing("create table", table.create_table)
            _create_if_missing("create container", self._clients.container.create_container)
            self._done = True


def _create_if_missing(operation: str, create: Any) -> None:
    try:
        with storage_errors(operation):
            create()
    except EntityExists:
        pass
