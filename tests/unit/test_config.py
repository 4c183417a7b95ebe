import pytest

from shared.config import load_settings
from shared.errors import ConfigurationError
from tests.services import TEST_KEY_RING


def test_defaults() -> None:
    settings = load_settings({"CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING})
    assert settings.backend_timeout_seconds == 30
    assert settings.config_ttl_seconds == 5
    assert settings.max_upload_bytes == 1048576
    assert settings.max_gateway_body_bytes == 104857600
    assert settings.backend_idle_timeout_seconds == 120
    assert settings.storage.connection_string and "127.0.0.1:10002" in settings.storage.connection_string
    assert settings.backend_ca_file is None


def test_missing_key_ring_stops_start_up() -> None:
    with pytest.raises(ConfigurationError, match="CERTGATE_ENCRYPTION_KEYS is not set"):
        load_settings({})


@pytest.mark.parametrize("name", ["CERTGATE_BACKEND_TIMEOUT_SECONDS", "CERTGATE_MAX_UPLOAD_BYTES"])
@pytest.mark.parametrize("value", ["abc", "-1", "0"])
def test_bad_numbers(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        load_settings({"CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING, name: value})


def test_identity_based_storage() -> None:
    settings = load_settings(
        {
            "CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING,
            "AzureWebJobsStorage__blobServiceUri": "https://acct.blob.core.windows.net",
            "AzureWebJobsStorage__tableServiceUri": "https://acct.table.core.windows.net",
        }
    )
    assert settings.storage.connection_string is None
    assert settings.storage.table_service_uri == "https://acct.table.core.windows.net"


def test_identity_from_account_name() -> None:
    settings = load_settings(
        {"CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING, "AzureWebJobsStorage__accountName": "acct"}
    )
    assert settings.storage.blob_service_uri == "https://acct.blob.core.windows.net"
    assert settings.storage.connection_string is None


def test_trust_store_follows_requests_then_ssl_cert_file() -> None:
    env = {"CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING, "SSL_CERT_FILE": "/b"}
    assert load_settings(env).backend_ca_file == "/b"
    assert load_settings({**env, "REQUESTS_CA_BUNDLE": "/a"}).backend_ca_file == "/a"


def test_identity_based_clients_are_built_without_a_connection_string() -> None:
    """By construction: the clients point at the configured URIs and carry a token credential
    (DefaultAzureCredential), with no shared key anywhere. No network call is made here."""
    from azure.identity import DefaultAzureCredential

    from shared.storage.clients import build_clients

    settings = load_settings(
        {
            "CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING,
            "AzureWebJobsStorage__blobServiceUri": "https://acct.blob.core.windows.net",
            "AzureWebJobsStorage__tableServiceUri": "https://acct.table.core.windows.net",
            "CERTGATE_TABLE_PREFIX": "cg",
        }
    )
    clients = build_clients(settings.storage)
    assert clients.container.url == "https://acct.blob.core.windows.net/certgate-pfx"
    assert clients.tables["apis"].url.startswith("https://acct.table.core.windows.net")
    assert clients.tables["apis"].table_name == "cgapis"
    assert isinstance(clients.container.credential, DefaultAzureCredential)
