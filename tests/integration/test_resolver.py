"""The resolver against a real Azurite: one load shared by concurrent threads, changes of
another instance seen after the TTL, own changes at once, no storage call in steady state."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.beacon import ChangeBeacon
from shared.config import load_settings
from shared.models import ApiSpec
from shared.services import build_services
from shared.storage.errors import STORAGE_CALLS
from tests.services import PROJECT, wait_for


def test_instances_share_storage_and_respect_the_ttl(app_env: dict[str, str]) -> None:
    env = {**app_env, "CERTGATE_CONFIG_TTL_SECONDS": "1"}
    a, b = build_services(load_settings(env)), build_services(load_settings(env))
    a.provisioner.ensure()
    for n in range(20):
        a.apis.put(f"api{n}", ApiSpec("", f"p{n}", f"https://one.example/{n}", None))
    assert b.resolver.resolve(("p3", "x")).api.spec.service_url == "https://one.example/3"

    a.apis.put("api3", ApiSpec("", "p3", "https://two.example/3", None))
    assert a.resolver.resolve(("p3",)).api.spec.service_url == "https://two.example/3"  # at once
    changed = time.monotonic()
    while b.resolver.resolve(("p3",)).api.spec.service_url != "https://two.example/3":
        assert time.monotonic() - changed < 1.5, "not seen within the TTL"
        time.sleep(0.05)

    # steady state: many requests, distinct sub-paths, no storage call beyond one marker read per TTL
    for n in range(20):
        b.resolver.resolve((f"p{n}",))  # first use of each route reads it once
    before = STORAGE_CALLS.value
    for n in range(2000):
        b.resolver.resolve((f"p{n % 20}", f"item{n}"))
    assert STORAGE_CALLS.value - before <= 1


def test_concurrent_threads_share_one_load(app_env: dict[str, str]) -> None:
    services = build_services(load_settings(app_env))
    services.provisioner.ensure()
    for n in range(30):
        services.apis.put(f"api{n}", ApiSpec("", f"p{n}", "https://x.example", None))
    services.resolver.invalidate()
    before = STORAGE_CALLS.value
    with ThreadPoolExecutor(max_workers=16) as pool:
        routes = list(pool.map(lambda n: services.resolver.resolve(("p7", str(n))), range(64)))
    assert {r.api.id for r in routes} == {"api7"}
    assert STORAGE_CALLS.value - before <= 3  # index + API row (+ one marker read), not one per thread


def test_sibling_workers_see_writes_through_the_beacon(app_env: dict[str, str], tmp_path: Path) -> None:
    """Workers sharing a beacon see each other's writes at the next resolve, with a TTL far
    longer than the test; an instance without it (another machine) still serves the old route."""
    env = {**app_env, "CERTGATE_CONFIG_TTL_SECONDS": "300"}
    path = tmp_path / "beacon"
    a = build_services(load_settings(env), beacon=ChangeBeacon(path))
    b = build_services(load_settings(env), beacon=ChangeBeacon(path))
    other = build_services(load_settings(env))
    a.provisioner.ensure()
    a.apis.put("api", ApiSpec("", "p", "https://one.example", None))
    for services in (a, b, other):
        assert services.resolver.resolve(("p",)).api.spec.service_url == "https://one.example"

    a.apis.put("api", ApiSpec("", "p", "https://two.example", None))
    assert b.resolver.resolve(("p",)).api.spec.service_url == "https://two.example"  # at once
    assert other.resolver.resolve(("p",)).api.spec.service_url == "https://one.example"  # after the TTL
    assert a.resolver.resolve(("p",)).api.spec.service_url == "https://two.example"

    before = STORAGE_CALLS.value
    for n in range(500):
        a.resolver.resolve(("p", str(n)))
        b.resolver.resolve(("p", str(n)))
    assert STORAGE_CALLS.value - before == 0  # the beacon costs no storage call


def test_beacon_counts_every_bump_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "beacon"
    beacon = ChangeBeacon(path)
    script = (
        "import sys; from pathlib import Path; from shared.beacon import ChangeBeacon; "
        "b = ChangeBeacon(Path(sys.argv[1])); [b.bump() for _ in range(500)]"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=PROJECT) for _ in range(4)]
    assert [p.wait(60) for p in procs] == [0] * 4
    assert beacon.value() == 2000  # no bump lost to a race: the flock serialises them
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_call_that_finds_the_ttl_over_does_not_wait_for_the_reload(app_env: dict[str, str]) -> None:
    """The marker check and the reload run on a thread of their own: the call that starts them
    is served from the current snapshot at once, and the next calls see the change."""
    env = {**app_env, "CERTGATE_CONFIG_TTL_SECONDS": "0.5"}
    a, b = build_services(load_settings(env)), build_services(load_settings(env))
    a.provisioner.ensure()
    a.apis.put("api", ApiSpec("", "p", "https://one.example", None))
    assert b.resolver.resolve(("p",)).api.spec.service_url == "https://one.example"
    a.apis.put("api", ApiSpec("", "p", "https://two.example", None))
    time.sleep(0.6)  # the TTL runs out
    assert b.resolver.resolve(("p",)).api.spec.service_url == "https://one.example"  # not waited for
    wait_for(
        lambda: b.resolver.resolve(("p",)).api.spec.service_url == "https://two.example",
        timeout=5,
        what="the reload built on its own thread",
    )
