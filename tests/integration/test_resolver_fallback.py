"""After a write, a storage outage: the resolver serves the snapshot the write dropped (the
last known configuration), and only an instance with nothing resolved answers 503; once storage
is back, the next marker check reloads. Against an Azurite of the test's own, stopped or cut off
mid-test."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.beacon import ChangeBeacon
from shared.config import load_settings
from shared.errors import ApiNotFound, StorageUnavailable
from shared.models import ApiSpec
from shared.services import Services, build_services
from tests.conftest import unique_prefix
from tests.services import Azurite, app_environment, connection_string, wait_for


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


class Cuttable:
    """A TCP relay to one Azurite port that can be cut (every connection, open or new, is
    closed at once) and restored: storage unreachable, then back, on the same address."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._cut = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                if self._cut.is_set():
                    client.close()
                    continue
                upstream = socket.create_connection(("127.0.0.1", self._target))
                with self._lock:
                    self._open.update((client, upstream))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def test_after_the_outage_the_next_marker_check_reloads(storage: Azurite) -> None:
    relay = Cuttable(storage.table_port)
    try:
        env = app_environment(
            connection_string(storage.blob_port, storage.queue_port, relay.port),
            unique_prefix(),
            CERTGATE_CONFIG_TTL_SECONDS="1",
        )
        services = built(env)
        services.apis.put("kept", ApiSpec("", "kept", "https://kept.example/api", None))
        assert services.resolver.resolve(("kept",)).api.id == "kept"
        services.apis.put("added", ApiSpec("", "added", "https://added.example/api", None))
        relay.cut()
        assert services.resolver.resolve(("kept", "during")).api.id == "kept"
        with pytest.raises(ApiNotFound):
            services.resolver.resolve(("added",))
        relay.restore()

        def added_is_served() -> bool:
            try:
                return services.resolver.resolve(("added",)).api.id == "added"
            except ApiNotFound:
                return False

        wait_for(added_is_served, timeout=15, what="the write's own change after the outage")
        assert services.resolver.resolve(("kept",)).api.id == "kept"
    finally:
        relay.close()
