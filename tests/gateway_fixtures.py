"""PKI, backends and a local host for the gateway tests: the host trusts the test root only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import Azurite, DevHost, app_environment
from tests.support.pki import CA, Issued
from tests.support.tls_backends import EchoBackend

GATEWAY_TTL = "1"


@pytest.fixture(scope="session")
def root() -> CA:
    return CA.new("gateway test root", "rsa")


@pytest.fixture(scope="session")
def foreign_root() -> CA:
    return CA.new("foreign root", "ec")


@pytest.fixture(scope="session")
def trust_file(root: CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trust") / "root.pem"
    root.write_pem(path)
    return path


def gateway_env(azurite: Azurite, trust_file: Path, prefix: str, **extra: str) -> dict[str, str]:
    settings = {
        "REQUESTS_CA_BUNDLE": str(trust_file),
        "SSL_CERT_FILE": str(trust_file),
        "CERTGATE_CONFIG_TTL_SECONDS": GATEWAY_TTL,
        "CERTGATE_BACKEND_TIMEOUT_SECONDS": "2",
        "CERTGATE_MAX_GATEWAY_BODY_BYTES": str(2 * 1024 * 1024),
    }
    return app_environment(azurite.connection_string, prefix, **{**settings, **extra})


@pytest.fixture(scope="session")
def gateway_prefix() -> str:
    from tests.conftest import unique_prefix

    return unique_prefix()


@pytest.fixture(scope="session")
def gateway_host(
    azurite: Azurite, trust_file: Path, gateway_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevHost]:
    host = DevHost(
        gateway_env(azurite, trust_file, gateway_prefix),
        log_path=tmp_path_factory.mktemp("gw") / "devhost.log",
    )
    yield host
    host.stop()


@pytest.fixture(scope="session")
def mtls_backend(root: CA) -> Iterator[EchoBackend]:
    """Requires a client certificate issued under the test root (directly or via intermediates)."""
    with EchoBackend(root.issue_server(), [root.cert_pem]) as backend:
        yield backend


@pytest.fixture(scope="session")
def client_certs(root: CA) -> dict[str, Issued]:
    return {
        "rsa": root.issue_client("gw-client-rsa", kind="rsa"),
        "ec": root.issue_client("gw-client-ec", kind="ec"),
    }
