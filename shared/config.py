"""The only reader of the environment: app settings, validated once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.envelope import KeyRing, parse_key_ring
from shared.errors import ConfigurationError

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
_AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


@dataclass(frozen=True)
class StorageSettings:
    """Either a connection string (Azurite, shared key) or identity-based service URIs."""

    connection_string: str | None
    blob_service_uri: str | None
    table_service_uri: str | None
    client_id: str | None
    table_prefix: str
    blob_container: str


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    key_ring: KeyRing
    backend_timeout_seconds: float  # from the first byte sent to the last header byte
    backend_idle_timeout_seconds: float  # the longest wait between two body chunks
    config_ttl_seconds: float
    max_upload_bytes: int
    max_gateway_body_bytes: int
    backend_ca_file: str | None  # None: the system trust store
    applicationinsights_connection_string: str | None = None  # None: no telemetry exported
    expiry_warning_days: tuple[int, ...] = (30, 14, 7, 1)  # descending, distinct, each >= 1


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise ConfigurationError with a clear message."""
    env = os.environ if environ is None else environ
    keys = env.get("CERTGATE_ENCRYPTION_KEYS")
    if keys is None:
        raise ConfigurationError(
            "CERTGATE_ENCRYPTION_KEYS is not set: certgate will not start without the key ring "
            "that encrypts stored PFX files (see local.settings.sample.json and README.md)."
        )
    return Settings(
        storage=_storage(env),
        key_ring=parse_key_ring(keys),
        backend_timeout_seconds=_number(env, "CERTGATE_BACKEND_TIMEOUT_SECONDS", 30.0),
        backend_idle_timeout_seconds=_number(env, "CERTGATE_BACKEND_IDLE_TIMEOUT_SECONDS", 120.0),
        config_ttl_seconds=_number(env, "CERTGATE_CONFIG_TTL_SECONDS", 5.0),
        max_upload_bytes=int(_number(env, "CERTGATE_MAX_UPLOAD_BYTES", 1048576)),
        max_gateway_body_bytes=int(_number(env, "CERTGATE_MAX_GATEWAY_BODY_BYTES", 104857600)),
        # Backend trust as `requests` users know it: REQUESTS_CA_BUNDLE, else SSL_CERT_FILE.
        backend_ca_file=env.get("REQUESTS_CA_BUNDLE") or env.get("SSL_CERT_FILE") or None,
        applicationinsights_connection_string=env.get("APPLICATIONINSIGHTS_CONNECTION_STRING") or None,
        expiry_warning_days=_warning_days(env.get("CERTGATE_EXPIRY_WARNING_DAYS")),
    )


def _warning_days(raw: str | None) -> tuple[int, ...]:
    """CERTGATE_EXPIRY_WARNING_DAYS: comma-separated whole days, e.g. `30,14,7,1`."""
    if raw is None or raw.strip() == "":
        return (30, 14, 7, 1)
    days: set[int] = set()
    for part in raw.split(","):
        text = part.strip()
        if not text.isdigit() or int(text) < 1:
            raise ConfigurationError(
                f"CERTGATE_EXPIRY_WARNING_DAYS must be whole days of 1 or more separated by commas "
                f"(e.g. '30,14,7,1'), got '{raw}'."
            )
        days.add(int(text))
    return tuple(sorted(days, reverse=True))


def _storage(env: Mapping[str, str]) -> StorageSettings:
    prefix = env.get("CERTGATE_TABLE_PREFIX", "certgate")
    container = env.get("CERTGATE_BLOB_CONTAINER", "certgate-pfx")
    if not prefix.isalnum() or not prefix[:1].isalpha() or len(prefix) > 40:
        raise ConfigurationError(
            "CERTGATE_TABLE_PREFIX must be 1 to 40 letters and digits, starting with a letter."
        )
    blob_uri = env.get("AzureWebJobsStorage__blobServiceUri")
    table_uri = env.get("AzureWebJobsStorage__tableServiceUri")
    account = env.get("AzureWebJobsStorage__accountName")
    if account and not (blob_uri or table_uri):
        blob_uri = f"https://{account}.blob.core.windows.net"
        table_uri = f"https://{account}.table.core.windows.net"
    connection = env.get("AzureWebJobsStorage")
    if connection is None and not (blob_uri and table_uri):
        connection = "UseDevelopmentStorage=true"
    if connection is not None and connection.strip().lower() == "usedevelopmentstorage=true":
        connection = _AZURITE
    return StorageSettings(
        connection_string=connection or None,
        blob_service_uri=blob_uri,
        table_service_uri=table_uri,
        client_id=env.get("AzureWebJobsStorage__clientId"),
        table_prefix=prefix,
        blob_container=container,
    )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got '{raw}'.") from exc
    if value <= 0:
        raise ConfigurationError(f"{name} must be greater than 0, got '{raw}'.")
    return value
