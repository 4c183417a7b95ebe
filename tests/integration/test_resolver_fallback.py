"""After a write, a storage outage: the resolver serves the snapshot the write dropped (the
last known configuration), and only an instance with nothing resolved answers 503. Against an
Azurite of the test's own, stopped mid-test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.beacon import ChangeBeacon
from shared.config import load_settings
from shared.errors import ApiNotFound, StorageUnavailable
from shared.models import ApiSpec
from shared.services import Services, build_services
from tests.conftest import unique_prefix
from tests.services import Azurite, app_environment


@pytest.fixture
def storage() -> Iterator[Azurite]:
    server = Azurite()
    yield server
    server.stop()


def built(env: dict[str, str]) -> Services:
    services = build_services(load_settings(env))
    services.provisioner.ensure()
    return services


def test_a_write_then_an_outage_keeps_the_last_known_configuration(storage: Azurite) -> None:
    env = app_environment(storage.connection_string, unique_prefix(), CERTGATE_CONFIG_TTL_SECONDS="1")
    writer = built(env)
    writer.apis.put("kept", ApiSpec("", "kept", "https://kept.example/api", None))
    assert writer.resolver.resolve(("kept", "before")).api.id == "kept"
    cold = built(env)  # the twin: an instance that never resolved anything

    writer.apis.put("added", ApiSpec("", "added", "https://added.example/api", None))  # drops the snapshot
    storage.stop()

    for n in range(3):  # every call, not only the first: served from the snapshot the write dropped
        assert (
            writer.resolver.resolve(("kept", f"during{n}")).api.spec.service_url == "https://kept.example/api"
        )
    with pytest.raises(ApiNotFound):  # the write's own change is not visible until storage is back
        writer.resolver.resolve(("added",))
    with pytest.raises(StorageUnavailable):
        cold.resolver.resolve(("kept",))


def test_a_write_of_a_sibling_worker_then_an_outage(storage: Azurite, tmp_path: Path) -> None:
    """The beacon path (another worker of this host wrote) keeps the fallback too."""
    env = app_environment(storage.connection_string, unique_prefix(), CERTGATE_CONFIG_TTL_SECONDS="300")
    beacon = tmp_path / "beacon"
    reader = build_services(load_settings(env), beacon=ChangeBeacon(beacon))
    sibling = build_services(load_settings(env), beacon=ChangeBeacon(beacon))
    reader.provisioner.ensure()
    sibling.apis.put("kept", ApiSpec("", "kept", "https://kept.example/api", None))
    assert reader.resolver.resolve(("kept",)).api.id == "kept"
    sibling.apis.put("added", ApiSpec("", "added", "https://added.example/api", None))
    storage.stop()
    assert reader.resolver.resolve(("kept", "x")).api.id == "kept"
