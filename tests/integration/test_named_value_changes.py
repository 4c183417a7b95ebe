"""Named values against a real Azurite: a change reaches the routes of this instance at once
and those of another within the TTL, like any other change; one in use cannot be deleted."""

from __future__ import annotations

import time

import pytest

from shared.config import load_settings
from shared.errors import NamedValueInUse
from shared.models import ApiSpec, BackendCredentials, NamedValueSpec
from shared.services import build_services


def test_a_change_reaches_both_instances(app_env: dict[str, str]) -> None:
    env = {**app_env, "CERTGATE_CONFIG_TTL_SECONDS": "1"}
    a, b = build_services(load_settings(env)), build_services(load_settings(env))
    a.provisioner.ensure()
    a.named_values.put("key", NamedValueSpec("key", "first", secret=True))
    credentials = BackendCredentials(header=(("x-api-key", ("{{key}}",)),))
    a.apis.put("api", ApiSpec("", "p", "https://one.example", None, backend_credentials=credentials))
    assert b.resolver.resolve(("p",)).named_values == {"key": "first"}

    a.named_values.put("key", NamedValueSpec("key", "second", secret=True))
    assert a.resolver.resolve(("p",)).named_values == {"key": "second"}  # at once
    changed = time.monotonic()
    while b.resolver.resolve(("p",)).named_values != {"key": "second"}:
        assert time.monotonic() - changed < 1.5, "not seen within the TTL"
        time.sleep(0.05)

    with pytest.raises(NamedValueInUse) as refused:
        b.named_values.delete("key")
    assert [d.target for d in refused.value.details] == ["api"]
    a.apis.delete("api")
    assert b.named_values.delete("key") is True
    for services in (a, b):
        services.forwarder.close()
