"""The local host's pure parts: the route table built from raw bindings, keys, host.json
time spans, local settings. (The host itself is tested over real processes: tests/integration.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devhost.keys import Keys
from devhost.local_settings import apply_local_settings
from devhost.routing import Match, build_table
from devhost.settings import parse_timespan


def function(name: str, route: str, methods: list[str] | None, level: str) -> dict[str, object]:
    """A function as the worker's metadata gives it: raw bindings as JSON strings."""
    trigger = {"direction": "IN", "type": "httpTrigger", "name": "req", "authLevel": level, "route": route}
    if methods is not None:
        trigger["methods"] = methods
    raw = [json.dumps(trigger), json.dumps({"direction": "OUT", "type": "http", "name": "$return"})]
    return {"name": name, "function_id": f"id-{name}", "raw_bindings": raw}


def test_literals_win_over_parameters_and_catch_all_comes_last() -> None:
    table = build_table(
        [
            function("rest", "{*rest}", ["GET"], "ANONYMOUS"),
            function("by_id", "a/{id}", ["GET"], "FUNCTION"),
            function("ab", "a/b", ["GET"], "ADMIN"),
            function("optional", "o/{x?}", ["GET"], "FUNCTION"),
        ],
        "",
    )

    def name(path: str, method: str = "GET") -> str:
        found = table.match(path, method)
        assert isinstance(found, Match), path
        return found.route.name

    assert name("/a/b") == "ab"
    assert name("/A/B") == "ab"  # literals are case-insensitive
    assert name("/a/c") == "by_id"
    assert name("/zzz/y") == "rest"
    assert name("/o") == "optional"
    found = table.match("/a/b", "GET")
    assert isinstance(found, Match) and found.route.auth_level == "admin"


def test_params_are_decoded_and_methods_checked() -> None:
    table = build_table(
        [function("g", "gateway/{*path}", None, "FUNCTION"), function("c", "c/{id}", ["PUT"], "ADMIN")], "api"
    )
    found = table.match("/api/gateway/orders/x%2Fy%20z", "PATCH")  # no methods: every method
    assert isinstance(found, Match) and found.params == {"path": "orders/x/y z"}
    assert table.match("/api/c/1", "GET") == 405
    assert table.match("/c/1", "PUT") == 404  # the route prefix is part of every route
    found = table.match("/api/c/a%2Fb", "PUT")
    assert isinstance(found, Match) and found.params == {"id": "a/b"}


@pytest.mark.parametrize("name", ["code", "CODE", "Code", "%63ode", "%43%4F%44%45", "c%6Fde"])
def test_the_code_parameter_in_every_spelling(name: str) -> None:
    keys = Keys(function_key="f k+/=", master_key="m")
    assert keys.allows("function", None, f"x=1&{name}=f%20k%2B%2F%3D".encode())
    assert keys.allows("function", None, f"{name}=m".encode())
    assert not keys.allows("admin", None, f"{name}=f%20k%2B%2F%3D".encode())
    assert keys.allows("admin", None, f"{name}=m".encode())
    assert not keys.allows("function", None, f"{name}=wrong".encode())


def test_keys_by_level() -> None:
    keys = Keys(function_key="f", master_key="m")
    assert keys.allows("anonymous", None, b"")
    assert keys.allows("function", "f", b"") and keys.allows("function", "m", b"")
    assert not keys.allows("admin", "f", b"") and keys.allows("admin", "m", b"")
    assert not keys.allows("function", None, b"") and not keys.allows("function", "", b"codex=f")
    assert keys.allows("function", "f", b"code=wrong")  # the header wins, as in Azure
    assert not keys.allows("function", None, b"code=f&code=f")  # values joined: "f,f"
    assert Keys(None, None).allows("admin", None, b"")  # no key set: not enforced
    assert not Keys("f", None).allows("admin", "f", b"")  # admin needs the master key


def test_host_json_time_spans() -> None:
    assert parse_timespan("00:05:00") == 300
    assert parse_timespan("1.02:00:01.5") == 86400 + 7201.5
    assert parse_timespan("-1") is None


def test_local_settings_made_from_sample_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = {"Values": {"CG_TEST_A": "from-file", "CG_TEST_B": "from-file"}}
    (tmp_path / "local.settings.sample.json").write_text(json.dumps(sample))
    monkeypatch.setenv("CG_TEST_B", "from-env")
    monkeypatch.delenv("CG_TEST_A", raising=False)
    used = apply_local_settings(tmp_path)
    assert used == tmp_path / "local.settings.json" and used.exists()
    assert os.environ["CG_TEST_A"] == "from-file" and os.environ["CG_TEST_B"] == "from-env"
    monkeypatch.delenv("CG_TEST_A")


def test_sample_settings_are_complete() -> None:
    from tests.services import PROJECT

    values = json.loads((PROJECT / "local.settings.sample.json").read_text())["Values"]
    for name in (
        "AzureWebJobsStorage",
        "CERTGATE_ENCRYPTION_KEYS",
        "CERTGATE_BACKEND_TIMEOUT_SECONDS",
        "CERTGATE_CONFIG_TTL_SECONDS",
        "CERTGATE_MAX_UPLOAD_BYTES",
        "CERTGATE_MAX_GATEWAY_BODY_BYTES",
    ):
        assert name in values
