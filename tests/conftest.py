"""Session-wide real services: one Azurite per test worker; per-test isolation by prefixes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared.config import load_settings
from shared.services import Services, build_services
from tests.services import Azurite, DevHost, app_environment

pytest_plugins = ["tests.gateway_fixtures"]


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    server = Azurite()
    yield server
    server.stop()


def unique_prefix() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def app_env(azurite: Azurite) -> dict[str, str]:
    """Settings for one test's own tables and container."""
    return app_environment(azurite.connection_string, unique_prefix())


@pytest.fixture
def services(app_env: dict[str, str]) -> Iterator[Services]:
    built = build_services(load_settings(app_env))
    built.provisioner.ensure()
    yield built
    built.forwarder.close()


@pytest.fixture(scope="session")
def devhost_env(azurite: Azurite) -> dict[str, str]:
    return app_environment(
        azurite.connection_string,
        unique_prefix(),
        CERTGATE_CONFIG_TTL_SECONDS="1",
        CERTGATE_BACKEND_TIMEOUT_SECONDS="3",
    )


@pytest.fixture(scope="session")
def devhost(devhost_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    """One local host for the API tests (tests isolate themselves by unique ids)."""
    host = DevHost(devhost_env, log_path=tmp_path_factory.mktemp("devhost") / "devhost.log")
    yield host
    host.stop()


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:10]
